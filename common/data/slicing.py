"""Random 2D slices / frames (or 3D sub-volumes) from volumes and time-lapse movies.

MONAI crops patches within the spatial dimensions it is given but has no transform that drops a dimension by
picking one index along it (a frame of a movie, a z-slice of a stack). :class:`RandSliced` does that, as a
MONAI ``Randomizable`` map transform so that DataLoader workers seed it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform, Randomizable

__all__ = ["axes_to_slice", "take_slice", "RandSliced"]


def axes_to_slice(image: torch.Tensor, spatial_dims: int, slice_axis: int | None = None) -> list[int]:
    """Spatial axes (0-based, channel excluded) to drop to leave ``spatial_dims`` of them.

    Args:
        image: channel-first ``(C, *spatial)``; a ``MetaTensor``'s ``spatial_axes`` meta (TIFF/PNG) says which
            axes are in-plane (the trailing ``Y X`` or ``Z Y X``).
        spatial_dims: dimensionality wanted (2 or 3).
        slice_axis: for images without ``spatial_axes`` meta (NIfTI ``X Y Z``), the spatial axis to slice along;
            ``None`` means the last one (axial slices of a RAS volume).

    Raises:
        ValueError: the image has fewer spatial dimensions than ``spatial_dims``.
    """
    n = image.ndim - 1
    if n < spatial_dims:
        raise ValueError(f"image of shape {tuple(image.shape)} has fewer than {spatial_dims} spatial dimensions")
    extra = n - spatial_dims
    if extra == 0:
        return []
    meta = getattr(image, "meta", {}) or {}
    if "spatial_axes" in meta or slice_axis is None and extra > 1:
        return list(range(extra))  # TIFF: leading T/Z axes; in-plane axes are last
    axis = n - 1 if slice_axis is None else int(slice_axis)
    if not -n <= axis < n:
        raise ValueError(f"slice_axis {slice_axis} is out of range for {n} spatial dimensions")
    return [axis % n]


def take_slice(image: torch.Tensor, axes: Sequence[int], indices: Sequence[int]) -> torch.Tensor:
    """Index ``image`` (channel-first) at ``indices`` along spatial ``axes``; meta ``spatial_axes`` updated."""
    if not axes:
        return image
    plain = image.as_tensor() if isinstance(image, MetaTensor) else image
    out = plain
    for axis, index in sorted(zip(axes, indices, strict=True), reverse=True):
        out = out.select(axis + 1, int(index))
    if not isinstance(image, MetaTensor):
        return out
    meta = dict(image.meta)
    n = image.ndim - 1
    affine = torch.as_tensor(image.affine, dtype=torch.float64)
    if affine.shape == (n + 1, n + 1):  # drop the sliced axes, moving the origin to the chosen slice
        shift = sum(affine[:n, a] * int(i) for a, i in zip(axes, indices, strict=True))
        keep = [i for i in range(n) if i not in set(axes)]
        new = torch.eye(len(keep) + 1, dtype=torch.float64)
        new[:-1, :-1] = affine[keep][:, keep]
        new[:-1, -1] = (affine[:n, n] + shift)[keep]
        meta["affine"] = new
    if "spatial_axes" in meta:
        meta["spatial_axes"] = "".join(a for i, a in enumerate(meta["spatial_axes"]) if i not in set(axes))
    meta["spatial_shape"] = np.asarray(out.shape[1:])
    return MetaTensor(out, meta=meta)


class RandSliced(Randomizable, MapTransform):
    """Pick one random index along every spatial axis beyond ``spatial_dims`` (frame, z-slice...).

    ``(C, T, Y, X)`` -> ``(C, Y, X)`` for 2D; ``(C, T, Z, Y, X)`` -> ``(C, Z, Y, X)`` for 3D; images that already
    have ``spatial_dims`` spatial axes pass unchanged.

    Args:
        keys: keys of the images to slice (all with the same index).
        spatial_dims: 2 or 3.
        slice_axis: see :func:`axes_to_slice`.
        allow_missing_keys: skip absent keys.
    """

    def __init__(
        self, keys: KeysCollection, spatial_dims: int = 2, slice_axis: int | None = None, allow_missing_keys=False
    ):
        MapTransform.__init__(self, keys, allow_missing_keys)
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        self.spatial_dims = spatial_dims
        self.slice_axis = slice_axis
        self._indices: list[int] = []

    def randomize(self, sizes: Sequence[int]) -> None:
        self._indices = [int(self.R.randint(s)) for s in sizes]

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        first = True
        for key in self.key_iterator(d):
            image = d[key]
            axes = axes_to_slice(image, self.spatial_dims, self.slice_axis)
            if first:
                self.randomize([image.shape[a + 1] for a in axes])
                first = False
            d[key] = take_slice(image, axes, self._indices) if axes else image
        return d

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None) -> RandSliced:
        super().set_random_state(seed, state)
        return self
