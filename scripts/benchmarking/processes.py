"""Run benchmark jobs as single-thread processes, ``parallel`` at a time (two single-thread processes use a 2-core
machine best; a job in its own process cannot disturb another's thread settings or memory)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["Job", "run_jobs"]

#: one job: its command line, the log file of its output, its name in progress messages
Job = tuple[Sequence[str], Path, str]


def run_jobs(jobs: Sequence[Job], parallel: int = 2, poll_s: float = 5.0) -> list[int]:
    """Run ``jobs`` with ``OMP_NUM_THREADS=1``, at most ``parallel`` at once, printing when each starts and ends;
    the exit codes, in job order."""
    queue = list(enumerate(jobs))
    codes = [0] * len(queue)
    running: list[tuple[subprocess.Popen, int, float]] = []
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    while queue or running:
        while queue and len(running) < int(parallel):
            index, (command, log_path, name) = queue.pop(0)
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            log = open(log_path, "w")  # noqa: SIM115 (closed when the process ends)
            running.append((subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT, env=env), index,
                            time.time()))  # fmt: skip
            print(f"started {name}", flush=True)
        time.sleep(poll_s)
        for proc, index, began in list(running):
            if proc.poll() is not None:
                running.remove((proc, index, began))
                codes[index] = proc.returncode
                _, log_path, name = jobs[index]
                state = "done" if proc.returncode == 0 else f"FAILED (exit {proc.returncode}, see {log_path})"
                print(f"{name}: {state} after {time.time() - began:.0f} s", flush=True)
    return codes
