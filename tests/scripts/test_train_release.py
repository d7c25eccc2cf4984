"""The release command ships a bundle's model with its golden pair, hashes and record, and the shipped model is
what inference uses without arguments. ``check_shipped`` is the check every shipped bundle model passes in CI."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.parent.parent.name for p in (ROOT / "bundles").glob("*/models/model.pt"))


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _large_files(path: Path) -> list[dict]:
    """The entries of a model-zoo ``large_files.yml`` (the flat form the release command writes)."""
    entries: list[dict] = []
    for line in path.read_text().splitlines()[1:]:
        key, _, value = line.strip().removeprefix("- ").partition(": ")
        if line.strip().startswith("- "):
            entries.append({})
        entries[-1][key] = value.strip('"')
    return entries


def check_shipped(bundle: Path, tmp_path: Path) -> None:
    """A shipped model: its files match ``large_files.yml``; ``model.json`` says what it was trained on; inference
    without a checkpoint argument reproduces the golden translation; TorchScript matches eager on the golden input;
    the metadata's channels are the model's."""
    from monai.bundle import run

    from common.engines import load_model_weights
    from common.io import load_image
    from common.methods import ModelSpec

    listed = _large_files(bundle / "large_files.yml")
    assert {e["path"] for e in listed} == {"models/model.pt", "models/model.ts"}
    for entry in listed:
        assert entry["hash_type"] == "sha256" and _sha256(bundle / entry["path"]) == entry["hash_val"], entry["path"]
    spec = json.loads((bundle / "models" / "model.json").read_text())
    assert spec["task"] == bundle.name and {"name", "source", "licence", "a_percentiles"} <= set(spec["training_data"])
    golden = bundle / "models" / "golden"
    out = tmp_path / f"golden_{bundle.name}"
    run(config_file=str(bundle / "configs" / "inference.json"), bundle_root=str(bundle),
        dataset_dir=str(golden / "input"), output_dir=str(out))  # fmt: skip
    expected = sorted((golden / "expected").iterdir())
    assert [p.name for p in sorted(out.iterdir())] == [p.name for p in expected]
    for path in expected:
        want, got = np.asarray(load_image(path)[0], np.float64), np.asarray(load_image(out / path.name)[0], np.float64)
        span = max(float(want.max() - want.min()), 1e-6)
        assert want.shape == got.shape and float(np.abs(want - got).max()) <= 1e-4 * span, path.name
    eager = load_model_weights(
        ModelSpec.load(bundle / "models" / "model.pt").build_generator(), bundle / "models" / "model.pt"
    )
    scripted = torch.jit.load(str(bundle / "models" / "model.ts"))
    x = torch.rand(1, int(spec["channels_a"]), *([64] * int(spec["spatial_dims"])))
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), eager.eval()(x), atol=1e-4, rtol=1e-4)
    formats = json.loads((bundle / "configs" / "metadata.json").read_text())["network_data_format"]
    assert formats["inputs"]["image"]["num_channels"] == spec["channels_a"]
    assert formats["outputs"]["pred"]["num_channels"] == spec["channels_b"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_reproduce_their_golden_translation(name, tmp_path):
    check_shipped(ROOT / "bundles" / name, tmp_path)


def test_release_ships_checks_and_records_a_model(tmp_path):
    bundles = tmp_path / "bundles"
    shutil.copytree(ROOT / "bundles" / "denoising", bundles / "denoising")
    for stale in ("models/model.pt", "models/model.json", "models/model.ts", "large_files.yml"):
        (bundles / "denoising" / stale).unlink(missing_ok=True)
    shutil.rmtree(bundles / "denoising" / "models" / "golden", ignore_errors=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    data = tmp_path / "data"
    make = [sys.executable, str(ROOT / "scripts" / "make_phantoms.py"), "denoising", "--out", str(data)]
    subprocess.run(make + ["--n_train", "2", "--n_test", "1", "--size", "64"], check=True, env=env, timeout=300)
    cmd = [sys.executable, str(ROOT / "scripts" / "train_release.py"), "denoising", "--data", str(data)]
    cmd += ["--data_name", "denoising phantoms", "--data_source", "common.phantoms", "--data_licence", "Apache-2.0"]
    cmd += ["--iterations", "4", "--work", str(tmp_path / "work"), "--bundles", str(bundles)]
    cmd += ["--results", str(tmp_path / "results")]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    bundle = bundles / "denoising"
    check_shipped(bundle, tmp_path)
    record = json.loads((tmp_path / "results" / "denoising" / "release.json").read_text())
    assert record["benchmark"] == "release" and record["iterations"] == 4 and record["seed"] == 0
    assert record["model_sha256"] == _sha256(bundle / "models" / "model.pt")
    assert record["best_baseline"] in record["baselines"] and set(record["baselines"]) == {"input", "histogram", "blur"}
    assert record["training_data"]["licence"] == "Apache-2.0" and record["provenance"]["threads"] >= 1
    assert np.isfinite(record["fidelity"]["review_psnr"]) and record["headline_over_baseline"] is not None
    sys.path.insert(0, str(ROOT / "scripts"))
    from benchmarking.records import bundle_table, render

    table = bundle_table(record)
    assert "| shipped model |" in table and f"| {record['best_baseline']} **(best baseline)** |" in table
    assert "## Shipped models" in render([record]) and "denoising phantoms (common.phantoms" in table
    # a run of another task is refused, and nothing shipped changes
    before = _sha256(bundle / "models" / "model.pt")
    wrong = [*cmd[:2], "calcium", *cmd[3:], "--from_run", str(tmp_path / "work" / "train")]
    (bundles / "calcium").mkdir()
    shutil.copytree(ROOT / "bundles" / "calcium" / "configs", bundles / "calcium" / "configs")
    done = subprocess.run(wrong, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode != 0 and "trained for denoising, not calcium" in done.stderr
    assert _sha256(bundle / "models" / "model.pt") == before
