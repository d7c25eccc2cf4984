"""A user's own two folders of images, checked and split into the unpaired layout."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from common.data.layout import image_stem, list_images
from common.errors import InputDataError
from common.io.header import read_header
from common.prepare.writer import LayoutWriter

__all__ = ["prepare_folders"]


def _checked(folder: Path, domain: str) -> list[str]:
    files = list_images(folder)
    channels = {}
    for path in files:
        channels.setdefault(read_header(path).channels, path)  # unreadable files fail here, named
    if len(channels) > 1:
        (c1, f1), (c2, f2) = list(channels.items())[:2]
        raise InputDataError(f2, f"has {c2} channel(s) but {Path(f1).name} has {c1}: domain {domain} must be uniform")
    return files


def prepare_folders(
    source: str | os.PathLike | None = None,
    out: str | os.PathLike = "dataset",
    *,
    a: str | os.PathLike | None = None,
    b: str | os.PathLike | None = None,
    test_a: str | os.PathLike | None = None,
    test_b: str | os.PathLike | None = None,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> dict:
    """Two folders of one's own images (any supported format) -> the layout. Every file's header is read first
    (format, damage, channel count uniform per domain: a clear error names the first bad file). Test images come
    from ``test_a``/``test_b`` when given (pairs when names match), else a random ``test_fraction`` of A (without
    ground truth). ``source`` may hold ``A/`` and ``B/`` folders instead of ``a``/``b``."""
    if source is not None:
        a, b = a or Path(source) / "A", b or Path(source) / "B"
    if a is None or b is None:
        raise ValueError("give the two folders: --a DIR --b DIR (or --source holding A/ and B/)")
    files_a, files_b = _checked(Path(a), "A"), _checked(Path(b), "B")
    tests_a = _checked(Path(test_a), "A (test)") if test_a else []
    tests_b = _checked(Path(test_b), "B (test)") if test_b else []
    if tests_a and read_header(tests_a[0]).channels != read_header(files_a[0]).channels:
        raise InputDataError(tests_a[0], "test A images have another channel count than the A folder")
    if not tests_a:
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        order = np.random.default_rng(seed).permutation(len(files_a))
        n_test = max(1, int(round(len(files_a) * test_fraction)))
        if len(files_a) - n_test < 1:
            raise InputDataError(a, f"{len(files_a)} image(s) in A: too few to hold some out for testing")
        tests_a = [files_a[i] for i in sorted(order[:n_test])]
        files_a = [files_a[i] for i in sorted(order[n_test:])]
    writer = LayoutWriter(out, "folders", {"a": str(a), "b": str(b), "test_fraction": test_fraction, "seed": seed})
    for split, files in (("trainA", files_a), ("trainB", files_b), ("testA", tests_a), ("testB", tests_b)):
        for path in files:
            writer.copy(split, path)
    if tests_b:
        unmatched = {image_stem(p) for p in tests_a} - {image_stem(p) for p in tests_b}
        writer.settings["unpaired_test_images"] = len(unmatched)
    return writer.finish()
