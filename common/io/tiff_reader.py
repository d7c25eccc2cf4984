"""A tifffile-based MONAI image reader for microscopy TIFF: 2D, z-stacks, time-lapse and multichannel.

MONAI has no generic multi-page TIFF reader: ``LoadImage`` sends ``.tif`` to ``ITKReader``, which loses the
ImageJ/OME voxel size, and ``PILReader`` returns only the first page. :class:`TiffReader` reads the whole first
series with tifffile, names its axes from ImageJ/OME/tifffile metadata (or the heuristic of
:mod:`common.io.axes`, or an explicit ``axes=``), and returns the array channel-first in ``C T Z Y X`` order
(absent axes dropped; no channel axis means ``original_channel_dim`` is ``no_channel`` so that
``EnsureChannelFirst`` adds one). Spatial order is the file's (rows before columns): nothing is transposed.

Metadata added to the MONAI meta dict:

* ``axes``: the returned array's axes, e.g. ``"CZYX"``; ``spatial_axes``: the same without ``C``;
* ``spacing``: one physical step per spatial axis (micrometres for Z/Y/X, seconds for T when known, else 1),
  also on the diagonal of ``affine``; ``spacing_known``: whether the file stated its pixel size;
* ``unit`` (``"um"`` or ``"pixel"``), ``time_interval`` (seconds, or ``nan``), ``tiff_format``
  (``imagej``, ``ome``, ``shaped`` or ``plain``), ``original_dtype``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import tifffile
from monai.data.image_reader import ImageReader, _copy_compatible_dict, _stack_images
from monai.utils import MetaKeys, SpaceKeys

from common.errors import InputDataError
from common.io.axes import canonical_axes, infer_axes, validate_axes

__all__ = ["TiffReader", "TiffImage", "TIFF_SUFFIXES", "read_tiff_header"]

TIFF_SUFFIXES = ("tif", "tiff")
_UM_PER_UNIT = {
    "um": 1.0,
    "µm": 1.0,
    "\u03bcm": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "nm": 1e-3,
    "nanometer": 1e-3,
    "mm": 1e3,
    "millimeter": 1e3,
    "cm": 1e4,
    "m": 1e6,
    "meter": 1e6,
    "inch": 25400.0,
    "\\u00b5m": 1.0,
}
_SECONDS_PER_UNIT = {"s": 1.0, "sec": 1.0, "second": 1.0, "ms": 1e-3, "min": 60.0, "h": 3600.0}


@dataclass
class TiffImage:
    """What :meth:`TiffReader.read` returns for one file: the raw series and its interpretation."""

    path: str
    data: np.ndarray
    axes: str  # axes of ``data`` as stored (over TZCYX)
    spacing: dict[str, float] = field(default_factory=dict)  # per axis letter, micrometres / seconds
    tiff_format: str = "plain"


def read_tiff_header(path: str | os.PathLike, axes: str | None = None) -> tuple[tuple[int, ...], np.dtype, str]:
    """Shape, dtype and named axes of a TIFF's first series, without reading its pixels.

    Raises:
        InputDataError: the file is not a readable TIFF or its axes cannot be named.
    """
    try:
        with tifffile.TiffFile(path) as tif:
            series = _first_series(tif, path)
            shape, dtype, file_axes = tuple(series.shape), np.dtype(series.dtype), _series_axes(tif, series)
            _check_single_series(tif, path)
            _check_pixel_data_present(series, path)
    except InputDataError:
        raise
    except Exception as e:  # tifffile raises many types for damaged files
        raise InputDataError(path, f"not a readable TIFF file ({type(e).__name__}: {e})") from None
    return shape, dtype, _name_axes(path, shape, file_axes, axes)


class TiffReader(ImageReader):
    """Read microscopy TIFF files (``.tif``, ``.tiff``, ``.ome.tif``) with tifffile.

    Args:
        axes: the axes of every file read, overriding file metadata, e.g. ``"TYX"`` for a movie saved without
            metadata or ``"YXC"``. Letters from ``TZCYX`` (``S`` means ``C``); ``None`` trusts the file.
        dtype: cast the array to this dtype; ``None`` keeps the file's.
    """

    def __init__(self, axes: str | None = None, dtype: np.dtype | str | None = None, **kwargs):
        super().__init__()
        self.axes = None if axes is None else validate_axes(axes)
        self.dtype = dtype
        self.kwargs = kwargs

    def verify_suffix(self, filename: Sequence[os.PathLike] | os.PathLike) -> bool:
        """Claim every file whose name ends in ``.tif`` or ``.tiff`` (any case)."""
        names = [filename] if isinstance(filename, (str, os.PathLike)) else list(filename)
        return bool(names) and all(str(n).lower().rsplit(".", 1)[-1] in TIFF_SUFFIXES for n in names)

    def read(self, data: Sequence[os.PathLike] | os.PathLike, **kwargs) -> TiffImage | list[TiffImage]:
        """Read one file, or a list of files to be stacked as channels.

        Raises:
            InputDataError: a file is missing, damaged or truncated, or its axes cannot be named.
        """
        names = [data] if isinstance(data, (str, os.PathLike)) else list(data)
        out = [self._read_one(os.fspath(n), kwargs.get("axes", self.axes)) for n in names]
        return out[0] if len(out) == 1 else out

    def _read_one(self, path: str, axes: str | None) -> TiffImage:
        if not os.path.isfile(path):
            raise InputDataError(path, "file not found")
        if os.path.getsize(path) == 0:
            raise InputDataError(path, "empty file (0 bytes)")
        try:
            with _tifffile_errors() as logged, tifffile.TiffFile(path) as tif:
                series = _first_series(tif, path)
                _check_complete(tif, series, path, logged)
                file_axes = _series_axes(tif, series)
                array = series.asarray()
                if logged:
                    raise InputDataError(path, f"damaged or truncated TIFF ({logged[0]})")
                array, file_axes = _unsqueeze_yx(series, array, file_axes)
                spacing, fmt = _physical_sizes(tif), _format_name(tif)
        except InputDataError:
            raise
        except Exception as e:
            raise InputDataError(
                path, f"not a readable TIFF file, damaged or truncated ({type(e).__name__}: {e})"
            ) from None
        if array.dtype.kind == "c":  # a cast would drop the imaginary part with only a warning
            raise InputDataError(path, f"complex-valued pixels ({array.dtype}); save the magnitude or one real part")
        named = _name_axes(path, array.shape, file_axes, axes)
        if self.dtype is not None:
            array = array.astype(self.dtype, copy=False)
        return TiffImage(path=path, data=array, axes=named, spacing=spacing, tiff_format=fmt)

    def get_data(self, img: TiffImage | list[TiffImage]) -> tuple[np.ndarray, dict]:
        """Return the channel-first ``C T Z Y X`` array (channel axis only when the file has one) and meta.

        A list of images is stacked (concatenated along their channel axis, or stacked as a new one).
        """
        arrays: list[np.ndarray] = []
        meta: dict = {}
        for im in img if isinstance(img, list) else [img]:
            order = canonical_axes(im.axes)
            array = np.transpose(im.data, [im.axes.index(a) for a in order])
            spatial = order.replace("C", "")
            spacing = [float(im.spacing.get(a, 1.0)) for a in spatial]
            affine = np.diag(spacing + [1.0])
            header = {
                "axes": order,
                "spatial_axes": spatial,
                "spacing": np.asarray(spacing),
                "spacing_known": all(a in im.spacing for a in spatial if a in "ZYX"),
                "unit": "um" if any(a in im.spacing for a in "YX") else "pixel",
                "time_interval": float(im.spacing.get("T", math.nan)),
                "tiff_format": im.tiff_format,
                "original_dtype": str(im.data.dtype),
                MetaKeys.AFFINE: affine,
                MetaKeys.ORIGINAL_AFFINE: affine.copy(),
                MetaKeys.SPATIAL_SHAPE: np.asarray([array.shape[order.index(a)] for a in spatial]),
                MetaKeys.ORIGINAL_CHANNEL_DIM: 0 if "C" in order else "no_channel",
                MetaKeys.SPACE: SpaceKeys.RAS,
            }
            arrays.append(array)
            _copy_compatible_dict(header, meta)
        return _stack_images(arrays, meta), meta


class _ListHandler(logging.Handler):
    def __init__(self, records: list[str]):
        super().__init__(logging.WARNING)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.records.append(record.getMessage().split("> ", 1)[-1])


@contextlib.contextmanager
def _tifffile_errors():
    """Collect the errors tifffile logs (it logs, rather than raises, on broken page chains)."""
    records: list[str] = []
    handler = _ListHandler(records)
    logger = logging.getLogger("tifffile")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def _check_complete(tif: tifffile.TiffFile, series, path, logged: list[str]) -> None:
    """Refuse files whose page chain is broken or whose pixel data run past the end of the file."""
    if logged:
        raise InputDataError(path, f"damaged or truncated TIFF ({logged[0]})")
    size = tif.filehandle.size
    offset = getattr(series, "dataoffset", None)  # contiguous series (ImageJ): tifffile lists only the first page
    if offset is not None and offset + series.nbytes > size:
        raise InputDataError(
            path, f"truncated TIFF: pixel data end at byte {offset + series.nbytes}, file holds {size}"
        )
    for page in series.pages:
        if page is None:
            raise InputDataError(path, "damaged or truncated TIFF (missing page)")
        page = page.keyframe if not hasattr(page, "dataoffsets") else page
        ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False) if c]
        if ends and max(ends) > size:
            raise InputDataError(path, f"truncated TIFF: pixel data end at byte {max(ends)}, file holds {size}")


def _unsqueeze_yx(series, array: np.ndarray, file_axes: str | None) -> tuple[np.ndarray, str | None]:
    """Put back Y/X axes of length 1 that tifffile squeezed away (a 1-pixel-wide line scan stays 2D)."""
    if file_axes is None or ("Y" in file_axes and "X" in file_axes):
        return array, file_axes
    full_shape, full_axes = series.get_shape(False), series.get_axes(False)
    keep = [i for i, (a, n) in enumerate(zip(full_axes, full_shape, strict=True)) if n > 1 or a in "YX"]
    return array.reshape([full_shape[i] for i in keep]), "".join(full_axes[i] for i in keep)


def _first_series(tif: tifffile.TiffFile, path: str | os.PathLike) -> tifffile.TiffPageSeries:
    if not tif.series:
        raise InputDataError(path, "TIFF file holds no image")
    return tif.series[0]


def _check_single_series(tif: tifffile.TiffFile, path: str | os.PathLike) -> None:
    """Refuse a TIFF holding several images (series) rather than silently reading the first: pages of different
    sizes, or images written one after another."""
    if len(tif.series) > 1:
        shapes = ", ".join("x".join(str(n) for n in s.shape) for s in tif.series[:4])
        more = f" and {len(tif.series) - 4} more" if len(tif.series) > 4 else ""
        raise InputDataError(
            path, f"holds {len(tif.series)} separate images ({shapes}{more}); save each as its own file"
        )


def _check_pixel_data_present(series: tifffile.TiffPageSeries, path: str | os.PathLike) -> None:
    """Refuse a TIFF whose header declares more pixel data than the file holds (a damaged or forged header), before
    anything is allocated: the first and last pages' strips or tiles must lie inside the file and, uncompressed,
    hold their declared pixels; a contiguous series must fit in the file."""
    size = os.path.getsize(path)
    itemsize = np.dtype(series.dtype).itemsize
    contiguous = getattr(series, "dataoffset", None)
    if contiguous is not None:
        declared = int(np.prod(series.shape, dtype=np.int64)) * itemsize
        if contiguous + declared > size:
            raise InputDataError(path, _shortfall(declared, size))
    pages = series.pages
    for page in (pages[0],) if len(pages) == 1 else (pages[0], pages[len(pages) - 1]):
        page = page.aspage() if hasattr(page, "aspage") else page
        if page is None:
            continue
        end = max((o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False)), default=0)
        declared = int(np.prod(page.shape, dtype=np.int64)) * itemsize
        if end > size or (page.compression == 1 and sum(page.databytecounts) < declared):
            raise InputDataError(path, _shortfall(declared, size))


def _shortfall(declared: int, size: int) -> str:
    return (
        f"its header declares {declared / 1024**2:.1f} MiB of pixels, the file holds {size / 1024**2:.2f} MiB: "
        "damaged or truncated"
    )


def _series_axes(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> str | None:
    """The series' axes where the file states them (ImageJ, OME, tifffile shaped with axes), else None."""
    axes = series.axes
    if tif.is_imagej or tif.is_ome:
        return axes
    if tif.is_shaped:
        meta = tif.shaped_metadata[0] if tif.shaped_metadata else {}
        if "axes" in meta:
            return axes
    # plain TIFF: only RGB samples are known
    return "".join(a if a == "S" else "?" for a in axes) if "S" in axes else None


