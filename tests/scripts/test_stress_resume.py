"""Training killed with SIGKILL at random iterations and restarted with the same command ends where an
uninterrupted run ends, with loadable checkpoints at every point and one MLflow run."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "stress_resume.py"


def test_two_kills_are_survived(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--kills",
        "2",
        "--max_iterations",
        "10",
        "--out",
        str(tmp_path / "run"),
        "--tracking_uri",
        f"sqlite:///{tmp_path / 'mlruns.db'}",
        "--seed",
        "3",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["kills_survived"] == 2 and summary["final_iteration"] == 10
    assert summary["loss_log_complete"] and summary["model_loads"] and summary["checkpoints_verified"] >= 3
    assert summary["mlflow_runs"] == 1 and summary["mlflow_status"] == ["FINISHED"]
