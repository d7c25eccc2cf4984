"""Data sets published already in the unpaired layout (STABLE's calcium and virtual H&E sets on Figshare)."""

from __future__ import annotations

import os
from pathlib import Path

from common.data.layout import list_images
from common.errors import InputDataError
from common.io.header import read_header
from common.prepare.download import fetch
from common.prepare.writer import FOLDERS, LayoutWriter

__all__ = ["prepare_stable_release"]


def prepare_stable_release(
    source: str | os.PathLike,
    out: str | os.PathLike,
    checksum: str | None = None,
    work: str | os.PathLike | None = None,
) -> dict:
    """A release distributed as ``trainA/trainB/testA/testB`` (a folder, an archive or its URL; ``checksum``
    ``"md5:..."`` as Figshare publishes it): the folder holding ``trainA`` and ``trainB`` is found inside, every
    image's header is checked, and the splits are copied as distributed."""
    root = fetch(source, work or Path(out).parent / (Path(out).name + "_download"), checksum)
    candidates = sorted({p.parent for p in root.rglob("trainA") if (p.parent / "trainB").is_dir()})
    if not candidates:
        raise InputDataError(root, "no folder holding trainA and trainB")
    if len(candidates) > 1:
        raise InputDataError(root, f"several data sets inside ({', '.join(str(c) for c in candidates)}); give one")
    base = candidates[0]
    writer = LayoutWriter(out, "published", {"source": str(source), "folder": str(base.relative_to(root))})
    for split in FOLDERS:
        for path in list_images(base / split, required=split in ("trainA", "trainB")):
            read_header(path)  # a damaged file fails here, named
            writer.copy(split, path)
    return writer.finish()