def _name_axes(path, shape, file_axes, override) -> str:
    try:
        if override is not None:
            return validate_axes(override, len(shape))
        return infer_axes(tuple(shape), file_axes)
    except ValueError as e:
        raise InputDataError(path, str(e)) from None


def _format_name(tif: tifffile.TiffFile) -> str:
    if tif.is_ome:
        return "ome"
    if tif.is_imagej:
        return "imagej"
    return "shaped" if tif.is_shaped else "plain"


def _physical_sizes(tif: tifffile.TiffFile) -> dict[str, float]:
    """Pixel sizes per axis letter (micrometres; seconds for T) that the file states."""
    if tif.is_ome:
        return _ome_sizes(tif.ome_metadata)
    sizes: dict[str, float] = {}
    page = tif.pages.first
    xres, yres = page.tags.get("XResolution"), page.tags.get("YResolution")
    if tif.is_imagej:
        ij = tif.imagej_metadata or {}
        factor = _UM_PER_UNIT.get(str(ij.get("unit", "")).strip().lower())
        if factor is not None:
            for letter, tag in (("X", xres), ("Y", yres)):
                step = _inverse_resolution(tag)
                if step is not None:
                    sizes[letter] = step * factor
            if "spacing" in ij:
                sizes["Z"] = float(ij["spacing"]) * factor
        if float(ij.get("finterval", 0) or 0) > 0:
            sizes["T"] = float(ij["finterval"])
        return sizes
    unit_tag = page.tags.get("ResolutionUnit")
    unit = int(unit_tag.value) if unit_tag is not None else 2
    factor = {2: 25400.0, 3: 10000.0}.get(unit)  # inch, centimetre; 1 = no absolute unit
    if factor is not None:
        for letter, tag in (("X", xres), ("Y", yres)):
            step = _inverse_resolution(tag)
            if step is not None and not (step == 1.0 and unit == 2):  # 1 pixel per inch is a placeholder
                sizes[letter] = step * factor
    return sizes


def _inverse_resolution(tag) -> float | None:
    if tag is None:
        return None
    num, den = tag.value if isinstance(tag.value, tuple) else (tag.value, 1)
    if not num or not den or num / den <= 0:
        return None
    return den / num


def _ome_sizes(xml: str | None) -> dict[str, float]:
    sizes: dict[str, float] = {}
    if not xml:
        return sizes
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return sizes
    pixels = next((el for el in root.iter() if re.sub(r"^\{.*\}", "", el.tag) == "Pixels"), None)
    if pixels is None:
        return sizes
    for letter in "XYZ":
        value = pixels.get(f"PhysicalSize{letter}")
        unit = pixels.get(f"PhysicalSize{letter}Unit", "µm").strip().lower()
        factor = _UM_PER_UNIT.get(unit)
        if value is not None and factor is not None and float(value) > 0:
            sizes[letter] = float(value) * factor
    value = pixels.get("TimeIncrement")
    unit = pixels.get("TimeIncrementUnit", "s").strip().lower()
    if value is not None and float(value) > 0 and unit in _SECONDS_PER_UNIT:
        sizes["T"] = float(value) * _SECONDS_PER_UNIT[unit]
    return sizes
