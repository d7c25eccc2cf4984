"""Write NIfTI volumes with the affine kept (sform and qform), atomically."""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np

from common.io.atomic import atomic_path
from common.io.dtype import cast_to_dtype

__all__ = ["write_nifti"]


def write_nifti(
    path: str | os.PathLike,
    data: np.ndarray,
    affine: np.ndarray,
    channel_first: bool = False,
    dtype: np.dtype | str | None = None,
    overwrite: bool = False,
) -> None:
    """Write a NIfTI-1 file (``.nii`` or ``.nii.gz``).

    Args:
        path: output file. Written atomically; an existing file is kept unless ``overwrite``.
        data: spatial array ``(X, Y, Z)`` (or ``(X, Y)``), or channel-first ``(C, X, Y, Z)`` when
            ``channel_first``; a single channel is dropped, several are stored last (as MONAI's
            ``NibabelReader`` reads them back).
        affine: the 4x4 voxel-to-world (RAS) matrix; a 3x3 2D affine is embedded in 4x4.
        channel_first: whether ``data``'s first axis is a channel axis.
        dtype: storage dtype; ``None`` keeps ``data.dtype``.
        overwrite: allow replacing an existing file.

    Raises:
        ValueError: the affine is not 3x3/4x4 or not finite.
    """
    data = np.asarray(data)
    if channel_first:
        data = data[0] if data.shape[0] == 1 else np.moveaxis(data, 0, -1)
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape == (3, 3):
        full = np.eye(4)
        full[:2, :2], full[:2, 3] = affine[:2, :2], affine[:2, 2]
        affine = full
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        raise ValueError(f"affine must be a finite 4x4 (or 3x3) matrix, got shape {affine.shape}")
    data = cast_to_dtype(data, dtype)
    image = nib.Nifti1Image(data, affine)
    image.set_sform(affine, code=1)
    image.set_qform(affine, code=1)
    with atomic_path(path, overwrite=overwrite) as tmp:
        nib.save(image, tmp)
