"""A bundle folder copied out of the project trains and infers on its own (MONAI Label, Deploy and the model
zoo move bundles around): its configs find their folder, and write nothing into the project's copy."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common.io import load_image

ROOT = Path(__file__).resolve().parents[2]


def _bundle(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | {"OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "monai.bundle", "run", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=cwd)


def test_a_copied_bundle_trains_and_infers_in_its_own_folder(tmp_path, quick_bundle, as_cli):
    copy = tmp_path / "elsewhere" / "calcium"
    shutil.copytree(ROOT / "bundles" / "calcium", copy, ignore=shutil.ignore_patterns("output", "*.pt", "*.ts"))
    project_output = ROOT / "bundles" / "calcium" / "output"
    before = sorted(project_output.rglob("*")) if project_output.exists() else []
    overrides = as_cli(quick_bundle("cyclegan", max_iterations=2, method="cyclegan"))
    track = ["--tracking", "mlflow"]
    done = _bundle("training", "--config_file", str(copy / "configs" / "train.json"), *overrides, *track, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (copy / "mlruns.db").is_file()  # the copy's own MLflow store, not one inside the installed package
    out = copy / "output"
    assert (out / "model.pt").is_file() and (out / "phantoms" / "testA").is_dir()  # bundle_root is the copy
    assert json.loads((out / "model.json").read_text())["method"] == "cyclegan"
    for name in ("model.pt", "model.json"):
        shutil.copy(out / name, copy / "models" / name)

    # inference from inside the bundle folder with a relative --config_file, on the phantoms of the copy
    done = _bundle("--config_file", "configs/inference.json", cwd=copy)
    assert done.returncode == 0, done.stderr[-3000:]
    inputs = sorted((out / "phantoms" / "testA").iterdir())
    translated = sorted((out / "translated").iterdir())
    assert [p.name for p in translated] == [p.name for p in inputs]
    assert load_image(translated[0]).shape == load_image(inputs[0]).shape
    after = sorted(project_output.rglob("*")) if project_output.exists() else []
    assert after == before  # nothing written into the project's bundle
