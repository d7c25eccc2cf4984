import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_phantoms.py"


def _run(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_writes_a_dataset_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "cal"
    done = _run("calcium", "--out", str(out), "--n_train", "2", "--n_test", "1", "--size", "32", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "calcium:" in done.stdout and "trainA 2" in done.stdout
    assert len(list((out / "trainA").glob("*.tif"))) == 2 and (out / "testA_traces").is_dir()
    again = _run("calcium", "--out", str(out))
    assert again.returncode != 0 and "already holds a phantom data set" in again.stderr
    bad = _run("not_a_task", "--out", str(tmp_path / "x"))
    assert bad.returncode != 0 and "unknown phantom task" in bad.stderr and "Traceback" not in bad.stderr
