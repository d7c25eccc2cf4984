"""``benchmark.py speed``: training-step time of each method at the bundles' settings (median of timed steps after
a warm-up, data-wait share, peak memory).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from datetime import date
from pathlib import Path

from benchmarking.records import RESULTS, provenance, write_record
from benchmarking.shared import (
    bundle_settings,
    check_flags,
    machine_line,
    peak_rss_gib,
    publish,
    reset_peak_rss,
    rows_as_runs,
    step_timer,
)


def speed(
    task: str = "calcium",
    methods: str | tuple = "stable,cyclegan,ui2i,cut,fastcut,utom",
    iterations: int = 6,
    threads: int = 2,
    amp: bool = False,
    patch: int | None = None,
    channels_last: bool = False,
    device: str = "cpu",
    append: str | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
    record: bool = True,
    results: str | None = None,
) -> list[dict]:
    """Measure training s/iteration per method; print a Markdown table (append it to ``append``, log it to
    MLflow) and, with ``record``, write the result record ``RESULTS/TASK/speed_PRECISION_PATCHpx_DEVICE.json``
    (``results`` defaults to the project's ``results`` folder). Per method: median, min and max s/iteration, A+B
    pairs per second, the share of the step spent waiting for data, peak resident memory of that method's run and,
    on a GPU, its peak GPU memory."""
    check_flags(amp=amp, channels_last=channels_last, track=track)
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
    cuda = torch.device(device).type == "cuda"
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
            _, hyper, _ = bundle_settings(task, name)
            method = make_method(name, config["spatial_dims"], config["channels_a"], config["channels_b"], hyper)
            opt_g, opt_d = method.make_optimizers()
            sampler = StreamSampler(iterations)
            loader = DataLoader(data, batch_size=1, sampler=sampler)
            trainer = UnpairedTrainer(
                device, iterations, loader, method, opt_g, opt_d, sampler=sampler, amp=amp, channels_last=channels_last
            )
            marks: dict[str, list[float]] = {"start": [], "end": [], "data0": [], "data1": []}
            for event, key in (
                (Events.ITERATION_STARTED, "start"),
                (Events.ITERATION_COMPLETED, "end"),
                (Events.GET_BATCH_STARTED, "data0"),
                (Events.GET_BATCH_COMPLETED, "data1"),
            ):
                trainer.add_event_handler(event, step_timer(marks[key], cuda))
            reset_peak_rss()
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
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
                    "pairs_per_s": 1.0 / statistics.median(steps),
                    "data_share": sum(waits) / sum(steps),
                    "peak_rss_gib": peak_rss_gib(),
                    "peak_gpu_gib": torch.cuda.max_memory_allocated(device) / 1024**3 if cuda else float("nan"),
                    "g_params_M": params,
                }
            )
            del trainer, method, opt_g, opt_d
            print(f"{name}: {rows[-1]['median_s']:.3f} s/it", flush=True)
    settings = f"{'bf16 autocast' if amp else 'fp32'}{', channels-last' if channels_last else ''}"
    header = (
        f"### Training speed, `{task}` defaults, {size}x{size}, batch 1, {settings}, {device} "
        f"({date.today().isoformat()})\n\n"
        f"Machine: {machine_line(threads)}; {iterations} iterations per method, first one dropped; peak RSS: "
        "of each method's run (Linux VmHWM, reset before it).\n"
        f"Command: `python scripts/benchmark.py speed --task {task} --methods {','.join(names)} --iterations "
        f"{iterations} --threads {threads}{' --amp' if amp else ''}{' --channels_last' if channels_last else ''}"
        f"{f' --patch {patch}' if patch else ''}{f' --device {device}' if device != 'cpu' else ''}`\n\n"
        "| method | s/iteration (median) | min | max | A+B pairs/s | data wait share | peak RSS (GiB) "
        + ("| peak GPU memory (GiB) " if cuda else "")
        + "| generator-side params (M) |\n"
        + "|---" * (8 + cuda)
        + "|\n"
    )
    table = header + "".join(
        f"| {r['method']} | {r['median_s']:.2f} | {r['min_s']:.2f} | {r['max_s']:.2f} | {r['pairs_per_s']:.2f} "
        f"| {r['data_share']:.1%} | {r['peak_rss_gib']:.2f} "
        + (f"| {r['peak_gpu_gib']:.2f} " if cuda else "")
        + f"| {r['g_params_M']:.2f} |\n"
        for r in rows
    )
    common_params = {"task": task, "patch": size, "iterations": iterations, "threads": threads, "amp": amp}
    common_params |= {"channels_last": channels_last, "device": device, "machine": machine_line(threads)}
    publish(table, append, "speed", rows_as_runs(rows, common_params), track, tracking_uri)
    if record:
        precision = settings.replace(", ", " ").replace(" autocast", "")
        name = f"speed_{precision.replace(' ', '_')}_{size}px_{torch.device(device).type}"
        write_record(
            task,
            name,
            {
                "benchmark": "speed",
                "task": task,
                "patch": size,
                "precision": settings,
                "iterations": iterations,
                "rows": [{k: None if v != v else v for k, v in r.items()} for r in rows],  # NaN: no GPU
                "provenance": provenance(threads),
            },
            results or RESULTS,
        )
    return rows
