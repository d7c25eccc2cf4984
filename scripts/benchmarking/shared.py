"""Shared pieces of the benchmarks: flag checks, timers, peak memory, the machine line of every table, the bundle
settings a benchmark builds its method from, and publishing a table (print, append to a Markdown file, MLflow).
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from pathlib import Path


def rows_as_runs(rows: list[dict], params: dict) -> list[tuple[str, dict, dict]]:
    """Table rows (dicts with a ``method`` key) as MLflow runs: the method's name, the shared parameters plus the
    method, and every numeric entry as a metric."""
    return [
        (
            r["method"],
            params | {"method": r["method"]},
            {k: v for k, v in r.items() if k != "method" and isinstance(v, (int, float))},
        )
        for r in rows
    ]


def check_flags(**flags) -> None:
    """Refuse non-boolean switches: fire passes ``--amp false`` as the (truthy) string ``"false"``."""
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be true or false, got {value!r}; on the command line: --{flag} / --no{flag}")


def step_timer(times: list[float], synchronize: bool = False):
    """An event handler appending the current time to ``times`` (after a CUDA synchronisation if asked)."""

    def handler(engine) -> None:
        if synchronize:
            import torch

            torch.cuda.synchronize()
        times.append(time.perf_counter())

    return handler


def machine_line(threads: int) -> str:
    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')})"
    )


#: the MLflow experiment every benchmark run is logged to
EXPERIMENT = "benchmarks"


def default_tracking_uri() -> str:
    import common

    return "sqlite:///" + os.path.join(common.PROJECT_ROOT, "mlflow", "mlruns.db")


def log_to_mlflow(
    kind: str, table: str, runs: list[tuple[str, dict, dict]], tracking_uri: str | None = None
) -> list[str]:
    """Log a benchmark to MLflow, experiment ``benchmarks``: one run per row (``(name, params, metrics)``), tagged
    ``benchmark=kind``, each with the whole Markdown table as the artifact ``KIND.md``, so that rows can be
    compared side by side in the MLflow UI. ``tracking_uri`` defaults to the project's store
    (``mlflow/mlruns.db``); artifacts of a SQLite store go to ``mlruns/`` beside the database. Returns run ids."""
    import math
    import re

    from mlflow.entities import Metric, Param

    from common.engines.mlflow_logging import experiment_id
    from mlflow import MlflowClient

    uri = tracking_uri or default_tracking_uri()
    client = MlflowClient(uri)
    experiment = experiment_id(client, EXPERIMENT, uri)
    stamp = int(time.time() * 1000)
    ids = []
    for name, params, metrics in runs:
        run_id = client.create_run(experiment, run_name=f"{kind} {name}", tags={"benchmark": kind}).info.run_id
        finite = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)}
        client.log_batch(
            run_id,
            metrics=[Metric(re.sub(r"[^\w\-. /:]", "_", k), v, stamp, 0) for k, v in finite.items()],
            params=[Param(k, str(v)[:6000]) for k, v in params.items()],
        )
        client.log_text(run_id, table, f"{kind}.md")
        client.set_terminated(run_id)
        ids.append(run_id)
    return ids


def publish(
    table: str, append: str | None, kind: str, runs: list[tuple[str, dict, dict]], track: bool, tracking_uri
) -> None:
    """Print a table, append it to ``append`` and log it to MLflow (unless ``track`` is False)."""
    print("\n" + table)
    if append:
        with open(append, "a") as fh:
            fh.write("\n" + table)
    if track:
        log_to_mlflow(kind, table, runs, tracking_uri)


def reset_peak_rss() -> None:
    """Reset this process's peak resident set size (Linux ``clear_refs``; elsewhere a no-op)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_gib() -> float:
    """Peak resident set size since the last :func:`reset_peak_rss` (Linux ``VmHWM``; else the process peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bundle_settings(task: str, name: str) -> tuple[dict, dict, dict]:
    """The task's raw ``train.json`` and the method's hyper-parameters and add-ons resolved as the bundle resolves
    them (run-relative entries such as ``"$@max_iterations // 10"`` become numbers)."""
    from monai.bundle import ConfigParser

    import common

    parser = ConfigParser()
    parser.read_config(Path(common.PROJECT_ROOT) / "bundles" / task / "configs" / "train.json")
    hyper = parser.get_parsed_content(f"hyperparameters#{name}", instantiate=False)
    addons = parser.get_parsed_content("addons", instantiate=False)
    return parser.get(), dict(hyper), dict(addons)


def task_method(task: str, name: str, patch: int | None = None):
    from common.methods import make_method

    config, hyper, addons = bundle_settings(task, name)
    method = make_method(name, config["spatial_dims"], config["channels_a"], config["channels_b"], hyper, addons)
    size = int(patch or config["patch_size"][0])
    return method, config, size
