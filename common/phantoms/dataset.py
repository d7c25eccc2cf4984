"""Write a phantom data set in the unpaired layout, deterministic by seed.

``trainA`` and ``trainB`` come from different random fields (unpaired: no B image shows an A image's content);
``testA`` and ``testB`` show the same fields (``testB`` is the ground truth of ``testA``), with labels and tables
(``testA_labels``, ``testB_labels``, ``testA_<table>``) where the task has them; ``valA``/``valB`` are further
aligned fields for model selection (never the test fields), and ``phantom.json`` records the task, settings and
what each folder holds.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from common.distributed import main_process_first
from common.io.atomic import atomic_path
from common.phantoms import (
    calcium,
    denoising,
    if_unmixing,
    ihc_he_translation,
    mask_to_nuclei,
    mri_t2_pd,
    phase_to_dapi,
    virtual_he_staining,
)
from common.phantoms.sample import PhantomSample, write_phantom_image, write_table

__all__ = ["TASKS", "DEFAULT_SIZES", "ensure_phantoms", "make_phantoms", "task_sampler"]

TASKS: dict[str, Callable[..., PhantomSample]] = {
    "calcium": calcium.sample,
    "if_unmixing": if_unmixing.sample,
    "denoising": denoising.sample,
    "ihc_he_translation": ihc_he_translation.sample,
    "mri_t2_pd": mri_t2_pd.sample,
    "virtual_he_staining": virtual_he_staining.sample,
    "phase_to_dapi": phase_to_dapi.sample,
    "mask_to_nuclei": mask_to_nuclei.sample,
}
DEFAULT_SIZES = {name: 128 for name in TASKS} | {"mri_t2_pd": 64}
_SPLIT_CODE = {"trainA": 1, "trainB": 2, "test": 3, "val": 4}


def task_sampler(task: str) -> Callable[..., PhantomSample]:
    """The generator of one task.

    Raises:
        ValueError: unknown task name.
    """
    if task not in TASKS:
        raise ValueError(f"unknown phantom task {task!r}; choose one of {', '.join(TASKS)}")
    return TASKS[task]


def make_phantoms(
    task: str,
    out: str | os.PathLike,
    *,
    n_train: int = 8,
    n_test: int = 2,
    size: int | None = None,
    seed: int = 0,
    overwrite: bool = False,
    n_val: int = 2,
) -> dict:
    """Write ``n_train`` unpaired A and B images, ``n_test`` aligned test fields and ``n_val`` aligned validation
    fields of ``task`` under ``out``.

    Args:
        task: one of :data:`TASKS`.
        out: dataset folder (created). Existing files are never replaced unless ``overwrite``.
        n_train: training images per domain.
        n_test: test fields (A with its ground-truth B and labels).
        n_val: validation fields (``valA`` with its ground truth ``valB``), drawn apart from the test fields.
        size: image side in pixels (default per task: 128, MRI 64).
        seed: random seed; the same seed writes the same files.
        overwrite: replace files that exist.

    Returns:
        the description also written to ``out/phantom.json``.

    Raises:
        ValueError: bad task or counts.
        FileExistsError: ``out`` already holds a data set and ``overwrite`` is False.
    """
    sampler = task_sampler(task)
    if int(n_train) < 1 or int(n_test) < 0 or int(n_val) < 0:
        raise ValueError(f"n_train must be >= 1 and n_test, n_val >= 0, got {n_train}, {n_test}, {n_val}")
    size = int(size if size is not None else DEFAULT_SIZES[task])
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    root = Path(out)
    if not overwrite and (root / "phantom.json").exists():
        raise FileExistsError(f"{root}: already holds a phantom data set; pass overwrite=True or another folder")
    written: dict[str, list[str]] = {}

    def put(folder: str, stem: str, image) -> None:
        path = write_phantom_image(root / folder / stem, image, overwrite=overwrite)
        written.setdefault(folder, []).append(path.name)

    for domain in ("trainA", "trainB"):
        for i in range(int(n_train)):
            field = sampler(np.random.default_rng([seed, _SPLIT_CODE[domain], i]), size=size)
            put(domain, f"{task}_{domain[-1].lower()}{i:03d}", field.a if domain == "trainA" else field.b)
    for i in range(int(n_test)):
        field = sampler(np.random.default_rng([seed, _SPLIT_CODE["test"], i]), size=size)
        stem = f"{task}_test{i:03d}"
        put("testA", stem, field.a)
        put("testB", stem, field.b)
        if field.labels_a is not None:
            put("testA_labels", stem, field.labels_a)
        if field.labels_b is not None:
            put("testB_labels", stem, field.labels_b)
        for name, (header, rows) in field.tables.items():
            write_table(root / f"testA_{name}" / f"{stem}.csv", header, rows, overwrite=overwrite)
            written.setdefault(f"testA_{name}", []).append(f"{stem}.csv")
    for i in range(int(n_val)):
        field = sampler(np.random.default_rng([seed, _SPLIT_CODE["val"], i]), size=size)
        put("valA", f"{task}_val{i:03d}", field.a)
        put("valB", f"{task}_val{i:03d}", field.b)
    description = {
        "task": task,
        "seed": int(seed),
        "size": size,
        "n_train": int(n_train),
        "n_test": int(n_test),
        "n_val": int(n_val),
        "about": (sys.modules[sampler.__module__].__doc__ or "").strip(),
        "files": written,
    }
    with atomic_path(root / "phantom.json", overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(description, indent=4))
    return description


def ensure_phantoms(task: str, out: str | os.PathLike, **kwargs) -> str:
    """The phantom data set of ``task`` in ``out``, written first if it is not there yet (the bundles' embedded
    default data). ``kwargs`` go to :func:`make_phantoms`; an existing data set is reused as it is.

    In a distributed run every rank calls it: rank 0 writes, the others wait for it and then read."""
    with main_process_first():
        if not (Path(out) / "phantom.json").exists():
            make_phantoms(task, out, **kwargs)
    return os.fspath(out)


def dataset_or_phantoms(
    dataset_dir: str | os.PathLike | None, task: str, output_dir: str | os.PathLike, **kwargs
) -> str:
    """``dataset_dir`` when one is given, else the phantom data set of ``task`` in ``output_dir/phantoms``
    (:func:`ensure_phantoms` with ``kwargs``): what a bundle trains on."""
    if dataset_dir:
        return os.fspath(dataset_dir)
    return ensure_phantoms(task, Path(output_dir) / "phantoms", **kwargs)
