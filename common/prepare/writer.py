"""Write a prepared data set: a new ``trainA/trainB/testA/testB`` folder, never over anything the user has."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from common.data.layout import SPLITS
from common.errors import InputDataError
from common.io.write import write_image

__all__ = ["LayoutWriter"]

FOLDERS = (*SPLITS, "testA_labels", "testB_labels")


class LayoutWriter:
    """Writes into ``out`` (which must not exist, or be empty) and records what it wrote in ``prepared.json``.

    Args:
        out: the data set folder to create.
        dataset: name of the source data set (recorded).
        settings: how it was split (recorded).
    """

    def __init__(self, out: str | os.PathLike, dataset: str, settings: Mapping | None = None):
        self.out = Path(out)
        if self.out.exists() and any(self.out.iterdir()):
            raise InputDataError(self.out, "output folder exists and is not empty; choose a new one")
        self.dataset, self.settings = dataset, dict(settings or {})
        self.counts = {f: 0 for f in FOLDERS}

    def _target(self, split: str, name: str) -> Path:
        if split not in FOLDERS:
            raise ValueError(f"split must be one of {FOLDERS}, got {split!r}")
        folder = self.out / split
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if target.exists():
            raise InputDataError(target, "two source images map to the same output name")
        self.counts[split] += 1
        return target

    def copy(self, split: str, source: str | os.PathLike, name: str | None = None) -> Path:
        """Copy a file as it is (format and metadata unchanged)."""
        target = self._target(split, name or Path(source).name)
        shutil.copy2(source, target)
        return target

    def write(self, split: str, name: str, image: np.ndarray, meta: Mapping | None = None) -> Path:
        """Write a channel-first ``(C, *spatial)`` array (TIFF / NIfTI / PNG by ``name``'s suffix)."""
        target = self._target(split, name)
        write_image(target, image, meta=dict(meta or {}), dtype=str(np.asarray(image).dtype))
        return target

    def finish(self) -> dict:
        """Check the layout is usable (both training domains and testA hold images) and write ``prepared.json``."""
        for split in ("trainA", "trainB", "testA"):
            if self.counts[split] == 0:
                raise InputDataError(self.out / split, f"no image was written to {split}: the source is incomplete")
        record = {"dataset": self.dataset, "settings": self.settings, "counts": self.counts}
        (self.out / "prepared.json").write_text(json.dumps(record, indent=2, default=str))
        return record
