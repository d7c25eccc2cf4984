"""Train, check and ship a bundle's default model: one command per bundle.

Usage::

    python scripts/train_release.py TASK --data DIR --data_name NAME --data_source SOURCE --data_licence LICENCE \
        [--iterations N] [--seed 0] [--work DIR] [--from_run RUN_DIR] [--bundles DIR] [--results DIR]

1. Trains the bundle's ``train.json`` with its defaults on ``DIR`` (``trainA/trainB``, selection on ``valA/valB``),
   or takes an existing run of those defaults (``--from_run``: a training output folder).
2. Ships the selected model as ``models/model.pt`` with ``models/model.json`` (every setting, plus what it was
   trained on: name, source, licence, the split and the training inputs' intensity percentiles, read back by
   inference to warn about unlike inputs) and ``models/model.ts`` (TorchScript, ``monai.bundle ckpt_export``).
3. Writes the golden pair ``models/golden/`` (a phantom the project writes, and the shipped model's translation of
   it through ``inference.json``) that the test suite translates again, and ``large_files.yml`` (model zoo format)
   with the files' sha256.
4. Evaluates the shipped model on ``DIR``'s test split with ``evaluate.json`` (beside the no-network baselines) and
   writes the record ``results/TASK/release.json`` (training data, command, commit, seed, budget, fidelity, margins).

Nothing is shipped when a step fails; a bundle's version must change when its shipped model does (the changelog
in ``scripts/bundlegen/versions.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import fire
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from benchmarking.records import RESULTS, provenance, write_record  # noqa: E402

#: the golden input: a phantom of this size and seed, written by the project itself
GOLDEN_SIZE, GOLDEN_SEED = 96, 1234


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def intensity_percentiles(folder: Path, limit: int = 8) -> list[float]:
    """The 1st, 50th and 99th percentiles of the raw intensities of up to ``limit`` images of ``folder``."""
    from common.data import list_images
    from common.io import load_image

    values = [np.asarray(load_image(f)[0], np.float64).ravel() for f in list_images(folder)[:limit]]
    pooled = np.concatenate([v[:: max(1, v.size // 200_000)] for v in values])
    return [float(q) for q in np.percentile(pooled, [1, 50, 99])]


def trained_iterations(run_dir: Path) -> int:
    """How many iterations a training run took (the last row of its ``losses.csv``)."""
    rows = (run_dir / "losses.csv").read_text().strip().splitlines()
    return int(rows[-1].split(",")[0])


def train(task: str, data: Path, out: Path, iterations: int | None, seed: int, bundles: Path) -> Path:
    from monai.bundle import run

    overrides = {"dataset_dir": str(data), "output_dir": str(out), "seed": int(seed)}
    if iterations:  # the bundles validate 8 times a run (every 250 of 2,000 iterations)
        overrides |= {"max_iterations": int(iterations), "val_interval": max(1, int(iterations) // 8)}
    run("training", config_file=str(bundles / task / "configs" / "train.json"), **overrides)
    return out


def golden(task: str, bundle: Path) -> Path:
    """Write the golden input (a phantom) and the shipped model's translation of it through ``inference.json``."""
    from monai.bundle import run

    from common.data import paired_test_items
    from common.phantoms import make_phantoms

    folder = bundle / "models" / "golden"
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        make_phantoms(task, tmp, n_train=1, n_test=1, size=GOLDEN_SIZE, seed=GOLDEN_SEED)
        source = paired_test_items(tmp)[0].A
        (folder / "input").mkdir(parents=True)
        shutil.copy2(source, folder / "input" / Path(source).name)
    run(
        config_file=str(bundle / "configs" / "inference.json"),
        bundle_root=str(bundle),
        dataset_dir=str(folder / "input"),
        output_dir=str(folder / "expected"),
    )
    return folder


def large_files(bundle: Path) -> Path:
    """``large_files.yml`` in the model zoo's format, each model file with its sha256."""
    lines = ["large_files:"]
    for name in ("model.pt", "model.ts"):
        path = bundle / "models" / name
        if path.exists():
            lines += [f'  - path: "models/{name}"', '    url: ""', f'    hash_val: "{sha256(path)}"']
            lines += ['    hash_type: "sha256"']
    target = bundle / "large_files.yml"
    target.write_text("\n".join(lines) + "\n")
    return target


