"""The method switch: one name selects a method for any task (``--method`` on the bundle command line)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from common.flags import as_bool
from common.methods.base import TranslationMethod
from common.methods.cut import CUT, FastCUT
from common.methods.cyclegan import CycleGAN
from common.methods.stable import STABLE
from common.methods.ui2i import Ui2i
from common.methods.utom import UTOM

__all__ = [
    "ADDON_KEYS",
    "METHODS",
    "make_method",
    "method_defaults",
    "resolve_hyperparameters",
]

METHODS: dict[str, type[TranslationMethod]] = {
    "cyclegan": CycleGAN,
    "ui2i": Ui2i,
    "stable": STABLE,
    "cut": CUT,
    "fastcut": FastCUT,
    "utom": UTOM,
}


#: add-on keywords every method takes (``addons`` in the configs), kept apart from a method's own hyper-parameters
ADDON_KEYS = (
    "lambda_fsesim",
    "fsesim_window",
    "dct_cutoff",
    "identity_warmup",
    "lambda_warmup",
    "warmup_mixture",
    "lambda_polarity",
    "polarity",
    "polarity_margin",
    "polarity_block",
    "polarity_per_channel",
    "lambda_mixing",
    "augment_d",
    "lambda_selfsup",
    "selfsup_gamma",
)
_GEOMETRY = ("self", "spatial_dims", "channels_a", "channels_b", "addons")


#: hyper-parameters added after models had been saved, with the value that rebuilds such a model as it was trained
#: (its stored spec lacks the key): Ui2i padded its convolutions with zeros until replicated borders became its
#: default, and its discriminators had ABSN before ``disc_norm`` existed
SPEC_FALLBACKS: dict[str, dict] = {"ui2i": {"padding_mode": "zeros", "disc_norm": "absn"}}


def method_defaults(name: str) -> dict:
    """The keyword defaults (paper settings) of method ``name``, without the task geometry and the add-ons: what
    a bundle's ``hyperparameters#<name>`` starts from.

    Raises:
        ValueError: unknown method.
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    out: dict = {}
    for cls in inspect.getmro(METHODS[name]):
        if "__init__" not in cls.__dict__:
            continue
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.name in _GEOMETRY or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in out:
                continue
            if p.default is not inspect.Parameter.empty:
                out[p.name] = list(p.default) if isinstance(p.default, tuple) else p.default
        if cls is TranslationMethod:
            break
    return {k: v for k, v in out.items() if k not in ADDON_KEYS}


def _addon_defaults() -> dict:
    params = inspect.signature(TranslationMethod.__init__).parameters
    return {k: params[k].default for k in ADDON_KEYS}


def _read_switches(values: Mapping, defaults: Mapping, prefix: str) -> dict:
    """``values`` with every switch (a keyword whose default is a boolean) read by :func:`~common.flags.as_bool`:
    ``--hyperparameters#stable#demodulate false`` hands the config the string ``"false"``, which is truthy.

    Raises:
        ValueError: a switch that is no boolean spelling, named as on the command line (``prefix`` + key).
    """
    return {
        k: as_bool(v, f"{prefix}{k}") if isinstance(defaults.get(k), bool) and v is not None else v
        for k, v in values.items()
    }


def resolve_hyperparameters(name: str, hyperparameters: Mapping | None = None) -> dict:
    """Every hyper-parameter of method ``name``: its paper defaults (:func:`method_defaults`) updated with
    ``hyperparameters``, as a model spec stores them, so that a model is rebuilt the same even if a default
    changes later.

    Raises:
        ValueError: unknown method, a keyword the method does not take, or a switch that is no boolean.
    """
    defaults = method_defaults(name)
    given = dict(hyperparameters or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"method {name!r} takes no hyper-parameter {', '.join(map(repr, unknown))}")
    return defaults | _read_switches(given, defaults, f"hyperparameters#{name}#")


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
        ValueError: unknown method or keyword, or a switch (hyper-parameter or add-on) that is no boolean.
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    kwargs = _read_switches(dict(hyperparameters or {}), method_defaults(name), f"hyperparameters#{name}#")
    kwargs |= _read_switches(dict(addons or {}), _addon_defaults(), "addons#")
    try:
        return METHODS[name](spatial_dims=spatial_dims, channels_a=channels_a, channels_b=channels_b, **kwargs)
    except TypeError as e:
        raise ValueError(f"method {name!r}: {e}") from None
