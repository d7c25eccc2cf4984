"""Write a channel-first image to TIFF, NIfTI or PNG, chosen by the output suffix, keeping its geometry."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import torch

from common.io.header import image_kind
from common.io.nifti_writer import write_nifti
from common.io.png_writer import write_png
from common.io.tiff_writer import write_tiff

__all__ = ["write_image"]


def write_image(
    path: str | os.PathLike,
    image: np.ndarray | torch.Tensor,
    meta: Mapping | None = None,
    dtype: np.dtype | str | None = None,
    overwrite: bool = False,
) -> None:
    """Write a channel-first ``(C, *spatial)`` image with the geometry of ``meta`` (default: ``image.meta``).

    TIFF keeps ``meta["axes"]`` and ``meta["spacing"]`` (as :class:`TiffReader` reports them); NIfTI keeps
    ``meta["affine"]``; PNG stores 2D uint8/uint16. Writes are atomic and never replace an existing file unless
    ``overwrite``.

    Args:
        path: output file; its suffix picks the format.
        image: channel-first array or (Meta)Tensor.
        meta: metadata of the image, typically from the loader.
        dtype: storage dtype (``None`` keeps the array's).
        overwrite: allow replacing an existing file.

    Raises:
        ValueError: unsupported suffix, or metadata that do not fit the array.
    """
    if meta is None:
        meta = getattr(image, "meta", {}) or {}
    data = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    kind = image_kind(path)
    if kind == "tiff":
        spatial = str(meta.get("spatial_axes", "ZYX"[-(data.ndim - 1) :] if data.ndim <= 4 else "TZYX"))
        if len(spatial) != data.ndim - 1:
            raise ValueError(f"metadata axes {spatial!r} do not fit an image of shape {data.shape}")
        axes = "C" + spatial
        if data.shape[0] == 1:
            data, axes = data[0], spatial
        sizes = {}
        if meta.get("spacing") is not None and meta.get("spacing_known", False):
            values = np.ravel(np.asarray(meta["spacing"], dtype=float))
            sizes = {a: float(v) for a, v in zip(spatial, values, strict=True) if a in "ZYX"}
        if "T" in spatial and np.isfinite(float(meta.get("time_interval", np.nan))):
            sizes["T"] = float(meta["time_interval"])
        write_tiff(path, data, axes, spacing=sizes or None, dtype=dtype, overwrite=overwrite)
    elif kind == "nifti":
        affine = np.asarray(meta.get("affine", np.eye(4)), dtype=float)
        write_nifti(path, data, affine, channel_first=True, dtype=dtype, overwrite=overwrite)
    elif kind == "plain":
        write_png(path, data, dtype=dtype, overwrite=overwrite)
    else:
        raise ValueError(f"{path}: unsupported output type; use .tif, .nii.gz or .png")