def evaluate_shipped(bundle: Path, data: Path, out: Path) -> dict:
    from monai.bundle import run

    run(
        config_file=str(bundle / "configs" / "evaluate.json"),
        bundle_root=str(bundle),
        dataset_dir=str(data),
        output_dir=str(out),
        tracking_uri=None,
    )
    return json.loads((out / "summary.json").read_text())


def release(
    task: str,
    data: str,
    data_name: str,
    data_source: str,
    data_licence: str,
    iterations: int | None = None,
    seed: int = 0,
    work: str | None = None,
    from_run: str | None = None,
    bundles: str = str(ROOT / "bundles"),
    results: str = str(RESULTS),
) -> dict:
    """Train (or take ``from_run``), ship, check and record TASK's default model; returns the record."""
    bundles_path, data_path = Path(bundles), Path(data).resolve()
    bundle = bundles_path / task
    if not (bundle / "configs" / "train.json").is_file():
        raise SystemExit(f"error: {bundle}: not a bundle of this project")
    origin = provenance()
    work_path = Path(work or tempfile.mkdtemp(prefix=f"release_{task}_"))
    if from_run:
        run_dir = Path(from_run)
    else:
        run_dir = train(task, data_path, work_path / "train", iterations, seed, bundles_path)
    selected = run_dir / "best_model.pt"
    if not selected.is_file():
        raise SystemExit(f"error: {selected}: the run has no selected model")
    from common.methods import ModelSpec

    spec = ModelSpec.load(run_dir / "best_model.json")
    if spec.task != task:
        raise SystemExit(f"error: {run_dir}: trained for {spec.task}, not {task}")
    prepared = data_path / "prepared.json"
    training_data = {
        "name": data_name,
        "source": data_source,
        "licence": data_licence,
        "split": json.loads(prepared.read_text()) if prepared.is_file() else None,
        "a_percentiles": intensity_percentiles(data_path / "trainA"),
    }
    spec = spec.replace(training_data=training_data)
    models = bundle / "models"
    staged = Path(tempfile.mkdtemp(prefix="models_", dir=bundle))
    try:  # stage everything, then move into place: nothing half-shipped
        shutil.copy2(selected, staged / "model.pt")
        models.mkdir(exist_ok=True)
        spec.save(staged / "model.json")
        for name in ("model.pt", "model.json"):
            os.replace(staged / name, models / name)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    from monai.bundle import ckpt_export

    ckpt_export(
        "network_def",
        filepath=str(models / "model.ts"),
        ckpt_file=str(models / "model.pt"),
        key_in_ckpt="model",
        meta_file=str(bundle / "configs" / "metadata.json"),
        config_file=str(bundle / "configs" / "inference.json"),
        bundle_root=str(bundle),
    )
    golden(task, bundle)
    large_files(bundle)
    summary = evaluate_shipped(bundle, data_path, work_path / "evaluation")
    keep = ("psnr", "ssim", "pcc", "review_psnr", "review_ssim", "artefact")
    record = {
        "benchmark": "release",
        "task": task,
        "training_data": spec.training_data,
        "iterations": trained_iterations(run_dir),
        "seed": int(seed) if not from_run else spec.get("seed", seed),
        "model_bytes": (models / "model.pt").stat().st_size,
        "model_sha256": sha256(models / "model.pt"),
        "fidelity": {k: summary[k] for k in keep if k in summary},
        "baselines": {n: {k: s[k] for k in keep if k in s} for n, s in summary.get("baselines", {}).items()},
        "best_baseline": summary.get("best_baseline"),
        "headline": summary.get("headline"),
        "headline_over_baseline": summary.get("headline_over_baseline"),
        "pcc_over_baseline": summary.get("pcc_over_baseline"),
        "provenance": origin | {"from_run": str(from_run) if from_run else None},
    }
    write_record(task, "release", record, results)
    print(json.dumps({k: record[k] for k in ("fidelity", "best_baseline", "headline_over_baseline")}, indent=1))
    return record


if __name__ == "__main__":
    fire.Fire(release)
