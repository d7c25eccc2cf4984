"""Cheap look at an image file (shape, channels, dtype) without reading its pixels, for up-front checks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image

from common.errors import InputDataError
from common.io.readers import NIFTI_SUFFIXES, PLAIN_SUFFIXES
from common.io.tiff_reader import TIFF_SUFFIXES, read_tiff_header

__all__ = ["ImageHeader", "read_header", "image_kind", "SUPPORTED_SUFFIXES", "DEFAULT_MAX_BYTES"]

SUPPORTED_SUFFIXES = tuple(f".{s}" for s in TIFF_SUFFIXES) + NIFTI_SUFFIXES + PLAIN_SUFFIXES
DEFAULT_MAX_BYTES = 16 * 1024**3


@dataclass(frozen=True)
class ImageHeader:
    """What a file declares.

    Attributes:
        path: the file.
        kind: ``"tiff"``, ``"nifti"`` or ``"plain"`` (PNG/JPEG/BMP).
        spatial_shape: sizes of the non-channel axes, in the order the loader returns them.
        channels: number of channels (1 when the file has no channel axis).
        dtype: stored dtype.
        axes: the loaded array's axes after ``EnsureChannelFirst`` (e.g. ``"CTYX"``; NIfTI: ``"CXYZ"``).
    """

    path: str
    kind: str
    spatial_shape: tuple[int, ...]
    channels: int
    dtype: np.dtype
    axes: str

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.spatial_shape, dtype=np.int64)) * self.channels * self.dtype.itemsize


def image_kind(path: str | os.PathLike) -> str | None:
    """``"tiff"``, ``"nifti"``, ``"plain"`` or ``None`` for an unsupported suffix."""
    name = Path(path).name.lower()
    if name.endswith(tuple(f".{s}" for s in TIFF_SUFFIXES)):
        return "tiff"
    if name.endswith(NIFTI_SUFFIXES):
        return "nifti"
    if name.endswith(PLAIN_SUFFIXES):
        return "plain"
    return None


def read_header(path: str | os.PathLike, axes: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> ImageHeader:
    """Read a file's header and check it can hold what it declares.

    Args:
        path: the image file.
        axes: TIFF axes override (see :class:`~common.io.tiff_reader.TiffReader`).
        max_bytes: refuse files declaring more pixel data than this.

    Raises:
        InputDataError: missing, empty, unsupported, unreadable or truncated file, complex-valued pixels, or a
            declared size over ``max_bytes``.
    """
    path = os.fspath(path)
    kind = image_kind(path)
    if kind is None:
        raise InputDataError(path, f"unsupported file type; expected one of {', '.join(SUPPORTED_SUFFIXES)}")
    if not os.path.isfile(path):
        raise InputDataError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise InputDataError(path, "empty file (0 bytes)")
    if kind == "tiff":
        shape, dtype, named = read_tiff_header(path, axes)
        header = _from_axes(path, kind, shape, dtype, named)
    elif kind == "nifti":
        header = _nifti_header(path)
    else:
        header = _plain_header(path)
    if header.nbytes > max_bytes:
        raise InputDataError(
            path,
            f"declares {header.nbytes / 1024**3:.1f} GiB of pixels, more than the {max_bytes / 1024**3:.1f} GiB limit",
        )
    if header.dtype.kind == "c":
        raise InputDataError(path, f"complex-valued pixels ({header.dtype}); save the magnitude or one real part")
    if 0 in header.spatial_shape:
        raise InputDataError(path, f"image has an empty dimension (shape {header.spatial_shape})")
    return header


def _from_axes(path, kind, shape, dtype, named: str) -> ImageHeader:
    order = "".join(a for a in "CTZYX" if a in named)
    spatial = tuple(int(shape[named.index(a)]) for a in order if a != "C")
    channels = int(shape[named.index("C")]) if "C" in named else 1
    return ImageHeader(path, kind, spatial, channels, np.dtype(dtype), "C" + order.replace("C", ""))


def _nifti_header(path: str) -> ImageHeader:
    try:
        image = nib.load(path)
        shape = tuple(int(s) for s in image.shape)
        dtype = np.dtype(image.get_data_dtype())
        offset = int(image.header.get("vox_offset", 0))
    except Exception as e:
        raise InputDataError(path, f"not a readable NIfTI file ({type(e).__name__}: {e})") from None
    if len(shape) < 2 or len(shape) > 5:
        raise InputDataError(path, f"NIfTI image has {len(shape)} dimensions (shape {shape}); expected 2 to 4")
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if path.lower().endswith(".gz"):
        actual = _gzip_size(path)
        if expected < 2**32 and actual < expected:
            raise InputDataError(
                path, f"damaged or truncated NIfTI: header declares {expected} bytes, gzip holds {actual}"
            )
        actual = expected
    else:
        actual = os.path.getsize(path)
    if actual < expected:
        raise InputDataError(path, f"truncated NIfTI: header declares {expected} bytes, file holds {actual}")
    spatial = shape[:3] if len(shape) > 3 else shape
    channels = int(np.prod(shape[3:])) if len(shape) > 3 else 1
    return ImageHeader(path, "nifti", spatial, channels, dtype, "C" + "XYZ"[: len(spatial)])


def _gzip_size(path: str) -> int:
    """Uncompressed size of a gzip file from its trailer (ISIZE: size modulo 2**32), without decompressing.

    A cheap first check: a truncated stream ends in compressed data rather than its trailer, which usually
    disagrees with the header; the load itself verifies the stream.
    """
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            raise InputDataError(path, "not a gzip stream although the name ends in .gz")
        fh.seek(-4, os.SEEK_END)
        return int.from_bytes(fh.read(4), "little")


def _plain_header(path: str) -> ImageHeader:
    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            width, height, mode = im.width, im.height, im.mode
    except Exception as e:
        raise InputDataError(path, f"not a readable image file ({type(e).__name__}: {e})") from None
    channels = {"L": 1, "I": 1, "F": 1, "I;16": 1, "1": 1, "LA": 1, "RGB": 3, "P": 3, "RGBA": 3, "CMYK": 3}.get(mode)
    if channels is None:
        raise InputDataError(path, f"unsupported image mode {mode!r}")
    dtype = np.dtype(np.uint16) if mode.startswith("I;16") else np.dtype(np.uint8)
    return ImageHeader(path, "plain", (height, width), channels, dtype, "CYX")
