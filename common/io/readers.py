"""The readers this project uses for each file kind, and their registration with MONAI ``LoadImage``.

* TIFF (``.tif``, ``.tiff``, ``.ome.tif``): :class:`~common.io.tiff_reader.TiffReader`;
* NIfTI (``.nii``, ``.nii.gz``): MONAI's ``NibabelReader`` (affine kept, RAS);
* PNG / JPEG / BMP: :class:`PlainImageReader`, MONAI's ``PILReader`` without its default axis swap
  (``reverse_indexing=False``), palette and alpha images converted to RGB / grayscale.

:func:`register_readers` adds ``TiffReader`` to MONAI's ``SUPPORTED_READERS`` (MONAI's documented extension
point) so that a plain ``LoadImage()`` in a bundle config picks it for TIFF instead of ``ITKReader``.
"""

from __future__ import annotations

import numpy as np
from monai.data import NibabelReader, PILReader
from monai.transforms.io.array import SUPPORTED_READERS
from PIL import Image

from common.io.tiff_reader import TiffReader

__all__ = ["PlainImageReader", "default_readers", "register_readers", "NIFTI_SUFFIXES", "PLAIN_SUFFIXES"]

NIFTI_SUFFIXES = (".nii", ".nii.gz")
PLAIN_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def _to_rgb_or_gray(image: Image.Image) -> Image.Image:
    if image.mode in ("P", "RGBA", "CMYK", "YCbCr"):
        return image.convert("RGB")
    if image.mode == "LA":
        return image.convert("L")
    return image


class PlainImageReader(PILReader):
    """MONAI ``PILReader`` returning arrays as ``(Y, X[, C])`` (rows first, like TIFF) and naming the axes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("converter", _to_rgb_or_gray)
        super().__init__(reverse_indexing=False, **kwargs)

    def verify_suffix(self, filename) -> bool:
        names = [filename] if isinstance(filename, (str, bytes)) or hasattr(filename, "__fspath__") else filename
        return all(str(n).lower().endswith(PLAIN_SUFFIXES) for n in names)

    def get_data(self, img) -> tuple[np.ndarray, dict]:
        data, meta = super().get_data(img)
        data = np.array(data)  # PIL's buffer is read-only; torch warns on such arrays
        meta["spatial_shape"] = np.asarray(data.shape[:2])  # PILReader reports (width, height)
        meta["spatial_axes"] = "YX"
        meta["axes"] = "YX" if data.ndim == 2 else "YXC"
        meta["spacing"] = np.ones(2)
        meta["spacing_known"] = False
        meta["original_dtype"] = str(data.dtype)
        return data, meta


def default_readers(axes: str | None = None) -> list:
    """Reader instances in MONAI registration order (the last one is tried first).

    Args:
        axes: axes override passed to :class:`TiffReader` (e.g. ``"TYX"``).
    """
    return [NibabelReader(), PlainImageReader(), TiffReader(axes=axes)]


def register_readers() -> None:
    """Register :class:`TiffReader` with MONAI so that ``LoadImage()`` uses it for TIFF files."""
    SUPPORTED_READERS["tiffreader"] = TiffReader
