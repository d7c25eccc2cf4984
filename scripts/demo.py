"""The demo behind ``make demo``: the embedded default data (phantoms of every task), then the calcium bundle
trained briefly on its phantoms with MLflow tracking, then its test movies translated."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import fire
from monai.bundle import run

import common
from common.data import make_unpaired_dataset, paired_test_items
from common.io import load_image
from common.phantoms import TASKS, make_phantoms

BUNDLE = Path(common.PROJECT_ROOT) / "bundles" / "calcium" / "configs"


def main(out: str = "demo_output", n_train: int = 4, n_test: int = 2, seed: int = 0, iterations: int = 60) -> None:
    """Write phantoms of every task under OUT/phantoms, train calcium for ITERATIONS, translate its test movies."""
    out_path = Path(out).resolve()
    show_phantoms(out_path / "phantoms", n_train, n_test, seed)
    train_dir, translated = out_path / "calcium", out_path / "calcium" / "translated"
    tracking_uri = "sqlite:///" + os.path.join(common.PROJECT_ROOT, "mlflow", "mlruns.db")
    print(f"\nTraining the calcium bundle (STABLE) for {iterations} iterations on its phantoms...")
    start = time.perf_counter()
    run(
        "training",
        config_file=str(BUNDLE / "train.json"),
        output_dir=str(train_dir),
        max_iterations=iterations,
        patch_size=[128, 128],
        val_size=[128, 128],
        phantom_size=128,
        val_interval=max(1, iterations // 3),
        checkpoint_interval=max(1, iterations // 3),
        sample_interval=max(1, iterations // 3),
        epoch_length=max(1, iterations // 3),
        tracking="mlflow",
        tracking_uri=tracking_uri,
    )
    print(f"trained in {time.perf_counter() - start:.0f} s")
    if not translated.exists():
        run(
            config_file=str(BUNDLE / "inference.json"),
            dataset_dir=str(train_dir / "phantoms" / "testA"),
            output_dir=str(translated),
            checkpoint=str(train_dir / "model.pt"),
        )
    print(f"\nOutputs:        {train_dir} (model.pt, checkpoints/, samples/, losses.csv)")
    print(f"Translations:   {translated}")
    print(f"MLflow run:     {tracking_uri} (experiment 'calcium')")
    print(f"Browse it with: .venv/bin/mlflow ui --backend-store-uri {tracking_uri}")


def show_phantoms(root: Path, n_train: int, n_test: int, seed: int) -> None:
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
        rgb = {"mode": "range"} if task == "ihc_he_translation" else None
        patch = make_unpaired_dataset(folder, patch_size=(32, 32), length=2, normalization_a=rgb, normalization_b=rgb)[
            0
        ]
        if patch["A"].shape[-2:] != (32, 32) or patch["B"].shape[-2:] != (32, 32):
            raise RuntimeError(f"{task}: training patches have the wrong shape")
        seconds = time.perf_counter() - start
        print(f"{task:<21}{_describe(a):<31}{_describe(b):<31}{', '.join(truth):<36}{seconds:>7.2f}")
    print(f"Phantom data sets written under {root} (layout: trainA trainB testA testB + ground truth).")


def _describe(image) -> str:
    axes = image.meta.get("spatial_axes", "XYZ"[: image.ndim - 1])
    return f"{tuple(image.shape)} C{axes} {image.meta.get('original_dtype', '')}".strip()


if __name__ == "__main__":
    sys.exit(fire.Fire(main))
