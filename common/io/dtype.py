"""Casting image data to a storage dtype without wrap-around."""

from __future__ import annotations

import numpy as np

__all__ = ["cast_to_dtype"]


def cast_to_dtype(data: np.ndarray, dtype: np.dtype | str | None) -> np.ndarray:
    """Cast ``data`` to ``dtype``; integer targets are rounded and clipped to their range.

    Args:
        data: any numeric array.
        dtype: the target dtype, or ``None`` to keep ``data``'s.

    Raises:
        ValueError: ``dtype`` is not a numeric dtype.
    """
    if dtype is None:
        return np.asarray(data)
    target = np.dtype(dtype)
    if target.kind not in "uif" and target != np.bool_:
        raise ValueError(f"cannot store images as dtype {target}")
    data = np.asarray(data)
    if target.kind in "ui" and data.dtype.kind == "f":
        info = np.iinfo(target)
        data = np.clip(np.rint(data), info.min, info.max)
    elif target.kind in "ui" and data.dtype.kind in "ui":
        info = np.iinfo(target)
        data = np.clip(data, info.min, info.max)
    return data.astype(target, copy=False)
