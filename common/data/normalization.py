"""One intensity normalisation of one domain, with its defaults in one place.

Training, validation, inference (whole images, tiles and page-by-page streaming) and evaluation all read a
bundle's ``normalization_a`` / ``normalization_b`` dict through :class:`Normalization`: the MONAI transform of the
data pipeline, the numpy scaler of streamed pages and the inverse applied to translations come from the same
object, so they cannot disagree on a default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from monai.transforms import EnsureTyped, MapTransform, ScaleIntensityRanged, ScaleIntensityRangePercentilesd

from common.flags import as_bool

__all__ = ["NORMALIZATIONS", "Normalization"]

NORMALIZATIONS = ("percentile", "range", "none")


@dataclass(frozen=True)
class Normalization:
    """The intensity normalisation of one domain.

    Args:
        mode: ``"percentile"`` maps the ``lower``/``upper`` percentiles of each channel (over the whole image or
            movie) to ``b_min``/``b_max`` (STABLE: 0.1/99.9 for MRI and denoising, 0/99 for calcium);
            ``"range"`` maps the fixed ``a_min``/``a_max`` (e.g. 0/255 for 8-bit RGB histology, keeping colour
            balance); ``"none"`` leaves values as loaded.
        lower, upper: percentiles of ``"percentile"``.
        a_min, a_max: fixed input range of ``"range"``.
        b_min, b_max: the normalised range.
        clip: clip to ``[b_min, b_max]`` after scaling (off: bright calcium transients stay above 1).
        channel_wise: ``"percentile"`` per channel (default), or over all channels together (off): one scale for
            every channel keeps their relative brightness, for markers that can be absent from an image (a
            channel-wise scale stretches an empty channel's background noise to the full range).

    Raises:
        ValueError: an unknown mode or inconsistent bounds.
    """

    mode: str = "percentile"
    lower: float = 0.1
    upper: float = 99.9
    a_min: float = 0.0
    a_max: float = 255.0
    b_min: float = 0.0
    b_max: float = 1.0
    clip: bool = False
    channel_wise: bool = True

    def __post_init__(self) -> None:
        # a dict given on the command line reaches here with ``"clip": "false"`` (Fire reads JSON's true/false as
        # strings), which is truthy: read the switches as booleans, refusing anything else
        for switch in ("clip", "channel_wise"):
            value = getattr(self, switch)
            try:
                object.__setattr__(self, switch, as_bool(value))
            except ValueError:
                raise ValueError(f"normalization {switch!r} must be true or false, got {value!r}") from None
        if self.mode not in NORMALIZATIONS:
            raise ValueError(f"normalization mode must be one of {NORMALIZATIONS}, got {self.mode!r}")
        if self.b_max <= self.b_min:
            raise ValueError(f"b_max ({self.b_max}) must exceed b_min ({self.b_min})")
        if self.mode == "percentile" and not 0 <= self.lower < self.upper <= 100:
            raise ValueError(f"percentiles need 0 <= lower < upper <= 100, got {self.lower}, {self.upper}")
        if self.mode == "range" and self.a_max <= self.a_min:
            raise ValueError(f"a_max ({self.a_max}) must exceed a_min ({self.a_min})")

    @classmethod
    def from_config(cls, config: Mapping | Normalization | None) -> Normalization:
        """From a bundle's ``normalization_*`` dict (missing keys take the defaults; ``None``: all defaults).

        Raises:
            ValueError: an unknown key, mode or inconsistent bounds.
        """
        if isinstance(config, Normalization):
            return config
        config = dict(config or {})
        unknown = sorted(set(config) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown normalization keys {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**config)

    def as_dict(self) -> dict:
        return asdict(self)

    def transform(self, keys: str | Sequence[str] = "image") -> MapTransform:
        """The MONAI dictionary transform of the data pipeline (over the whole image or movie)."""
        if self.mode == "percentile":
            return ScaleIntensityRangePercentilesd(
                keys, self.lower, self.upper, self.b_min, self.b_max, clip=self.clip, channel_wise=self.channel_wise
            )
        if self.mode == "range":
            return ScaleIntensityRanged(keys, self.a_min, self.a_max, self.b_min, self.b_max, clip=self.clip)
        return EnsureTyped(keys)

    def __call__(self, image: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Normalise one channel-first image ``(C, *S)``."""
        return self.transform("image")({"image": image})["image"]

    def scaler(self, sample: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """``x -> normalised x`` for one channel, its percentiles taken from ``sample`` (page-by-page streaming,
        where the whole channel is never in memory)."""
        if self.mode == "none":
            return lambda x: x
        if self.mode == "range":
            a_min, a_max = self.a_min, self.a_max
        else:
            a_min, a_max = (float(v) for v in np.percentile(sample, [self.lower, self.upper]))
        b_min, b_max, clip = self.b_min, self.b_max, self.clip
        if a_max == a_min:  # a constant channel: shifted to b_min, as MONAI's transform does
            return lambda x: np.clip(x - a_min + b_min, b_min, b_max) if clip else x - a_min + b_min

        def apply(x: np.ndarray) -> np.ndarray:
            y = (x - a_min) / (a_max - a_min) * (b_max - b_min) + b_min
            return np.clip(y, b_min, b_max) if clip else y

        return apply

    def scalers(self, samples: Sequence[np.ndarray]) -> list[Callable[[np.ndarray], np.ndarray]]:
        """One :meth:`scaler` per channel from that channel's sample, or one from all the samples together where
        the percentiles are not ``channel_wise``."""
        if self.mode == "percentile" and not self.channel_wise:
            pooled = self.scaler(np.concatenate([np.ravel(s) for s in samples]))
            return [pooled] * len(samples)
        return [self.scaler(s) for s in samples]

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        """Map network output back to the domain's units where the normalisation is invertible.

        A fixed ``"range"`` normalisation (e.g. 0..255 for 8-bit RGB) is inverted exactly. A ``"percentile"``
        normalisation depends on each image's own percentiles, unknown for a translation: the output stays in the
        normalised units of training (documented per bundle)."""
        if self.mode != "range":
            return x
        return (x - self.b_min) / (self.b_max - self.b_min) * (self.a_max - self.a_min) + self.a_min

    def spread(self) -> Normalization:
        """The normalisation of a spread (standard deviation, error) of network outputs: its :meth:`inverse` maps
        the spread to the units this one's :meth:`inverse` gives (the scale of the inverse, without its offset)."""
        if self.mode != "range":
            return self
        return Normalization(
            mode="range", a_min=0.0, a_max=self.a_max - self.a_min, b_min=0.0, b_max=self.b_max - self.b_min
        )
