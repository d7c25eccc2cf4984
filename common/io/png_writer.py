"""Write 8/16-bit grayscale or RGB(A) PNG files (histology tiles), atomically."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from common.io.atomic import atomic_path
from common.io.dtype import cast_to_dtype

__all__ = ["write_png"]


def write_png(
    path: str | os.PathLike, data: np.ndarray, dtype: np.dtype | str | None = None, overwrite: bool = False
) -> None:
    """Write ``data`` shaped ``(Y, X)`` or channel-first ``(C, Y, X)`` with C in 1, 3, 4.

    Args:
        path: output ``.png``. Written atomically; an existing file is kept unless ``overwrite``.
        data: uint8 (any channels) or uint16 (one channel) after the cast.
        dtype: storage dtype (``uint8`` or ``uint16``); ``None`` keeps ``data.dtype``.
        overwrite: allow replacing an existing file.

    Raises:
        ValueError: a shape or dtype PNG cannot hold.
    """
    data = cast_to_dtype(np.asarray(data), dtype)
    if data.ndim == 3:
        if data.shape[0] not in (1, 3, 4):
            raise ValueError(f"PNG holds 1, 3 or 4 channels, got shape {data.shape} (channel first)")
        data = data[0] if data.shape[0] == 1 else np.moveaxis(data, 0, -1)
    if data.ndim not in (2, 3):
        raise ValueError(f"PNG holds 2D images, got shape {data.shape}")
    if data.dtype == np.uint16 and data.ndim == 3:
        raise ValueError("16-bit PNG is written for single-channel images only; use TIFF for 16-bit colour")
    if data.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG holds uint8 or uint16 data, got {data.dtype}; pass dtype=")
    with atomic_path(path, overwrite=overwrite) as tmp:
        Image.fromarray(np.ascontiguousarray(data)).save(tmp, format="PNG")
