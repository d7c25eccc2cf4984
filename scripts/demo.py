"""The demo behind ``make demo``: the embedded default data (phantoms of every task), then one bundle trained
briefly on its phantoms with MLflow tracking, its test images translated with the model that validation
selected, and that translation scored against the phantom truth beside the untranslated input."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import fire
from monai.bundle import run

import common
from common.data import make_unpaired_dataset, paired_test_items
from common.evaluation import review_folder, review_input
from common.io import load_image
from common.phantoms import TASKS, make_phantoms

#: what the demo trains: the bundle, method and budget that reached a faithful translation fastest on a 2-core CPU
#: in the convergence benchmark
DEMO_TASK, DEMO_METHOD, DEMO_ITERATIONS = "denoising", "cyclegan", 300
#: the benchmark's CPU networks
DEMO_NETWORKS = {
    "cyclegan": {
        "hyperparameters#cyclegan#ngf": 16,
        "hyperparameters#cyclegan#n_blocks": 6,
        "hyperparameters#cyclegan#ndf": 32,
    }
}

BUNDLES = Path(common.PROJECT_ROOT) / "bundles"


def main(
    out: str = "demo_output",
    n_train: int = 4,
    n_test: int = 2,
    seed: int = 0,
    task: str = DEMO_TASK,
    method: str = DEMO_METHOD,
    iterations: int = DEMO_ITERATIONS,
) -> None:
    """Write phantoms of every task under OUT/phantoms, train TASK's bundle with METHOD for ITERATIONS, translate
    its test images with the selected model and score them against the truth beside the input."""
    out_path = Path(out).resolve()
    show_phantoms(out_path / "phantoms", n_train, n_test, seed)
    configs = BUNDLES / task / "configs"
    train_dir, translated = out_path / task, out_path / task / "translated"
    tracking_uri = "sqlite:///" + os.path.join(common.PROJECT_ROOT, "mlflow", "mlruns.db")
    print(f"\nTraining the {task} bundle ({method}) for {iterations} iterations on its phantoms...")
    start = time.perf_counter()
    every = max(1, iterations // 4)
    run(
        "training",
        config_file=str(configs / "train.json"),
        output_dir=str(train_dir),
        method=method,
        max_iterations=iterations,
        patch_size=[96, 96],
        val_size=[96, 96],
        phantom_size=128,
        val_interval=every,
        checkpoint_interval=iterations,
        sample_interval=every,
        epoch_length=every,
        tracking="mlflow",
        tracking_uri=tracking_uri,
        **DEMO_NETWORKS.get(method, {}),
    )
    print(f"trained in {time.perf_counter() - start:.0f} s")
    if not translated.exists():
        run(
            config_file=str(configs / "inference.json"),
            dataset_dir=str(train_dir / "phantoms" / "testA"),
            output_dir=str(translated),
            checkpoint=str(train_dir / "best_model.pt"),
        )
    scores, baseline = review_folder(translated, train_dir / "phantoms"), review_input(train_dir / "phantoms")
    print("\nTranslation of the test images against the phantom truth (intensity-fitted PSNR/SSIM, PCC):")
    print(f"  translation:            PSNR {scores['psnr']:.2f} dB  SSIM {scores['ssim']:.3f}  PCC {scores['pcc']:.3f}")
    print(
        f"  input (untranslated):   PSNR {baseline['psnr']:.2f} dB  SSIM {baseline['ssim']:.3f}  "
        f"PCC {baseline['pcc']:.3f}"
    )
    good = scores["psnr"] > baseline["psnr"] and scores["pcc"] >= 0.8
    print(
        "  the translation beats the untranslated input, without inversion"
        if good
        else "  WARNING: not better than the input"
    )
    print(f"\nOutputs:        {train_dir} (model.pt, best_model.pt, checkpoints/, samples/, losses.csv,")
    print("                validation.csv)")
    print(f"Translations:   {translated}")
    print(f"MLflow run:     {tracking_uri} (experiment '{task}')")
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
