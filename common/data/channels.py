"""Linear channel mixing, e.g. the light-sheet virtual-staining mapping of two fluorescence channels to RGB
(Zhao, "Translating light-sheet microscopy images to virtual H&E using CycleGAN", arXiv 2026: C01 -> blue,
C02 -> green, red = 0.3 * C02)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.transforms import MapTransform

__all__ = ["input_channels", "mix_channels", "MixChannelsd", "FLUORESCENCE_TO_RGB"]

#: rows R, G, B over input channels (C01, C02)
FLUORESCENCE_TO_RGB = ((0.0, 0.3), (0.0, 1.0), (1.0, 0.0))


def mix_channels(image: torch.Tensor, matrix: Sequence[Sequence[float]]) -> torch.Tensor:
    """``(C_in, *S)`` -> ``(C_out, *S)`` with ``out[i] = sum_j matrix[i][j] * image[j]``.

    Raises:
        ValueError: the matrix does not have ``C_in`` columns.
    """
    m = torch.as_tensor(matrix, dtype=image.dtype, device=image.device)
    if m.ndim != 2 or m.shape[1] != image.shape[0]:
        raise ValueError(
            f"channel matrix of shape {tuple(m.shape)} does not fit an image with {image.shape[0]} channels"
        )
    out = torch.tensordot(m, image, dims=([1], [0]))
    if hasattr(image, "meta"):
        from monai.data import MetaTensor

        return MetaTensor(out, meta=dict(image.meta))
    return out


def input_channels(channels: int, channel_mix: Sequence[Sequence[float]] | None = None) -> int:
    """The channels a network takes from images of ``channels`` channels: the rows of ``channel_mix`` where the
    images are mixed first (:func:`mix_channels`), else ``channels``."""
    return int(channels) if channel_mix is None else len(channel_mix)


class MixChannelsd(MapTransform):
    """Dictionary form of :func:`mix_channels`."""

    def __init__(self, keys, matrix: Sequence[Sequence[float]], allow_missing_keys: bool = False):
        super().__init__(keys, allow_missing_keys)
        self.matrix = [list(map(float, row)) for row in matrix]

    def __call__(self, data):
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = mix_channels(d[key], self.matrix)
        return d
