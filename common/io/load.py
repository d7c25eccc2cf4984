"""Load images of every supported kind as channel-first MONAI ``MetaTensor``s, with one-line errors."""

from __future__ import annotations

import os

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import LoadImage, LoadImaged

from common.errors import InputDataError
from common.io.header import SUPPORTED_SUFFIXES, image_kind
from common.io.readers import default_readers

__all__ = ["LoadImageFiled", "image_loader", "image_loaderd", "load_image"]


def image_loader(axes: str | None = None, dtype=np.float32, ensure_channel_first: bool = True) -> LoadImage:
    """A MONAI ``LoadImage`` that reads TIFF with :class:`TiffReader`, NIfTI with ``NibabelReader`` and
    PNG/JPEG with :class:`PlainImageReader`, returning channel-first ``MetaTensor``s.

    Args:
        axes: TIFF axes override (e.g. ``"TYX"``).
        dtype: output dtype (``None`` keeps the file's).
        ensure_channel_first: add/move the channel axis to the front.
    """
    loader = LoadImage(image_only=True, dtype=dtype, ensure_channel_first=ensure_channel_first)
    _register(loader, axes)
    return loader


def image_loaderd(keys, axes: str | None = None, dtype=np.float32, **kwargs) -> LoadImaged:
    """Dictionary version of :func:`image_loader` (MONAI ``LoadImaged``)."""
    loader = LoadImaged(keys, image_only=True, dtype=dtype, ensure_channel_first=True, **kwargs)
    _register(loader, axes)
    return loader


def _register(loader: LoadImage | LoadImaged, axes: str | None) -> None:
    """Register our readers on an auto-selecting ``LoadImage``.

    Passing ``reader=`` to ``LoadImage`` switches off selection by suffix: every reader is then tried in turn and
    a failure falls back silently to the next (a truncated TIFF refused by ``TiffReader`` would be read by
    ``PILReader`` as its first page). Registered readers keep selection by suffix, so the reader that claims a
    file is the one whose error is raised.
    """
    for reader in default_readers(axes):
        loader.register(reader)


def load_image(
    path: str | os.PathLike, axes: str | None = None, dtype=np.float32, check_finite: bool = True
) -> MetaTensor:
    """Load one image channel-first, raising :class:`InputDataError` naming the file for any problem.

    Args:
        path: a TIFF, NIfTI, PNG/JPEG/BMP file.
        axes: TIFF axes override.
        dtype: output dtype; ``None`` keeps the stored dtype.
        check_finite: refuse images holding NaN or Inf.

    Returns:
        ``MetaTensor`` shaped ``(C, *spatial)`` with the reader's metadata (``affine``, ``spacing``, ``axes``...).
    """
    path = os.fspath(path)
    if image_kind(path) is None:
        raise InputDataError(path, f"unsupported file type; expected one of {', '.join(SUPPORTED_SUFFIXES)}")
    if not os.path.isfile(path):
        raise InputDataError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise InputDataError(path, "empty file (0 bytes)")
    try:
        image = image_loader(axes=axes, dtype=dtype)(path)
    except InputDataError:
        raise
    except Exception as e:
        raise InputDataError(path, f"cannot read image ({type(e).__name__}: {_first_line(e)})") from None
    if check_finite and torch.is_floating_point(image) and not bool(torch.isfinite(image).all()):
        bad = int((~torch.isfinite(image)).sum())
        raise InputDataError(path, f"image holds {bad} NaN/Inf values")
    return image


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else ""


class LoadImageFiled(LoadImaged):
    """Dictionary transform around :func:`load_image`: MONAI ``LoadImaged`` with this project's readers, plus
    one-line :class:`InputDataError`s naming the file (damaged file, NaN/Inf values). A ``LoadImaged``, so that
    MONAI Label finds (and swaps) the loader of a bundle's ``preprocessing``.

    Args:
        keys: keys holding file paths.
        axes: TIFF axes override.
        dtype: output dtype.
        check_finite: refuse images holding NaN or Inf.
    """

    def __init__(
        self,
        keys,
        axes: str | None = None,
        dtype=np.float32,
        check_finite: bool = True,
        allow_missing_keys: bool = False,
    ):
        super().__init__(
            keys, dtype=dtype, image_only=True, ensure_channel_first=True, allow_missing_keys=allow_missing_keys
        )
        _register(self, axes)
        self.axes, self.dtype, self.check_finite = axes, dtype, check_finite

    def __call__(self, data, reader=None):
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = load_image(d[key], axes=self.axes, dtype=self.dtype, check_finite=self.check_finite)
        return d
