"""``benchmark.py flops``: the FLOPs of one training iteration of each method, its time in fp32 and bf16, and the
achieved share of the machine's matmul rate."""

from __future__ import annotations

import os
from datetime import date

from benchmarking.shared import check_flags, machine_line, median_time, publish, rows_as_runs, task_method


def attainable_flops(threads: int = 2, n: int = 2048, repeats: int = 5) -> dict[str, float]:
    """This machine's attainable FLOP/s: a timed ``n``x``n`` matmul in fp32 and in bf16."""
    import torch

    torch.set_num_threads(threads)
    rates = {}
    for dtype in (torch.float32, torch.bfloat16):
        a, b = torch.rand(n, n, dtype=dtype), torch.rand(n, n, dtype=dtype)
        seconds = median_time(lambda a=a, b=b: torch.mm(a, b), repeats)
        rates[str(dtype).replace("torch.", "")] = 2 * n**3 / seconds
    return rates


def _step_flops_and_times(
    method, config: dict, size: int, repeats: int, channels_last: bool = False
) -> tuple[int, float, float]:
    """FLOPs of one training iteration, and its median time in fp32 and under bf16 autocast (the trainer's
    iteration: generator step, update, discriminator step, update; fused Adam where available)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from common.engines.unpaired_trainer import check_channels_last

    opt_g, opt_d = method.make_optimizers()
    if channels_last:  # the trainer's guard: instance norms get wrong gradients in channels-last (torch 2.13)
        check_channels_last(method)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    method.to(memory_format=layout)
    a = torch.rand((1, int(config["channels_a"]), size, size)).contiguous(memory_format=layout)
    b = torch.rand((1, int(config["channels_b"]), size, size)).contiguous(memory_format=layout)
    step = [0]

    def iteration(amp: bool) -> None:
        cast = torch.autocast("cpu", dtype=torch.bfloat16) if amp else torch.autocast("cpu", enabled=False)
        with cast:
            g = method.generator_step(a, b, step[0])
        opt_g.zero_grad(set_to_none=True)
        g.loss.backward()
        opt_g.step()
        with cast:
            d = method.discriminator_step(a, b, {k: v.detach() for k, v in g.images.items()}, step[0])
        opt_d.zero_grad(set_to_none=True)
        d.loss.backward()
        opt_d.step()
        step[0] += 1

    counter = FlopCounterMode(display=False)
    with counter:
        iteration(False)
    return (
        counter.get_total_flops(),
        median_time(lambda: iteration(False), repeats),
        median_time(lambda: iteration(True), repeats),
    )


def flops(
    task: str = "calcium",
    methods: str | tuple = "stable,cyclegan",
    patch: int | None = None,
    threads: int = 2,
    repeats: int = 3,
    channels_last: bool = False,
    matmul_size: int = 2048,
    append: str | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
) -> str:
    """FLOPs of one training iteration (both steps, forward and backward; ``FlopCounterMode``), its median time in
    fp32 and under bf16 autocast, and the achieved rate as a share of the matmul rate of the same precision."""
    check_flags(channels_last=channels_last, track=track)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    torch.set_num_threads(threads)
    peak = attainable_flops(threads, matmul_size)
    names = methods.split(",") if isinstance(methods, str) else list(methods)
    rows = []
    for name in names:
        method, config, size = task_method(task, name, patch)
        total, t32, t16 = _step_flops_and_times(method, config, size, repeats, channels_last)
        rows.append((name, total, t32, t16))
        print(f"{name}: {total / 1e12:.3f} TFLOP, {t32:.2f} s fp32, {t16:.2f} s bf16", flush=True)
    header = (
        f"### Achieved FLOP/s of a training iteration, `{task}`, {size}x{size}, batch 1"
        f"{', channels-last' if channels_last else ''} ({date.today().isoformat()})\n\n"
        f"Machine: {machine_line(threads)}. FLOPs of one iteration (generator and discriminator steps, forward and "
        f"backward) counted by `torch.utils.flop_counter.FlopCounterMode` (convolutions and matmuls); time: median "
        f"of {repeats} iterations after a warm-up. Attainable: a {matmul_size}x{matmul_size} matmul, "
        f"fp32 {peak['float32'] / 1e9:.0f} "
        f"GFLOP/s, bf16 {peak['bfloat16'] / 1e9:.0f} GFLOP/s.\n"
        f"Command: `python scripts/benchmark.py flops --task {task} --methods {','.join(names)}"
        f"{f' --patch {patch}' if patch else ''}{' --channels_last' if channels_last else ''}`\n\n"
        "| method | TFLOP / iteration | fp32 s/it | fp32 GFLOP/s (share of fp32 matmul) | bf16 s/it | bf16 GFLOP/s "
        "(share of bf16 matmul) |\n|---|---|---|---|---|---|\n"
    )
    table = header + "".join(
        f"| {n} | {f / 1e12:.3f} | {t32:.2f} | {f / t32 / 1e9:.0f} ({f / t32 / peak['float32']:.0%}) | {t16:.2f} | "
        f"{f / t16 / 1e9:.0f} ({f / t16 / peak['bfloat16']:.0%}) |\n"
        for n, f, t32, t16 in rows
    )
    params = {"task": task, "patch": size, "threads": threads, "channels_last": channels_last}
    params |= {"machine": machine_line(threads), "fp32_matmul_gflops": peak["float32"] / 1e9}
    params["bf16_matmul_gflops"] = peak["bfloat16"] / 1e9
    metrics = [
        {"method": n, "tflop": f / 1e12, "fp32_s": t32, "bf16_s": t16}
        | {"fp32_share": f / t32 / peak["float32"], "bf16_share": f / t16 / peak["bfloat16"]}
        for n, f, t32, t16 in rows
    ]
    publish(table, append, "flops", rows_as_runs(metrics, params), track, tracking_uri)
    return table
