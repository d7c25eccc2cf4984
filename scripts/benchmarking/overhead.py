"""``benchmark.py overhead``: the Ignite engine's cost per step against a plain PyTorch loop of the reference
CycleGAN step, and the speed-up of the engine's speed settings.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import date

from benchmarking.shared import check_flags, machine_line, publish, step_timer


def _plain_cyclegan_loop(method, batches: list[dict]) -> list[float]:
    """The reference CycleGAN training step written as a plain PyTorch loop (LSGAN on the final PatchGAN output,
    lambda_cyc 10, identity 0.5 * 10, pools of 50, Adam 2e-4 (0.5, 0.999)); seconds of each iteration."""
    import torch
    import torch.nn.functional as F

    from common.ops.image_pool import ImagePool

    g_ab, g_ba, d_a, d_b = method.generator_ab, method.generator_ba, method.disc_a, method.disc_b
    opt_g = torch.optim.Adam([*g_ab.parameters(), *g_ba.parameters()], lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=2e-4, betas=(0.5, 0.999))
    pool_a, pool_b = ImagePool(50, seed=0), ImagePool(50, seed=1)

    def mse_to(outputs, value: float):
        pred = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs  # the 70x70 patch map
        return F.mse_loss(pred, torch.full_like(pred, value))

    times = []
    for batch in batches:
        started = time.perf_counter()
        real_a, real_b = batch["A"], batch["B"]
        for p in [*d_a.parameters(), *d_b.parameters()]:
            p.requires_grad_(False)
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
        rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
        loss_g = (
            mse_to(d_b(fake_b), 1.0)
            + mse_to(d_a(fake_a), 1.0)
            + 10.0 * (F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b))
            + 5.0 * (F.l1_loss(g_ba(real_a), real_a) + F.l1_loss(g_ab(real_b), real_b))
        )
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        for p in [*d_a.parameters(), *d_b.parameters()]:
            p.requires_grad_(True)
        pb, pa = pool_b.query(fake_b.detach()), pool_a.query(fake_a.detach())
        loss_d = 0.5 * (mse_to(d_b(real_b), 1.0) + mse_to(d_b(pb), 0.0)) + 0.5 * (
            mse_to(d_a(real_a), 1.0) + mse_to(d_a(pa), 0.0)
        )
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        times.append(time.perf_counter() - started)
    return times


def random_batches(channels_a: int, channels_b: int, size: int, count: int) -> list[dict]:
    """``count`` pre-made A/B batches of uniform noise, seeded, the same in every run."""
    import torch

    return [
        {
            "A": torch.rand(1, channels_a, size, size, generator=torch.Generator().manual_seed(i)),
            "B": torch.rand(1, channels_b, size, size, generator=torch.Generator().manual_seed(1000 + i)),
        }
        for i in range(count)
    ]


def engine_loop(
    method,
    batches: list[dict],
    amp: bool = False,
    fused: bool = False,
    channels_last: bool = False,
    compile: bool = False,
) -> list[float]:
    """The networks of ``method`` trained by the project's UnpairedTrainer on ``batches``; seconds from one
    iteration's start to the next (Ignite's event dispatch and the trainer's bookkeeping included). ``amp``: bf16
    autocast; ``fused``: PyTorch's fused Adam (else its per-parameter loop, the reference's); ``channels_last``;
    ``compile``: the trainer's torch.compile of every network."""
    from ignite.engine import Events

    from common.engines import UnpairedTrainer

    opt_g, opt_d = method.make_optimizers(fused=None if fused else False)
    settings = {"epoch_length": len(batches), "amp": amp, "channels_last": channels_last, "compile": compile}
    trainer = UnpairedTrainer("cpu", len(batches), batches, method, opt_g, opt_d, **settings)
    marks: list[float] = []
    trainer.add_event_handler(Events.ITERATION_STARTED, step_timer(marks))
    trainer.add_event_handler(Events.COMPLETED, step_timer(marks))
    trainer.run()
    return [b - a for a, b in zip(marks, marks[1:], strict=False)]


def overhead(
    patch: int = 256,
    iterations: int = 5,
    rounds: int = 3,
    threads: int = 2,
    channels_last: bool = False,
    append: str | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
) -> str:
    """The reference CycleGAN step (ResNet-9, 70x70 PatchGAN, fp32, Adam) as a plain PyTorch loop, against the same
    architecture trained by the project's Ignite engine with the same settings (the engine's overhead), and by the
    engine with its speed settings (bf16 autocast, fused Adam, optionally channels-last: the speed-up over the
    reference). Same pre-made batches; the loops alternate for ``rounds`` rounds of ``iterations`` (the first
    iteration of each run dropped), so that drifts of this shared machine hit all; medians over all rounds."""
    check_flags(channels_last=channels_last, track=track)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    from common.methods import make_method

    torch.set_num_threads(threads)
    batches = random_batches(1, 1, patch, iterations + 1)
    times: dict[str, list[float]] = {"plain": [], "engine": [], "fast": []}
    for _ in range(rounds):
        torch.manual_seed(0)
        times["plain"] += _plain_cyclegan_loop(make_method("cyclegan", 2, 1, 1, {}, {}), batches)[1:]
        torch.manual_seed(0)
        times["engine"] += engine_loop(make_method("cyclegan", 2, 1, 1, {}, {}), batches)[1:]
        torch.manual_seed(0)
        fast = make_method("cyclegan", 2, 1, 1, {}, {})
        times["fast"] += engine_loop(fast, batches, amp=True, fused=True, channels_last=channels_last)[1:]
    plain_s, engine_s, fast_s = (statistics.median(times[k]) for k in ("plain", "engine", "fast"))
    fast_name = f"bf16 autocast, fused Adam{', channels-last' if channels_last else ''}"
    table = (
        f"### Engine overhead and speed-up, CycleGAN reference architecture, {patch}x{patch}, batch 1 "
        f"({date.today().isoformat()})\n\n"
        f"Machine: {machine_line(threads)}; {rounds} alternating rounds of {iterations} iterations each (first of each "
        f"run dropped), same pre-made batches, no data loader. "
        f"Command: `python scripts/benchmark.py overhead --patch {patch} --iterations {iterations} --rounds {rounds}"
        f"{' --channels_last' if channels_last else ''}`"
        "\n\n| loop | s/iteration (median) | iterations/s |\n|---|---|---|\n"
        f"| plain PyTorch, reference step (fp32, Adam) | {plain_s:.3f} | {1 / plain_s:.3f} |\n"
        f"| project engine, same settings (UnpairedTrainer, start to next start) | {engine_s:.3f} "
        f"| {1 / engine_s:.3f} |\n"
        f"| project engine, {fast_name} | {fast_s:.3f} | {1 / fast_s:.3f} |\n\n"
        f"Engine / plain at the same settings: {engine_s / plain_s:.3f} ({engine_s / plain_s - 1:+.1%}). "
        f"Speed-up of the engine's fast settings over the reference step: {plain_s / fast_s:.2f}x.\n"
    )
    params = {"patch": patch, "iterations": iterations, "rounds": rounds, "threads": threads}
    params |= {"channels_last": channels_last, "machine": machine_line(threads)}
    metrics = {"plain_s": plain_s, "engine_s": engine_s, "fast_s": fast_s, "overhead": engine_s / plain_s - 1}
    metrics["speedup_fast_over_reference"] = plain_s / fast_s
    publish(table, append, "overhead", [("cyclegan", params, metrics)], track, tracking_uri)
    return table
