"""Kill training at random iterations and restart it with the same command, to show that no kill costs the run.

Usage::

    python scripts/stress_resume.py [--task calcium] [--kills 10] [--max_iterations 60] [--out DIR] [--seed 0]
        [--tracking_uri sqlite:///DIR/mlruns.db] [--fast true]

Each round starts ``python -m monai.bundle run training`` as a subprocess, waits until it has completed a random
number of further iterations, sends SIGKILL, and checks that every checkpoint left behind loads (weights only).
Finally it runs the same command to completion and checks: the last iteration is ``max_iterations``, the loss log
holds each iteration exactly once, and the MLflow store holds one run for it (continued, not one per restart).
Prints a JSON summary. ``--fast`` uses tiny networks and 32 px patches (for tests).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import fire
import torch

import common
from common.engines import latest_checkpoint, read_loss_log

FAST = {
    "patch_size": "[32,32]",
    "val_size": "[32,32]",
    "phantom_size": "32",
    "val_interval": "4",
    "checkpoint_interval": "2",
    "sample_interval": "1000",
    "epoch_length": "5",
    "hyperparameters#stable#channels": "[4,8]",
    "hyperparameters#stable#ndf": "8",
}


def _rows(path: Path) -> int:
    try:
        return max(0, sum(1 for _ in open(path)) - 1)
    except FileNotFoundError:
        return 0


def _verify_checkpoints(folder: Path) -> int:
    count = 0
    for path in sorted(p for p in folder.glob("*.pt") if not p.name.startswith(".")):  # not in-flight temporaries
        state = torch.load(path, map_location="cpu", weights_only=True)
        if "trainer" not in state or "method" not in state:
            raise RuntimeError(f"{path}: incomplete checkpoint")
        count += 1
    return count


def main(
    task: str = "calcium",
    kills: int = 10,
    max_iterations: int = 60,
    out: str = "stress_output",
    seed: int = 0,
    tracking_uri: str | None = None,
    fast: bool = True,
    timeout: float = 600.0,
) -> dict:
    """Run the kill/restart loop and print the summary (JSON)."""
    out_dir = Path(out).resolve()
    config = Path(common.PROJECT_ROOT) / "bundles" / task / "configs" / "train.json"
    cmd = [
        sys.executable,
        "-m",
        "monai.bundle",
        "run",
        "training",
        "--config_file",
        str(config),
        "--output_dir",
        str(out_dir),
        "--max_iterations",
        str(max_iterations),
    ]
    for key, value in (FAST if fast else {}).items():
        cmd += [f"--{key}", value]
    if tracking_uri:
        cmd += ["--tracking", "mlflow", "--tracking_uri", tracking_uri]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    rng = random.Random(seed)
    log = out_dir / "losses.csv"
    out_dir.mkdir(parents=True, exist_ok=True)
    survived, kill_points, verified = 0, [], 0
    for round_ in range(int(kills)):
        done = _rows(log)
        if done >= max_iterations - 1:
            break
        target = min(max_iterations - 1, done + rng.randint(1, max(1, max_iterations // (kills + 1))))
        with open(out_dir / f"round_{round_:02d}.log", "w") as stream:
            proc = subprocess.Popen(cmd, stdout=stream, stderr=subprocess.STDOUT, env=env)
            start = time.monotonic()
            while proc.poll() is None and _rows(log) < target and time.monotonic() - start < timeout:
                time.sleep(0.02)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                survived += 1
                kill_points.append(_rows(log))
            elif proc.returncode != 0:
                raise RuntimeError(f"training failed in round {round_}; see {out_dir / f'round_{round_:02d}.log'}")
        verified += _verify_checkpoints(out_dir / "checkpoints")
    with open(out_dir / "final.log", "w") as stream:
        final = subprocess.run(cmd, stdout=stream, stderr=subprocess.STDOUT, env=env, timeout=timeout)
    if final.returncode != 0:
        raise RuntimeError(f"the final run failed; see {out_dir / 'final.log'}")
    verified += _verify_checkpoints(out_dir / "checkpoints")
    last = torch.load(latest_checkpoint(out_dir / "checkpoints"), map_location="cpu", weights_only=True)
    iterations = [int(r["iteration"]) for r in read_loss_log(log)]
    summary = {
        "kills_survived": survived,
        "killed_after_iterations": kill_points,
        "final_iteration": int(last["trainer"]["iteration"]),
        "loss_log_complete": iterations == list(range(1, max_iterations + 1)),
        "checkpoints_verified": verified,
        "model_loads": "model" in torch.load(out_dir / "model.pt", map_location="cpu", weights_only=True),
    }
    if tracking_uri:
        import mlflow

        client = mlflow.MlflowClient(tracking_uri)
        experiment = client.get_experiment_by_name(task)
        runs = client.search_runs([experiment.experiment_id]) if experiment else []
        summary["mlflow_runs"] = len(runs)
        summary["mlflow_status"] = [r.info.status for r in runs]
    print(json.dumps(summary))


if __name__ == "__main__":
    fire.Fire(main)
