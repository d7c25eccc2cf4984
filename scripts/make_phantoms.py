"""Write a ground-truth phantom data set for one task in the unpaired layout.

Usage::

    python scripts/make_phantoms.py TASK --out DIR [--n_train N --n_test M --size S --seed K --overwrite]

TASK is a bundle name: calcium, if_unmixing, denoising, ihc_he_translation, mri_t2_pd, virtual_he_staining,
phase_to_dapi, mask_to_nuclei (or ``all`` to write every task into DIR/TASK).
"""

from __future__ import annotations

import sys
from pathlib import Path

import fire

from common.errors import InputDataError
from common.phantoms import TASKS, make_phantoms


def main(
    task: str,
    out: str,
    n_train: int = 8,
    n_test: int = 2,
    size: int | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> None:
    """Write phantoms of TASK (or ``all``) to OUT and print what was written."""
    tasks = list(TASKS) if task == "all" else [task]
    for name in tasks:
        folder = Path(out) / name if task == "all" else Path(out)
        try:
            info = make_phantoms(
                name, folder, n_train=n_train, n_test=n_test, size=size, seed=seed, overwrite=overwrite
            )
        except (ValueError, FileExistsError, PermissionError, InputDataError) as e:
            sys.exit(f"make_phantoms: {e}")
        counts = ", ".join(f"{k} {len(v)}" for k, v in info["files"].items())
        print(f"{name}: {folder} ({counts}; size {info['size']}, seed {info['seed']})")


if __name__ == "__main__":
    fire.Fire(main)
