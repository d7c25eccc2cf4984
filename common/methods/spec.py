"""The model description: what a trained generator is, stored beside its weights as ``model.json``.

Training writes one (:class:`~common.engines.ModelSaver`); inference, evaluation, export, the Deploy app and the
MONAI Label path read it back with :meth:`ModelSpec.load` and rebuild the generator with
:meth:`ModelSpec.build_generator`, so that nobody is told the architecture or the normalisation twice.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

from torch import nn

from common.data.normalization import Normalization
from common.errors import InputDataError
from common.io.atomic import atomic_path
from common.methods.base import TranslationMethod
from common.methods.registry import METHODS, SPEC_FALLBACKS, make_method, resolve_hyperparameters
from common.networks.absn import remove_absn

__all__ = ["ModelSpec"]


@dataclasses.dataclass(frozen=True, eq=False)
class ModelSpec(Mapping):
    """How to rebuild a trained translation model and feed it.

    Also a read-only mapping of its JSON form (``spec["normalization_a"]``, ``spec.get("training_data")``), which
    is what older code and configs index.

    Args:
        method: the method's name (:data:`~common.methods.METHODS`).
        task: the bundle it was trained for (inference warns when another bundle loads it).
        spatial_dims, channels_a, channels_b: the geometry (``channels_a`` after any channel mixing).
        hyperparameters: every hyper-parameter of the method, as trained.
        addons: the add-on settings it was trained with.
        normalization_a, normalization_b: the intensity normalisations of A (input) and B (output), as
            :meth:`~common.data.Normalization.as_dict` writes them.
        axes_a: the input files' axes when they are not the default order.
        channel_mix_a: how input channels were mixed into the network's channels (or ``None``).
        patch_size: the training patch.
        training_data: name, source, licence and intensity statistics of the data it was trained on (shipped
            models; :mod:`common.inference.domain_check`).
        extra: any other key found in a ``model.json`` (kept when saved again).
    """

    method: str
    task: str | None = None
    spatial_dims: int = 2
    channels_a: int = 1
    channels_b: int = 1
    hyperparameters: dict = dataclasses.field(default_factory=dict)
    addons: dict = dataclasses.field(default_factory=dict)
    normalization_a: dict | None = None
    normalization_b: dict | None = None
    axes_a: str | None = None
    channel_mix_a: list | None = None
    patch_size: list | None = None
    training_data: dict | None = None
    extra: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if int(self.spatial_dims) not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {self.spatial_dims}")
        if int(self.channels_a) < 1 or int(self.channels_b) < 1:
            raise ValueError(f"channel counts must be positive, got {self.channels_a} and {self.channels_b}")

    # -- construction ------------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping) -> ModelSpec:
        """A spec from its JSON form, as stored: a hyper-parameter the stored spec predates takes the value its
        model was trained with (:data:`~common.methods.registry.SPEC_FALLBACKS`), not today's default; keys this
        version does not know are kept in ``extra``.

        Raises:
            ValueError: no ``method``, or an unknown one.
        """
        if "method" not in data:
            raise ValueError("a model spec must name its method")
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = dict(data.get("extra") or {}) | {k: v for k, v in data.items() if k not in names | {"extra"}}
        hyper = dict(known.get("hyperparameters") or {})
        for key, value in SPEC_FALLBACKS.get(known["method"], {}).items():
            hyper.setdefault(key, value)
        known |= {"hyperparameters": hyper, "addons": dict(known.get("addons") or {})}
        return cls(**known, extra=extra)

    @classmethod
    def of(cls, spec: Mapping) -> ModelSpec:
        """``spec`` itself if it is a :class:`ModelSpec`, else the spec of its JSON form (:meth:`from_dict`)."""
        return spec if isinstance(spec, ModelSpec) else cls.from_dict(spec)

    @classmethod
    def from_config(cls, settings: Mapping | None = None, **fields) -> ModelSpec:
        """The spec of a model about to be trained from a bundle's settings: ``hyperparameters`` completed with
        today's defaults of the method (:func:`~common.methods.resolve_hyperparameters`), so that the model is
        rebuilt the same even if a default changes later, and the normalisations in their canonical form. The
        settings come as a mapping, as keywords (what a bundle's ``_target_`` component passes), or both.

        Raises:
            ValueError: unknown method, hyper-parameter or normalisation setting.
        """
        data = dict(settings or {}) | fields
        if "method" not in data:
            raise ValueError("a model spec must name its method")
        data["hyperparameters"] = resolve_hyperparameters(data["method"], data.get("hyperparameters"))
        for key in ("normalization_a", "normalization_b"):
            data[key] = Normalization.from_config(data.get(key)).as_dict()
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | os.PathLike, default: Mapping | None = None) -> ModelSpec:
        """The spec saved beside a model: ``path`` is the ``model.json`` or the weights file it sits beside (its
        ``.json`` sibling). Its keys are laid over ``default`` (what a model without a ``model.json`` is taken to
        be); ``default`` alone if there is none. Warns once when the model was trained for another task than
        ``default`` names (its weights may still fit).

        Raises:
            InputDataError: the ``model.json`` is not a JSON object, or names no or an unknown method.
        """
        data = dict(default or {})
        sidecar = Path(path).with_suffix(".json")
        if sidecar.is_file():
            try:
                found = json.loads(sidecar.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise InputDataError(sidecar, f"not a valid model.json ({type(error).__name__})") from None
            if not isinstance(found, dict):
                raise InputDataError(sidecar, "not a valid model.json (not a JSON object)")
            if data.get("task") and found.get("task") and found["task"] != data["task"]:
                warnings.warn(
                    f"{path}: trained for the {found['task']} task, used here for {data['task']}", stacklevel=2
                )
            data |= found
        try:
            return cls.from_dict(data)
        except (ValueError, TypeError) as error:
            raise InputDataError(sidecar, f"not a usable model description ({error})") from None

    def save(self, path: str | os.PathLike) -> Path:
        """Write the spec as ``path`` (a ``.json`` file; given the weights file, its ``.json`` sibling), atomically.
        Returns the path written."""
        target = Path(path).with_suffix(".json")
        with atomic_path(target, overwrite=True) as tmp:
            tmp.write_text(json.dumps(self.as_dict(), indent=4, default=str))
        return target

    # -- use ---------------------------------------------------------------------------------------------------

    def as_dict(self) -> dict:
        """The JSON form (``extra`` keys at the top level, as they were found)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return out | dict(self.extra)

    def replace(self, **changes) -> ModelSpec:
        """A copy with ``changes`` (e.g. ``training_data``)."""
        return dataclasses.replace(self, **changes)

    def build_method(self) -> TranslationMethod:
        """The whole method (both generators, discriminators, losses), freshly initialised, for a full training
        checkpoint."""
        return make_method(
            self.method,
            int(self.spatial_dims),
            int(self.channels_a),
            int(self.channels_b),
            self.hyperparameters,
            self.addons,
        )

    def build_generator(self) -> nn.Module:
        """The deployable A -> B generator alone, freshly initialised and without training-time weight
        parametrisations, ready for the weights :class:`~common.engines.ModelSaver` writes.

        Shapes:
            ``(N, channels_a, *S)`` -> ``(N, channels_b, *S)``.

        Raises:
            ValueError: a hyper-parameter the method does not take.
        """
        hyper = resolve_hyperparameters(self.method, self.hyperparameters)
        cls = METHODS[self.method]
        return remove_absn(
            cls.build_generator_ab(int(self.spatial_dims), int(self.channels_a), int(self.channels_b), hyper)
        )

    # -- the mapping view --------------------------------------------------------------------------------------

    def __getitem__(self, key: str):
        if key != "extra" and key in self.__dataclass_fields__:
            return getattr(self, key)
        return self.extra[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.as_dict())
