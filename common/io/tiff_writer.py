"""Write microscopy TIFF files that Fiji/ImageJ, napari and :class:`~common.io.tiff_reader.TiffReader` read back
with the same axes, dtype and pixel size."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import tifffile

from common.io.atomic import atomic_path
from common.io.axes import validate_axes
from common.io.dtype import cast_to_dtype

__all__ = ["write_tiff", "imagej_options", "IMAGEJ_DTYPES"]

IMAGEJ_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int16), np.dtype(np.float32))
_IMAGEJ_ORDER = "TZCYX"


def write_tiff(
    path: str | os.PathLike,
    data: np.ndarray,
    axes: str,
    *,
    spacing: Mapping[str, float] | Sequence[float] | None = None,
    dtype: np.dtype | str | None = None,
    rgb: bool | None = None,
    overwrite: bool = False,
    compression: str | None = "zlib",
) -> None:
    """Write ``data`` as an ImageJ hyperstack (uint8/uint16/int16/float32) or, for other dtypes, an OME-TIFF.

    Args:
        path: output file (``.tif``/``.tiff``). Written atomically; an existing file is kept unless ``overwrite``.
        data: the array, shaped as ``axes`` says.
        axes: one letter per dimension of ``data`` from ``TZCYX``.
        spacing: physical steps, either per letter (``{"X": 0.65, "Y": 0.65, "Z": 2.0, "T": 0.5}``: micrometres,
            seconds for ``T``) or one per non-channel axis of ``axes`` in order. ``None`` writes no pixel size.
        dtype: storage dtype; integer targets are rounded and clipped. ``None`` keeps ``data.dtype``.
        rgb: store a 3-channel uint8 image as RGB colour (the default when ``C`` has length 3 and dtype uint8).
        overwrite: allow replacing an existing file.
        compression: tifffile compression (``None`` for none).

    Raises:
        ValueError: ``axes`` do not fit ``data`` or a spacing is not positive.
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    data = np.asarray(data)
    axes = validate_axes(axes, data.ndim)
    data = cast_to_dtype(data, dtype)
    sizes = _spacing_by_letter(axes, spacing)
    rgb = _wants_rgb(data, axes) if rgb is None else rgb
    if rgb and not _wants_rgb(data, axes):
        raise ValueError("rgb=True needs a uint8 array with a channel axis of length 3")
    imagej = data.dtype in IMAGEJ_DTYPES and data.shape[axes.index("X")] > 1  # ImageJ mode drops a trailing X of 1
    order = "".join(a for a in _IMAGEJ_ORDER if a in axes)
    if rgb:
        order = order.replace("C", "") + "C"
    data = np.ascontiguousarray(np.transpose(data, [axes.index(a) for a in order]))
    kwargs: dict = {"compression": compression, "photometric": "rgb" if rgb else "minisblack"}
    if imagej:
        kwargs.update(imagej_options(order.replace("C", "S") if rgb else order, sizes))
    else:
        meta = {"axes": order.replace("C", "S") if rgb else order}
        for letter in "XYZ":
            if letter in sizes:
                meta[f"PhysicalSize{letter}"] = sizes[letter]
                meta[f"PhysicalSize{letter}Unit"] = "µm"
        if "T" in sizes:
            meta["TimeIncrement"] = sizes["T"]
            meta["TimeIncrementUnit"] = "s"
        kwargs.update(ome=True, metadata=meta)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tifffile.imwrite(tmp, data, **kwargs)


def imagej_options(axes: str, sizes: Mapping[str, float]) -> dict:
    """tifffile keywords for an ImageJ hyperstack with these axes and pixel sizes (micrometres; seconds for T)."""
    meta: dict = {"axes": axes}
    options: dict = {"imagej": True, "metadata": meta}
    if "X" in sizes or "Y" in sizes:
        options["resolution"] = (1.0 / sizes.get("X", sizes.get("Y")), 1.0 / sizes.get("Y", sizes.get("X")))
        meta["unit"] = "um"
    if "Z" in sizes:
        meta["spacing"] = sizes["Z"]
    if "T" in sizes:
        meta["finterval"] = sizes["T"]
    return options


def _wants_rgb(data: np.ndarray, axes: str) -> bool:
    return "C" in axes and data.shape[axes.index("C")] == 3 and data.dtype == np.uint8


def _spacing_by_letter(axes: str, spacing) -> dict[str, float]:
    if spacing is None:
        return {}
    if isinstance(spacing, Mapping):
        sizes = {str(k).upper(): float(v) for k, v in spacing.items() if str(k).upper() in axes}
    else:
        spatial = axes.replace("C", "")
        values = [float(v) for v in np.ravel(np.asarray(spacing, dtype=float))]
        if len(values) != len(spatial):
            raise ValueError(f"spacing has {len(values)} values but axes {axes!r} have {len(spatial)} spatial axes")
        sizes = dict(zip(spatial, values, strict=True))
    for k, v in sizes.items():
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"spacing for axis {k} must be positive and finite, got {v}")
    return sizes
