"""What a phantom generator returns for one field, and how it is written in the task's real file format."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.io.atomic import atomic_path
from common.io.nifti_writer import write_nifti
from common.io.png_writer import write_png
from common.io.tiff_writer import write_tiff

__all__ = ["PhantomImage", "PhantomSample", "write_phantom_image", "write_table"]

SUFFIX = {"tiff": ".tif", "png": ".png", "nifti": ".nii.gz"}


@dataclass
class PhantomImage:
    """One image and how to store it.

    Attributes:
        data: the array, laid out as ``axes`` says (NIfTI: ``X Y Z``).
        axes: TIFF axes (``"TYX"``, ``"CYX"``...), ``"CYX"``/``"YX"`` for PNG, ``"XYZ"`` for NIfTI.
        fmt: ``"tiff"``, ``"png"`` or ``"nifti"``.
        spacing: TIFF pixel sizes per axis letter (micrometres, seconds for ``T``).
        affine: NIfTI voxel-to-world matrix.
    """

    data: np.ndarray
    axes: str
    fmt: str = "tiff"
    spacing: dict[str, float] | None = None
    affine: np.ndarray | None = None


@dataclass
class PhantomSample:
    """A field rendered in both domains, with its ground truth.

    ``a`` and ``b`` show the same content; ``labels_a``/``labels_b`` are the instance (or tissue) labels of the
    objects in each (same ids for the same object); ``tables`` hold per-object ground truth such as activity
    traces, as ``name -> (header, rows)``.
    """

    a: PhantomImage
    b: PhantomImage
    labels_a: PhantomImage | None = None
    labels_b: PhantomImage | None = None
    tables: dict[str, tuple[list[str], list[list[float]]]] = field(default_factory=dict)


def write_phantom_image(stem: str | os.PathLike, image: PhantomImage, overwrite: bool = False) -> Path:
    """Write ``image`` to ``stem`` + the format's suffix; return the path."""
    path = Path(f"{os.fspath(stem)}{SUFFIX[image.fmt]}")
    if image.fmt == "tiff":
        write_tiff(path, image.data, image.axes, spacing=image.spacing, overwrite=overwrite)
    elif image.fmt == "png":
        data = image.data if image.axes.startswith("C") or image.data.ndim == 2 else np.moveaxis(image.data, -1, 0)
        write_png(path, data, overwrite=overwrite)
    elif image.fmt == "nifti":
        write_nifti(path, image.data, image.affine if image.affine is not None else np.eye(4), overwrite=overwrite)
    else:
        raise ValueError(f"unknown phantom format {image.fmt!r}")
    return path


def write_table(path: str | os.PathLike, header: list[str], rows: list[list[float]], overwrite: bool = False) -> Path:
    """Write a CSV table atomically."""
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path
