"""Benchmarks (fire). ``speed``: training seconds per iteration of each method at a bundle's default settings.

Usage::

    python scripts/benchmark.py speed --task calcium [--methods stable,cyclegan] [--iterations 6] [--threads 2]
        [--amp] [--patch 256] [--append BENCHMARKS.md]

Each method is built from the bundle's ``train.json`` (its ``hyperparameters`` for that method) and trained by the
project's ``UnpairedTrainer`` on the task's phantoms at batch size 1. The first iteration is a warm-up; the
median, min and max of the others are reported, with the share of each step spent waiting for data and the
process's peak resident memory. Thread count, machine and versions are printed with the table.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import fire


def speed(
    task: str = "calcium",
    methods: str | tuple = "stable,cyclegan,ui2i,cut,fastcut,utom",
    iterations: int = 6,
    threads: int = 2,
    amp: bool = False,
    patch: int | None = None,
    append: str | None = None,
) -> list[dict]:
    """Measure training s/iteration per method; print a Markdown table (and append it to ``append``)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch
    from ignite.engine import Events
    from monai.data import DataLoader

    import common
    from common.data import StreamSampler, make_unpaired_dataset
    from common.engines import UnpairedTrainer
    from common.methods import make_method
    from common.phantoms import make_phantoms

    torch.set_num_threads(threads)
    config = json.loads((Path(common.PROJECT_ROOT) / "bundles" / task / "configs" / "train.json").read_text())
    size = int(patch or config["patch_size"][0])
    names = methods.split(",") if isinstance(methods, str) else list(methods)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        make_phantoms(task, tmp, n_train=2, n_test=1, size=size, seed=0)
        for name in names:
            data = make_unpaired_dataset(
                tmp,
                patch_size=[size] * config["spatial_dims"],
                spatial_dims=config["spatial_dims"],
                normalization_a=config["normalization_a"],
                normalization_b=config["normalization_b"],
                length=iterations,
                seed=0,
            )
            method = make_method(
                name,
                config["spatial_dims"],
                config["channels_a"],
                config["channels_b"],
                config["hyperparameters"][name],
            )
            opt_g, opt_d = method.make_optimizers()
            sampler = StreamSampler(iterations)
            loader = DataLoader(data, batch_size=1, sampler=sampler)
            trainer = UnpairedTrainer("cpu", iterations, loader, method, opt_g, opt_d, sampler=sampler, amp=amp)
            marks: dict[str, list[float]] = {"start": [], "end": [], "data0": [], "data1": []}
            for event, key in (
                (Events.ITERATION_STARTED, "start"),
                (Events.ITERATION_COMPLETED, "end"),
                (Events.GET_BATCH_STARTED, "data0"),
                (Events.GET_BATCH_COMPLETED, "data1"),
            ):
                trainer.add_event_handler(event, _stamp(marks[key]))
            trainer.run()
            steps = [e - s for s, e in zip(marks["data0"], marks["end"], strict=False)][1:]
            waits = [e - s for s, e in zip(marks["data0"], marks["data1"], strict=False)][1:]
            params = sum(p.numel() for p in method.generator_parameters()) / 1e6
            rows.append(
                {
                    "method": name,
                    "median_s": statistics.median(steps),
                    "min_s": min(steps),
                    "max_s": max(steps),
                    "data_share": sum(waits) / sum(steps),
                    "g_params_M": params,
                }
            )
            print(f"{name}: {rows[-1]['median_s']:.3f} s/it", flush=True)
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    header = (
        f"### Training speed, `{task}` defaults, {size}x{size}, batch 1, {'bf16 autocast' if amp else 'fp32'} "
        f"({date.today().isoformat()})\n\n"
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{threads} threads (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}); {iterations} iterations per "
        f"method, first one dropped; peak RSS of the whole benchmark process {peak_gib:.1f} GiB.\n"
        f"Command: `python scripts/benchmark.py speed --task {task} --iterations {iterations} --threads {threads}"
        f"{' --amp' if amp else ''}{f' --patch {patch}' if patch else ''}`\n\n"
        "| method | s/iteration (median) | min | max | data wait share | generator-side params (M) |\n"
        "|---|---|---|---|---|---|\n"
    )
    table = header + "".join(
        f"| {r['method']} | {r['median_s']:.2f} | {r['min_s']:.2f} | {r['max_s']:.2f} | {r['data_share']:.1%} "
        f"| {r['g_params_M']:.2f} |\n"
        for r in rows
    )
    print("\n" + table)
    if append:
        with open(append, "a") as fh:
            fh.write("\n" + table)
    return rows


def _stamp(times: list[float]):
    """An event handler appending the current time to ``times``."""

    def handler(engine) -> None:
        times.append(time.perf_counter())

    return handler


if __name__ == "__main__":
    fire.Fire({"speed": speed})
