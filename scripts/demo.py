"""The demo behind ``make demo``: write the embedded default data (phantoms of every task) and show what each
holds, read back through the project's loaders. Later stages extend it to train, translate and evaluate."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import fire

from common.data import make_unpaired_dataset, paired_test_items
from common.io import load_image
from common.phantoms import TASKS, make_phantoms


def main(out: str = "demo_output", n_train: int = 4, n_test: int = 2, seed: int = 0) -> None:
    """Write phantoms for every task under OUT/phantoms/TASK and print a summary table."""
    root = Path(out) / "phantoms"
    print(f"{'task':<21}{'A (test)':<31}{'B (test)':<31}{'ground truth':<36}{'seconds':>7}")
    for task in TASKS:
        start = time.perf_counter()
        folder = root / task
        if not (folder / "phantom.json").exists():
            make_phantoms(task, folder, n_train=n_train, n_test=n_test, seed=seed)
        item = paired_test_items(folder)[0]
        a, b = load_image(item.A), load_image(item.B)
        truth = [k for k in ("B", "A_labels", "B_labels") if getattr(item, k)]
        truth += [p.name for p in folder.glob("testA_*") if p.name != "testA_labels"]
        dataset = make_unpaired_dataset(
            folder,
            patch_size=(32, 32),
            length=2,
            **(
                {"normalization_a": {"mode": "range"}, "normalization_b": {"mode": "range"}}
                if task == "ihc_he_translation"
                else {}
            ),
        )
        patch = dataset[0]
        if patch["A"].shape[-2:] != (32, 32) or patch["B"].shape[-2:] != (32, 32):
            raise RuntimeError(f"{task}: training patches have the wrong shape")
        seconds = time.perf_counter() - start
        print(f"{task:<21}{_describe(a):<31}{_describe(b):<31}{', '.join(truth):<36}{seconds:>7.2f}")
    print(f"\nPhantom data sets written under {root.resolve()} (layout: trainA trainB testA testB + ground truth).")
    print("Training, translation and evaluation arrive with the engine and bundles.")


def _describe(image) -> str:
    axes = image.meta.get("spatial_axes", "XYZ"[: image.ndim - 1])
    return f"{tuple(image.shape)} C{axes} {image.meta.get('original_dtype', '')}".strip()


if __name__ == "__main__":
    sys.exit(fire.Fire(main))
