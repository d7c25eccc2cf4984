"""The unpaired dataset layout ``DATASET/{trainA,trainB,testA,testB}`` and explicit file lists.

::

    DATASET/
        trainA/  trainB/          unpaired training images of domain A and B (any number each)
        testA/                    held-out A images
        testB/                    optional: B images; when their names match testA's, they are aligned ground truth
        testA_labels/ testB_labels/   optional instance labels of testA / testB (matched by name)
        valA/ valB/               optional validation images for model selection, never the test set: valB images
                                  named as valA's are its ground truth; without valB (or aligned names) selection
                                  uses an unsupervised criterion

Names match when their stems agree (all image suffixes removed: ``cell_01.ome.tif`` -> ``cell_01``). Hidden
files (``.DS_Store``, editors' temporaries) are skipped; any other non-image file in an image folder is an error.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from common.errors import InputDataError
from common.io.header import SUPPORTED_SUFFIXES, image_kind

__all__ = [
    "SPLITS",
    "PairedItem",
    "image_stem",
    "list_images",
    "resolve_files",
    "paired_items",
    "paired_test_items",
]

SPLITS = ("trainA", "trainB", "testA", "testB", "valA", "valB")


def image_stem(path: str | os.PathLike) -> str:
    """File name without its image suffixes (``a.nii.gz`` -> ``a``, ``b.ome.tif`` -> ``b``)."""
    name = Path(path).name
    lower = name.lower()
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name[:-4] if name.lower().endswith(".ome") else name


def list_images(folder: str | os.PathLike, required: bool = True) -> list[str]:
    """Sorted image files of a folder.

    Args:
        folder: the folder.
        required: raise when the folder is missing or holds no image; otherwise return ``[]``.

    Raises:
        InputDataError: missing or empty folder (when ``required``), or a non-image file in it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        if required:
            raise InputDataError(folder, "folder not found")
        return []
    files, foreign = [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.is_dir():
            continue
        (files if image_kind(entry) else foreign).append(str(entry))
    if foreign:
        raise InputDataError(
            foreign[0],
            f"not an image file ({len(foreign)} such in {folder}); supported: {', '.join(SUPPORTED_SUFFIXES)}",
        )
    if required and not files:
        raise InputDataError(folder, f"folder holds no image files ({', '.join(SUPPORTED_SUFFIXES)})")
    return files


def resolve_files(spec: str | os.PathLike | Sequence[str | os.PathLike], name: str = "files") -> list[str]:
    """Turn a folder, a glob pattern, a single file or a list of files into a sorted list of image files.

    Raises:
        InputDataError: nothing matches, or a listed file is missing or not an image.
    """
    if isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        if os.path.isdir(text):
            return list_images(text)
        if any(ch in text for ch in "*?["):
            matches = sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
            if not matches:
                raise InputDataError(text, f"pattern for {name} matches no file")
            spec = matches
        else:
            spec = [text]
    files = [os.fspath(p) for p in spec]
    if not files:
        raise InputDataError(None, f"{name}: empty file list")
    for f in files:
        if image_kind(f) is None:
            raise InputDataError(f, f"not an image file; supported: {', '.join(SUPPORTED_SUFFIXES)}")
        if not os.path.isfile(f):
            raise InputDataError(f, "file not found")
    return files


@dataclass(frozen=True)
class PairedItem:
    """One held-out A image with what matches it by name (``None`` where absent)."""

    A: str
    B: str | None = None
    A_labels: str | None = None
    B_labels: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def paired_items(dataset_dir: str | os.PathLike, split: str = "test", required: bool = True) -> list[PairedItem]:
    """``{split}A`` images with their aligned ``{split}B`` image and labels where names match (``split``: ``"test"``
    or ``"val"``).

    Raises:
        InputDataError: ``{split}A`` is missing or empty (when ``required``).
    """
    if split not in ("test", "val"):
        raise ValueError(f"split must be 'test' or 'val', got {split!r}")
    root = Path(dataset_dir)
    by_stem = {
        kind: {image_stem(f): f for f in list_images(root / f"{split}{kind}", required=False)}
        for kind in ("B", "A_labels", "B_labels")
    }
    items = []
    for a in list_images(root / f"{split}A", required=required):
        stem = image_stem(a)
        items.append(
            PairedItem(
                A=a,
                B=by_stem["B"].get(stem),
                A_labels=by_stem["A_labels"].get(stem),
                B_labels=by_stem["B_labels"].get(stem),
            )
        )
    return items


def paired_test_items(dataset_dir: str | os.PathLike) -> list[PairedItem]:
    """``testA`` images with their aligned ``testB`` image and labels where names match.

    Raises:
        InputDataError: ``testA`` is missing or empty.
    """
    return paired_items(dataset_dir, "test")
