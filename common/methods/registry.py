"""The method switch: one name selects a method for any task (``--method`` on the bundle command line)."""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from common.methods.base import TranslationMethod
from common.methods.cut import CUT, FastCUT
from common.methods.cyclegan import CycleGAN
from common.methods.stable import STABLE
from common.methods.ui2i import Ui2i
from common.methods.utom import UTOM
from common.networks.absn import remove_absn

__all__ = ["METHODS", "make_generator", "make_method", "method_from_spec"]

METHODS: dict[str, type[TranslationMethod]] = {
    "cyclegan": CycleGAN,
    "ui2i": Ui2i,
    "stable": STABLE,
    "cut": CUT,
    "fastcut": FastCUT,
    "utom": UTOM,
}


def make_method(
    name: str,
    spatial_dims: int = 2,
    channels_a: int = 1,
    channels_b: int = 1,
    hyperparameters: Mapping | None = None,
    addons: Mapping | None = None,
) -> TranslationMethod:
    """Build method ``name`` for a task.

    Args:
        name: one of :data:`METHODS`.
        spatial_dims, channels_a, channels_b: the task's geometry.
        hyperparameters: keyword arguments of the method (architecture, loss weights); the paper's defaults
            are used for anything not given.
        addons: add-on keywords shared by all methods (``lambda_fsesim``, ``fsesim_window``, ``dct_cutoff``).

    Raises:
        ValueError: unknown method or keyword.
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    kwargs = dict(hyperparameters or {}) | dict(addons or {})
    try:
        return METHODS[name](spatial_dims=spatial_dims, channels_a=channels_a, channels_b=channels_b, **kwargs)
    except TypeError as e:
        raise ValueError(f"method {name!r}: {e}") from None


def method_from_spec(spec: Mapping) -> TranslationMethod:
    """The method a model spec (``model.json``) describes, freshly initialised."""
    return make_method(
        spec["method"],
        int(spec.get("spatial_dims", 2)),
        int(spec.get("channels_a", 1)),
        int(spec.get("channels_b", 1)),
        spec.get("hyperparameters"),
        spec.get("addons"),
    )


def make_generator(spec: Mapping) -> nn.Module:
    """The deployable A -> B generator described by a model spec (``model.json``): the method's generator with
    training-time weight parametrisations removed, ready for the weights ``ModelSaver`` writes."""
    return remove_absn(method_from_spec(spec).generator_ab)
