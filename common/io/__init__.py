"""Image I/O: microscopy TIFF, NIfTI and PNG readers for MONAI ``LoadImage``, and atomic writers."""

from common.io.atomic import atomic_path
from common.io.axes import canonical_axes, infer_axes, validate_axes
from common.io.dtype import cast_to_dtype
from common.io.header import SUPPORTED_SUFFIXES, ImageHeader, image_kind, read_header
from common.io.load import LoadImageFiled, image_loader, image_loaderd, load_image
from common.io.nifti_writer import write_nifti
from common.io.png_writer import write_png
from common.io.readers import PlainImageReader, default_readers, register_readers
from common.io.tiff_reader import TiffReader, read_tiff_header
from common.io.tiff_writer import write_tiff
from common.io.write import write_image

register_readers()

__all__ = [
    "ImageHeader",
    "LoadImageFiled",
    "PlainImageReader",
    "SUPPORTED_SUFFIXES",
    "TiffReader",
    "atomic_path",
    "canonical_axes",
    "cast_to_dtype",
    "default_readers",
    "image_kind",
    "image_loader",
    "image_loaderd",
    "infer_axes",
    "load_image",
    "read_header",
    "read_tiff_header",
    "register_readers",
    "validate_axes",
    "write_image",
    "write_nifti",
    "write_png",
    "write_tiff",
]
