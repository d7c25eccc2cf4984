"""``benchmark.py speedups``: training-step time under each speed setting (bf16 autocast, channels-last, fused
Adam, compile), alternated over rounds so that drifts of a shared machine hit all.
"""

from __future__ import annotations

import os
import statistics
from datetime import date

from benchmarking.flops import attainable_flops
from benchmarking.overhead import engine_loop, random_batches
from benchmarking.shared import check_flags, machine_line, publish, task_method

#: the engine's speed settings, each measured against the reference settings (fp32, Adam's per-parameter loop)
SPEED_SETTINGS = {
    "reference: fp32 + Adam loop": {},
    "fused Adam": {"fused": True},
    "bf16 autocast": {"amp": True},
    "bf16 autocast + fused Adam": {"amp": True, "fused": True},
    "bf16 + fused + channels-last": {"amp": True, "fused": True, "channels_last": True},
    "bf16 + fused + torch.compile": {"amp": True, "fused": True, "compile": True},
}


def speedups(
    task: str = "calcium",
    method: str = "cyclegan",
    patch: int = 256,
    iterations: int = 4,
    rounds: int = 2,
    threads: int = 2,
    settings: str | tuple | None = None,
    matmul_size: int = 2048,
    append: str | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
) -> str:
    """Before/after of each speed setting (``SPEED_SETTINGS``; a comma-separated subset by name with
    ``settings``) on one method with the bundle's networks, trained by the engine on the same pre-made batches.
    Settings alternate over ``rounds`` (fresh networks, seed 0, each time) so that drifts of this shared machine
    hit all; the first iteration of each run (warm-up; with torch.compile, the compilation) is reported apart."""
    check_flags(track=track)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    torch.set_num_threads(threads)
    chosen = (
        list(SPEED_SETTINGS)
        if settings is None
        else (settings.split(",") if isinstance(settings, str) else list(settings))
    )
    unknown = [c for c in chosen if c not in SPEED_SETTINGS]
    if unknown:
        raise ValueError(f"unknown settings {unknown}; choose from {list(SPEED_SETTINGS)}")
    _, config, size = task_method(task, method, patch)
    batches = random_batches(int(config["channels_a"]), int(config["channels_b"]), size, iterations + 1)
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    counter = FlopCounterMode(display=False)
    with counter:  # one training iteration through the engine, fp32
        engine_loop(task_method(task, method, patch)[0], batches[:1])
    flop = counter.get_total_flops()
    peak = attainable_flops(threads, matmul_size)
    steps: dict[str, list[float]] = {c: [] for c in chosen}
    first: dict[str, list[float]] = {c: [] for c in chosen}
    refused: dict[str, str] = {}
    for _ in range(rounds):
        for name in chosen:
            if name in refused:
                continue
            torch.manual_seed(0)
            net, _, _ = task_method(task, method, patch)
            try:
                times = engine_loop(net, batches, **SPEED_SETTINGS[name])
            except ValueError as error:  # e.g. channels-last refused for instance-norm networks
                refused[name] = str(error).split(":")[0]
                continue
            first[name].append(times[0])
            steps[name] += times[1:]
            print(f"{name}: {statistics.median(times[1:]):.3f} s/it", flush=True)
    reference = statistics.median(steps[chosen[0]]) if steps[chosen[0]] else float("nan")
    lines = []
    rows = []
    for name in chosen:
        if name in refused:
            lines.append(f"| {name} | refused: {refused[name]} | - | - | - |")
            continue
        median = statistics.median(steps[name])
        rate = peak["bfloat16" if SPEED_SETTINGS[name].get("amp") else "float32"]
        rows.append({"method": name, "s_per_iteration": median, "speedup": reference / median})
        rows[-1] |= {"gflops": flop / median / 1e9, "share_of_matmul": flop / median / rate}
        rows[-1]["first_iteration_s"] = statistics.median(first[name])
        achieved = flop / median
        lines.append(
            f"| {name} | {median:.3f} | {reference / median:.2f}x | {achieved / 1e9:.0f} ({achieved / rate:.0%}) "
            f"| {statistics.median(first[name]):.1f} |"
        )
    table = (
        f"### Speed settings, `{task}` {method} (the bundle's networks), {size}x{size}, batch 1 "
        f"({date.today().isoformat()})\n\n"
        f"Machine: {machine_line(threads)}; {rounds} alternating rounds of {iterations} iterations per setting (fresh "
        "networks, seed 0, same pre-made batches, project engine); median s/iteration without each run's first "
        "iteration, which is listed apart (it holds warm-up, and compilation for torch.compile). Speed-up: against "
        f"the first row. FLOP/s: {flop / 1e12:.3f} TFLOP per iteration (`FlopCounterMode`) over the median time, "
        f"as a share of a {matmul_size}x{matmul_size} matmul of the same precision "
        f"(fp32 {peak['float32'] / 1e9:.0f}, bf16 "
        f"{peak['bfloat16'] / 1e9:.0f} GFLOP/s, measured in this run).\n"
        f"Command: `python scripts/benchmark.py speedups --task {task} --method {method} --patch {size} --iterations "
        f"{iterations} --rounds {rounds}"
        + (f" --settings '{','.join(chosen)}'" if settings is not None else "")
        + "`\n\n"
        "| setting | s/iteration (median) | speed-up | GFLOP/s (share of the precision's matmul rate) "
        "| first iteration (s) |\n|---|---|---|---|---|\n" + "\n".join(lines) + "\n"
    )
    params = {"task": task, "method": method, "patch": size, "iterations": iterations, "rounds": rounds}
    params |= {"threads": threads, "machine": machine_line(threads)}
    runs = [
        (r["method"], params | {"setting": r["method"]}, {k: v for k, v in r.items() if k != "method"}) for r in rows
    ]
    publish(table, append, "speedups", runs, track, tracking_uri)
    return table
