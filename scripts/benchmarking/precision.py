"""``benchmark.py precision``: bf16 autocast against fp32 on the phantoms, paired by seed, against the fp32
seed-to-seed spread."""

from __future__ import annotations

import json
import statistics
import tempfile
from datetime import date
from pathlib import Path

from benchmarking.fidelity import default_methods, fidelity
from benchmarking.shared import check_flags, machine_line, publish

#: metrics of the precision comparison, in order, where the task has them
PRECISION_METRICS = ("psnr", "ssim", "pcc", "f1", "distance", "trace_pcc")


def precision(
    tasks: str | tuple = "calcium,denoising",
    seeds: str | int | tuple = "0,1,2",
    methods: str | tuple | None = None,
    iterations: int = 300,
    patch: int = 64,
    phantom_size: int = 96,
    out: str | None = None,
    threads: int = 2,
    append: str | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
) -> str:
    """bf16 autocast against fp32 on the phantoms, paired by seed (the seed sets the phantoms and the
    initialisation): ``fidelity`` of each task, seed and precision (runs whose table exists under ``OUT`` are
    reused), then one table per task: per method and metric the fp32 and bf16 means and standard deviations over
    seeds, and the mean paired difference against the seed-to-seed standard deviation of fp32."""
    check_flags(track=track)
    task_list = tasks.split(",") if isinstance(tasks, str) else list(tasks)
    seed_list = [int(x) for x in (seeds if isinstance(seeds, (list, tuple)) else str(seeds).split(","))]
    root = Path(out or tempfile.mkdtemp(prefix="precision_"))
    tables = []
    for task in task_list:
        names = (
            default_methods(task)
            if methods is None
            else (methods.split(",") if isinstance(methods, str) else list(methods))
        )
        results: dict[tuple[str, str, int], dict] = {}
        for seed in seed_list:
            for amp in (False, True):
                run = root / ("amp" if amp else "noamp") / f"seed{seed}"
                if not (run / task / "fidelity.md").exists():
                    settings = {"iterations": iterations, "patch": patch, "out": str(run), "amp": amp, "seed": seed}
                    settings |= {"threads": threads, "phantom_size": phantom_size, "small": True}
                    fidelity(task, names, track=track, tracking_uri=tracking_uri, **settings)
                for name in names:
                    summary = run / task / name / "evaluation" / "summary.json"
                    results[(name, "bf16" if amp else "fp32", seed)] = json.loads(summary.read_text())
        tables.append(_precision_table(task, names, seed_list, results, iterations, patch, threads))
    text = "\n".join(tables)
    params = {"tasks": ",".join(task_list), "seeds": ",".join(map(str, seed_list)), "iterations": iterations}
    publish(text, append, "precision", [("bf16 vs fp32", params | {"patch": patch}, {})], track, tracking_uri)
    return text


def _precision_table(task, names, seeds, results, iterations, patch, threads) -> str:
    present = [m for m in PRECISION_METRICS if all(m in r for r in results.values())]
    lines = [
        f"### bf16 autocast vs fp32, `{task}` phantoms, seeds {', '.join(map(str, seeds))} "
        f"({date.today().isoformat()})",
        "",
        f"Each method trained {iterations} iterations at {patch}x{patch} (the cpu-quick settings, networks narrowed as "
        f"there), once per seed and precision; the seed sets both the phantoms and the initialisation. Machine: "
        f"{machine_line(threads)}. Per cell: mean (standard deviation) over seeds of the per-run medians; diff: mean "
        "paired difference bf16 - fp32; noise: the seed-to-seed standard deviation of fp32.",
        "",
        "| method | metric | fp32 | bf16 | diff | noise | per seed fp32 / bf16 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        for metric in present:
            fp32 = [results[(name, "fp32", s)][metric] for s in seeds]
            bf16 = [results[(name, "bf16", s)][metric] for s in seeds]
            diff = statistics.mean(b - a for a, b in zip(fp32, bf16, strict=True))
            noise = statistics.stdev(fp32) if len(fp32) > 1 else float("nan")
            per_seed = ", ".join(f"{a:.3g}/{b:.3g}" for a, b in zip(fp32, bf16, strict=True))
            lines.append(
                f"| {name} | {metric} | {statistics.mean(fp32):.3g} ({noise:.2g}) | {statistics.mean(bf16):.3g} "
                f"({statistics.stdev(bf16) if len(bf16) > 1 else float('nan'):.2g}) | {diff:+.3g} | {noise:.2g} "
                f"| {per_seed} |"
            )
    return "\n".join(lines) + "\n"
