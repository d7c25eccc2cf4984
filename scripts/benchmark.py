"""Benchmarks (fire).

Usage::

    python scripts/benchmark.py --preset cpu-quick|cpu|paper [--out DIR] [--tasks calcium,denoising]
        [--dataset_dir D] [--append BENCHMARKS.md]
    python scripts/benchmark.py fidelity --task calcium [--methods cyclegan,stable] [--iterations 300]
        [--patch 128] [--dataset_dir D] [--out DIR] [--small] [--amp (bf16 autocast)] [--label L]
    python scripts/benchmark.py converge [--out DIR] [--datasets calcium,w2s] [--iterations 1500] [--jobs 2]
    python scripts/benchmark.py uncertainty [--converge_dir DIR] [--datasets calcium,denoising] [--checkpoints 3]
    python scripts/benchmark.py speed --task calcium [--methods stable,cyclegan] [--iterations 6] [--threads 2]
        [--amp] [--patch 256] [--append BENCHMARKS.md]

``fidelity``: train each method for the same iterations on the same data (the task's phantoms by default, or a
``trainA/trainB/testA/testB`` folder such as one written by ``scripts/prepare_data.py``), evaluate each with the
bundle's ``evaluate.json`` (translation of testA, pixel metrics against testB, objects and traces where the task
has them), add the "input, untranslated" baseline row and the reference counts, and print one Markdown table:
median (IQR) per metric, as the papers' tables do. ``--small`` narrows the networks for CPU presets (listed in
the table header); the paper preset keeps the bundles' settings.

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
    channels_last: bool = False,
    device: str = "cpu",
    append: str | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
) -> list[dict]:
    """Measure training s/iteration per method; print a Markdown table (append it to ``append``, log it to
    MLflow). Per method: median, min and max s/iteration, A+B pairs per second, the share of the step spent
    waiting for data, peak resident memory of that method's run and, on a GPU, its peak GPU memory."""
    _check_flags(amp=amp, channels_last=channels_last, track=track)
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
            _, hyper, _ = _bundle_settings(task, name)
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
                trainer.add_event_handler(event, _stamp(marks[key], cuda))
            _reset_peak_rss()
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
                    "peak_rss_gib": _peak_rss_gib(),
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
        f"Machine: {_machine(threads)}; {iterations} iterations per method, first one dropped; peak RSS: "
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
    common_params |= {"channels_last": channels_last, "device": device, "machine": _machine(threads)}
    _publish(table, append, "speed", _rows_as_runs(rows, common_params), track, tracking_uri)
    return rows


def _rows_as_runs(rows: list[dict], params: dict) -> list[tuple[str, dict, dict]]:
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


def _check_flags(**flags) -> None:
    """Refuse non-boolean switches: fire passes ``--amp false`` as the (truthy) string ``"false"``."""
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be true or false, got {value!r}; on the command line: --{flag} / --no{flag}")


def _stamp(times: list[float], synchronize: bool = False):
    """An event handler appending the current time to ``times`` (after a CUDA synchronisation if asked)."""

    def handler(engine) -> None:
        if synchronize:
            import torch

            torch.cuda.synchronize()
        times.append(time.perf_counter())

    return handler


def _machine(threads: int) -> str:
    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')})"
    )


#: the MLflow experiment every benchmark run is logged to
EXPERIMENT = "benchmarks"


def _default_tracking_uri() -> str:
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

    uri = tracking_uri or _default_tracking_uri()
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


def _publish(
    table: str, append: str | None, kind: str, runs: list[tuple[str, dict, dict]], track: bool, tracking_uri
) -> None:
    """Print a table, append it to ``append`` and log it to MLflow (unless ``track`` is False)."""
    print("\n" + table)
    if append:
        with open(append, "a") as fh:
            fh.write("\n" + table)
    if track:
        log_to_mlflow(kind, table, runs, tracking_uri)


def _reset_peak_rss() -> None:
    """Reset this process's peak resident set size (Linux ``clear_refs``; elsewhere a no-op)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_gib() -> float:
    """Peak resident set size since the last :func:`_reset_peak_rss` (Linux ``VmHWM``; else the process peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _bundle_settings(task: str, name: str) -> tuple[dict, dict, dict]:
    """The task's raw ``train.json`` and the method's hyper-parameters and add-ons resolved as the bundle resolves
    them (run-relative entries such as ``"$@max_iterations // 10"`` become numbers)."""
    from monai.bundle import ConfigParser

    import common

    parser = ConfigParser()
    parser.read_config(Path(common.PROJECT_ROOT) / "bundles" / task / "configs" / "train.json")
    hyper = parser.get_parsed_content(f"hyperparameters#{name}", instantiate=False)
    addons = parser.get_parsed_content("addons", instantiate=False)
    return parser.get(), dict(hyper), dict(addons)


def _task_method(task: str, name: str, patch: int | None = None):
    from common.methods import make_method

    config, hyper, addons = _bundle_settings(task, name)
    method = make_method(name, config["spatial_dims"], config["channels_a"], config["channels_b"], hyper, addons)
    size = int(patch or config["patch_size"][0])
    return method, config, size


def _inference_rates(
    net, channels: int, size: int, tile_image: int, volume, batch_size: int, repeats: int, amp: bool
) -> tuple[float, float, float]:
    """Megapixels/s of (tiled 2D image, slice-batched volume, one-slice-at-a-time volume)."""
    import torch
    from monai.data import MetaTensor
    from monai.inferers import SlidingWindowInferer

    from common.inference import translate_image

    window = SlidingWindowInferer([size, size], sw_batch_size=4, overlap=0.25, mode="gaussian")
    image = torch.rand(1, channels, tile_image, tile_image)
    vol = MetaTensor(torch.rand(channels, *volume), meta={"spatial_axes": "ZYX"})

    def cast():
        return torch.autocast("cpu", dtype=torch.bfloat16) if amp else torch.autocast("cpu", enabled=False)

    def tiles():
        with torch.no_grad(), cast():
            window(image, net)

    def slices(batch: int):
        def run():
            with cast():
                translate_image(net, vol, 2, SlidingWindowInferer([-1, -1]), batch, "cpu")

        return run

    voxels = volume[0] * volume[1] * volume[2] / 1e6
    return (
        tile_image**2 / 1e6 / _median_time(tiles, repeats),
        voxels / _median_time(slices(batch_size), repeats),
        voxels / _median_time(slices(1), repeats),
    )


def inference(
    task: str = "calcium",
    methods: str | tuple = "stable,cyclegan",
    tile_image: int = 1024,
    volume: tuple = (100, 256, 256),
    batch_size: int = 8,
    threads: int = 2,
    repeats: int = 3,
    amp: bool = False,
    append: str | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
) -> str:
    """Inference throughput (megapixels/s, median of ``repeats``) of each method's generator: a ``tile_image``
    square through Gaussian-blended tiles of the training patch, and a ``volume`` (Z, Y, X) slice-batched
    (``batch_size`` slices per pass) vs one slice at a time, in one run."""
    _check_flags(amp=amp, track=track)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    from common.methods.registry import remove_absn

    torch.set_num_threads(threads)
    names = methods.split(",") if isinstance(methods, str) else list(methods)
    rows = []
    for name in names:
        method, config, size = _task_method(task, name)
        rates = _inference_rates(
            remove_absn(method.generator_ab).eval(),
            int(config["channels_a"]),
            size,
            tile_image,
            volume,
            batch_size,
            repeats,
            amp,
        )
        rows.append((name, *rates))
        print(f"{name}: {rows[-1]}", flush=True)
    header = (
        f"### Inference throughput, `{task}` generators, {'bf16 autocast' if amp else 'fp32'} "
        f"({date.today().isoformat()})\n\n"
        f"Machine: {_machine(threads)}; median of {repeats} runs after a warm-up. Tiles: a {tile_image}x{tile_image} "
        f"image in {config['patch_size'][0]}-px Gaussian-blended tiles (overlap 0.25, 4 tiles per pass). Volume: "
        f"{volume[0]}x{volume[1]}x{volume[2]}, whole slices, {batch_size} per pass vs 1.\n"
        f"Command: `python scripts/benchmark.py inference --task {task} --methods {','.join(names)}"
        f"{' --amp' if amp else ''}`\n\n"
        "| method | 2D tiles (MP/s) | volume, slice-batched (MP/s) | volume, one slice at a time (MP/s) "
        "| batched / one |\n"
        "|---|---|---|---|---|\n"
    )
    table = header + "".join(f"| {n} | {t:.2f} | {b:.2f} | {o:.2f} | {b / o:.2f}x |\n" for n, t, b, o in rows)
    params = {"task": task, "tile_image": tile_image, "volume": "x".join(map(str, volume)), "batch_size": batch_size}
    params |= {"threads": threads, "amp": amp, "machine": _machine(threads)}
    metrics = [
        {"method": n, "tiles_mp_s": t, "volume_batched_mp_s": b, "volume_one_slice_mp_s": o, "batched_over_one": b / o}
        for n, t, b, o in rows
    ]
    _publish(table, append, "inference", _rows_as_runs(metrics, params), track, tracking_uri)
    return table


def attainable_flops(threads: int = 2, n: int = 2048, repeats: int = 5) -> dict[str, float]:
    """This machine's attainable FLOP/s: a timed ``n``x``n`` matmul in fp32 and in bf16."""
    import torch

    torch.set_num_threads(threads)
    rates = {}
    for dtype in (torch.float32, torch.bfloat16):
        a, b = torch.rand(n, n, dtype=dtype), torch.rand(n, n, dtype=dtype)
        seconds = _median_time(lambda a=a, b=b: torch.mm(a, b), repeats)
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
        _median_time(lambda: iteration(False), repeats),
        _median_time(lambda: iteration(True), repeats),
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
    _check_flags(channels_last=channels_last, track=track)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    torch.set_num_threads(threads)
    peak = attainable_flops(threads, matmul_size)
    names = methods.split(",") if isinstance(methods, str) else list(methods)
    rows = []
    for name in names:
        method, config, size = _task_method(task, name, patch)
        total, t32, t16 = _step_flops_and_times(method, config, size, repeats, channels_last)
        rows.append((name, total, t32, t16))
        print(f"{name}: {total / 1e12:.3f} TFLOP, {t32:.2f} s fp32, {t16:.2f} s bf16", flush=True)
    header = (
        f"### Achieved FLOP/s of a training iteration, `{task}`, {size}x{size}, batch 1"
        f"{', channels-last' if channels_last else ''} ({date.today().isoformat()})\n\n"
        f"Machine: {_machine(threads)}. FLOPs of one iteration (generator and discriminator steps, forward and "
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
    params |= {"machine": _machine(threads), "fp32_matmul_gflops": peak["float32"] / 1e9}
    params["bf16_matmul_gflops"] = peak["bfloat16"] / 1e9
    metrics = [
        {"method": n, "tflop": f / 1e12, "fp32_s": t32, "bf16_s": t16}
        | {"fp32_share": f / t32 / peak["float32"], "bf16_share": f / t16 / peak["bfloat16"]}
        for n, f, t32, t16 in rows
    ]
    _publish(table, append, "flops", _rows_as_runs(metrics, params), track, tracking_uri)
    return table


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


def _random_batches(channels_a: int, channels_b: int, size: int, count: int) -> list[dict]:
    """``count`` pre-made A/B batches of uniform noise, seeded, the same in every run."""
    import torch

    return [
        {
            "A": torch.rand(1, channels_a, size, size, generator=torch.Generator().manual_seed(i)),
            "B": torch.rand(1, channels_b, size, size, generator=torch.Generator().manual_seed(1000 + i)),
        }
        for i in range(count)
    ]


def _engine_loop(
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
    trainer.add_event_handler(Events.ITERATION_STARTED, _stamp(marks))
    trainer.add_event_handler(Events.COMPLETED, _stamp(marks))
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
    _check_flags(channels_last=channels_last, track=track)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    from common.methods import make_method

    torch.set_num_threads(threads)
    batches = _random_batches(1, 1, patch, iterations + 1)
    times: dict[str, list[float]] = {"plain": [], "engine": [], "fast": []}
    for _ in range(rounds):
        torch.manual_seed(0)
        times["plain"] += _plain_cyclegan_loop(make_method("cyclegan", 2, 1, 1, {}, {}), batches)[1:]
        torch.manual_seed(0)
        times["engine"] += _engine_loop(make_method("cyclegan", 2, 1, 1, {}, {}), batches)[1:]
        torch.manual_seed(0)
        fast = make_method("cyclegan", 2, 1, 1, {}, {})
        times["fast"] += _engine_loop(fast, batches, amp=True, fused=True, channels_last=channels_last)[1:]
    plain_s, engine_s, fast_s = (statistics.median(times[k]) for k in ("plain", "engine", "fast"))
    fast_name = f"bf16 autocast, fused Adam{', channels-last' if channels_last else ''}"
    table = (
        f"### Engine overhead and speed-up, CycleGAN reference architecture, {patch}x{patch}, batch 1 "
        f"({date.today().isoformat()})\n\n"
        f"Machine: {_machine(threads)}; {rounds} alternating rounds of {iterations} iterations each (first of each "
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
    params |= {"channels_last": channels_last, "machine": _machine(threads)}
    metrics = {"plain_s": plain_s, "engine_s": engine_s, "fast_s": fast_s, "overhead": engine_s / plain_s - 1}
    metrics["speedup_fast_over_reference"] = plain_s / fast_s
    _publish(table, append, "overhead", [("cyclegan", params, metrics)], track, tracking_uri)
    return table


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
    _check_flags(track=track)
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
    _, config, size = _task_method(task, method, patch)
    batches = _random_batches(int(config["channels_a"]), int(config["channels_b"]), size, iterations + 1)
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    counter = FlopCounterMode(display=False)
    with counter:  # one training iteration through the engine, fp32
        _engine_loop(_task_method(task, method, patch)[0], batches[:1])
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
            net, _, _ = _task_method(task, method, patch)
            try:
                times = _engine_loop(net, batches, **SPEED_SETTINGS[name])
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
        f"Machine: {_machine(threads)}; {rounds} alternating rounds of {iterations} iterations per setting (fresh "
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
    params |= {"threads": threads, "machine": _machine(threads)}
    runs = [
        (r["method"], params | {"setting": r["method"]}, {k: v for k, v in r.items() if k != "method"}) for r in rows
    ]
    _publish(table, append, "speedups", runs, track, tracking_uri)
    return table


#: narrower networks for CPU presets (the bundles' own settings for the paper preset)
SMALL = {
    "cyclegan": {"ngf": 16, "n_blocks": 6, "ndf": 32},
    "utom": {"ngf": 16, "n_blocks": 6, "ndf": 32},
    "cut": {"ngf": 16, "n_blocks": 6, "ndf": 32, "nce_layers": [0, 4, 8, 12]},
    "fastcut": {"ngf": 16, "n_blocks": 6, "ndf": 32, "nce_layers": [0, 4, 8, 12]},
    "ui2i": {"features": [16, 32, 64, 128], "ndf": 32, "content_hidden": 64},
    "stable": {"ndf": 32},
}
#: columns of the fidelity tables, in order, when the evaluation produced them
FIDELITY_METRICS = ("psnr", "ssim", "pcc", "f1", "pq", "distance", "iou", "trace_pcc", "n_prediction")
PRESETS = {
    "cpu-quick": {
        "tasks": ["calcium", "denoising"],
        "iterations": 300,
        "patch": 64,
        "phantom_size": 96,
        "small": True,
        "amp": False,  # fp32, the reference precision: STABLE's short runs swing with bf16 (BENCHMARKS.md)
    },
    "cpu": {
        "tasks": [
            "calcium",
            "denoising",
            "if_unmixing",
            "mri_t2_pd",
            "phase_to_dapi",
            "mask_to_nuclei",
            "ihc_he_translation",
            "virtual_he_staining",
        ],
        "iterations": 300,
        "patch": 128,
        "phantom_size": 192,
        "small": True,
        "amp": False,
    },
    # fp32 here too: bf16 cost STABLE quality over seeds on CPU (BENCHMARKS.md); `fidelity --amp` for CycleGAN-family
    "paper": {"tasks": None, "iterations": 50000, "patch": None, "phantom_size": 512, "small": False, "amp": False},
}


def default_methods(task: str) -> list[str]:
    """CycleGAN and the task's paper method (the bundle's default; STABLE where that default is CycleGAN)."""
    import common

    config = json.loads((Path(common.PROJECT_ROOT) / "bundles" / task / "configs" / "train.json").read_text())
    paper = config["method"] if config["method"] != "cyclegan" else "stable"
    return ["cyclegan", paper]


def fidelity(
    task: str = "calcium",
    methods: str | tuple | None = None,
    iterations: int = 300,
    patch: int | None = None,
    dataset_dir: str | None = None,
    out: str | None = None,
    small: bool = True,
    amp: bool = False,
    threads: int = 2,
    seed: int = 0,
    phantom_size: int = 192,
    label: str | None = None,
    append: str | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
) -> str:
    """Train and evaluate each method on one task; return (and print) the Markdown table; log one MLflow run per
    row (experiment ``benchmarks``, the project's store unless ``tracking_uri``) with its medians and IQRs."""
    _check_flags(amp=amp, small=small, track=track)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch
    from benchmarking.converge import train_bundle

    import common
    from common.phantoms import make_phantoms

    torch.set_num_threads(threads)
    configs = Path(common.PROJECT_ROOT) / "bundles" / task / "configs"
    train_config = json.loads((configs / "train.json").read_text())
    names = (
        default_methods(task)
        if methods is None
        else (methods.split(",") if isinstance(methods, str) else list(methods))
    )
    size = int(patch or train_config["patch_size"][0])
    root = Path(out or tempfile.mkdtemp(prefix="fidelity_")) / task
    root.mkdir(parents=True, exist_ok=True)
    if dataset_dir is None:
        data = root / "phantoms"
        if not (data / "phantom.json").exists():
            make_phantoms(task, data, n_train=8, n_test=4, size=phantom_size, seed=seed)
        source = f"phantoms ({phantom_size} px, 8 train / 4 test images per domain, seed {seed})"
    else:
        data = Path(dataset_dir)
        source = label or str(dataset_dir)
    uri = "sqlite:///" + str(root / "mlruns.db")
    rows = []
    for name in names:
        run = root / name
        overrides = {
            "dataset_dir": str(data),
            "output_dir": str(run / "train"),
            "method": name,
            "max_iterations": iterations,
            "patch_size": [size] * train_config["spatial_dims"],
            "val_size": [size] * train_config["spatial_dims"],
            "val_interval": iterations,
            "checkpoint_interval": iterations,
            "sample_interval": iterations,
            "amp": amp,
            "seed": seed,
        }
        if small:
            overrides |= {f"hyperparameters#{name}#{k}": v for k, v in SMALL.get(name, {}).items()}
        if name == "stable":  # the paper ramps the cycle weight over 10k of ~50k iterations: keep that share
            overrides["hyperparameters#stable#cyc_ramp_iterations"] = max(1, iterations // 5)
        seconds = train_bundle(configs / "train.json", overrides)
        summary = _evaluate(configs, data, run / "evaluation", uri, checkpoint=run / "train" / "model.pt")
        rows.append({"method": name, "train_s": seconds} | summary)
        print(f"{task} {name}: trained {iterations} iterations in {seconds:.0f} s", flush=True)
    baseline = _baseline_predictions(task, data, root / "input_baseline", train_config)
    if baseline is not None:
        rows.insert(
            0,
            {"method": "input (untranslated)"}
            | _evaluate(configs, data, root / "baseline_eval", uri, predictions_dir=baseline),
        )
    table = _fidelity_table(task, rows, source, iterations, size, small, amp, threads, names)
    (root / "fidelity.md").write_text(table)
    params = {"task": task, "data": source, "iterations": iterations, "patch": size, "small": small, "amp": amp}
    params |= {"seed": seed, "threads": threads, "machine": _machine(threads)}
    runs = [
        (
            r["method"],
            params | {"method": r["method"]} | ({"networks": SMALL.get(r["method"])} if small else {}),
            {k: v for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
        )
        for r in rows
    ]
    _publish(table, append, f"fidelity {task}", runs, track, tracking_uri)
    return table


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
    _check_flags(track=track)
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
    _publish(text, append, "precision", [("bf16 vs fp32", params | {"patch": patch}, {})], track, tracking_uri)
    return text


def _precision_table(task, names, seeds, results, iterations, patch, threads) -> str:
    present = [m for m in PRECISION_METRICS if all(m in r for r in results.values())]
    lines = [
        f"### bf16 autocast vs fp32, `{task}` phantoms, seeds {', '.join(map(str, seeds))} "
        f"({date.today().isoformat()})",
        "",
        f"Each method trained {iterations} iterations at {patch}x{patch} (the cpu-quick settings, networks narrowed as "
        f"there), once per seed and precision; the seed sets both the phantoms and the initialisation. Machine: "
        f"{_machine(threads)}. Per cell: mean (standard deviation) over seeds of the per-run medians; diff: mean "
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


def _evaluate(configs: Path, data: Path, out: Path, uri: str, checkpoint=None, predictions_dir=None) -> dict:
    from monai.bundle import ConfigWorkflow

    settings = {"dataset_dir": str(data), "output_dir": str(out), "tracking_uri": uri, "overwrite": True}
    if checkpoint is not None:
        settings["checkpoint"] = str(checkpoint)
    if predictions_dir is not None:
        settings["predictions_dir"] = str(predictions_dir)
    workflow = ConfigWorkflow(config_file=str(configs / "evaluate.json"), workflow_type="infer", **settings)
    workflow.initialize()
    (summary,) = workflow.run()
    workflow.finalize()
    return dict(summary)


def _baseline_predictions(task: str, data: Path, out: Path, config: dict) -> Path | None:
    """The untranslated inputs as predictions (channels repeated or cut to B's count), or None without testB."""
    import numpy as np

    from common.data.layout import list_images
    from common.io import load_image, write_image

    if not (data / "testB").is_dir():
        return None
    out.mkdir(parents=True, exist_ok=True)
    channels_b = int(config["channels_b"])
    for path in list_images(data / "testA"):
        target = out / Path(path).name
        if target.exists():
            continue
        image = load_image(path, dtype=None)
        if image.shape[0] != channels_b:
            index = np.arange(channels_b) % image.shape[0]
            image = image[index]
        write_image(target, image, meta=dict(image.meta), dtype=str(image.dtype).replace("torch.", ""))
    return out


def _cell(summary: dict, key: str) -> str:
    value = summary.get(key)
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    iqr = summary.get(f"{key}_iqr")
    text = f"{value:.3g}" if key != "n_prediction" else f"{value:.0f}"
    return text + (f" ({iqr:.2g})" if iqr is not None and iqr == iqr and key != "n_prediction" else "")


def _fidelity_table(task, rows, source, iterations, size, small, amp, threads, names) -> str:
    import torch

    present = [k for k in FIDELITY_METRICS if any(k in r for r in rows)]
    segmenter = next((r.get("segmenter") for r in rows if r.get("segmenter")), None)
    reference = next((r.get("n_reference") for r in rows if r.get("n_reference") is not None), None)
    nets = ", ".join(f"{m}: {SMALL[m]}" for m in names if m in SMALL) if small else "the bundle's settings"
    header = (
        f"### Fidelity, `{task}`, {source} ({date.today().isoformat()})\n\n"
        f"Each method trained {iterations} iterations, batch 1, {size}x{size} patches, "
        f"{'bf16 autocast' if amp else 'fp32'}, seed 0, learning rate decaying linearly to 0 over the second half"
        + (
            f", STABLE's cycle-weight ramp over the first {max(1, iterations // 5)} iterations (the paper's 1/5)"
            if "stable" in names
            else ""
        )
        + f"; networks: {nets}. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, {threads} threads. Median (IQR) over the test images "
        f"(objects: over matched objects); segmenter: {segmenter or 'none'}."
        + (f" Reference: {reference:.0f} true objects per image (median)." if reference is not None else "")
        + "\n\n"
    )
    columns = ["method", "train s", *present]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        train = f"{r['train_s']:.0f}" if "train_s" in r else "-"
        lines.append("| " + " | ".join([r["method"], train, *(_cell(r, k) for k in present)]) + " |")
    return header + "\n".join(lines) + "\n"


def run_preset(
    preset: str = "cpu-quick",
    out: str | None = None,
    tasks: str | tuple | None = None,
    dataset_dir: str | None = None,
    append: str | None = None,
    threads: int = 2,
    track: bool = True,
    tracking_uri: str | None = None,
) -> str:
    """Run a preset: the fidelity table of each of its tasks; write them to ``OUT/benchmark.md`` (and log each
    method's row to MLflow, experiment ``benchmarks``)."""
    _check_flags(track=track)
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    settings = dict(PRESETS[preset])
    chosen = tasks.split(",") if isinstance(tasks, str) else list(tasks or settings["tasks"] or [])
    if not chosen:
        from common.phantoms import TASKS

        chosen = list(TASKS)
    root = Path(out or tempfile.mkdtemp(prefix=f"benchmark_{preset}_"))
    started = time.perf_counter()
    tables = [
        fidelity(
            task,
            iterations=settings["iterations"],
            patch=settings["patch"],
            dataset_dir=dataset_dir,
            out=str(root),
            small=settings["small"],
            amp=settings["amp"],
            threads=threads,
            phantom_size=settings["phantom_size"],
            track=track,
            tracking_uri=tracking_uri,
        )
        for task in chosen
    ]
    text = f"## Preset `{preset}` ({time.perf_counter() - started:.0f} s)\n\n" + "\n".join(tables)
    root.mkdir(parents=True, exist_ok=True)
    (root / "benchmark.md").write_text(text)
    if append:
        with open(append, "a") as fh:
            fh.write("\n" + text)
    print(f"tables written to {root / 'benchmark.md'}")
    return text


if __name__ == "__main__":
    import sys

    from benchmarking.converge import converge, run_one
    from benchmarking.uncertainty import score_run, uncertainty

    commands = {
        "converge": converge,
        "converge_one": run_one,
        "uncertainty": uncertainty,
        "uncertainty_one": score_run,
        "speed": speed,
        "speedups": speedups,
        "precision": precision,
        "fidelity": fidelity,
        "inference": inference,
        "flops": flops,
        "overhead": overhead,
    }
    if len(sys.argv) > 1 and sys.argv[1] in commands:
        fire.Fire(commands, serialize=lambda result: None)  # tables are printed
    else:
        fire.Fire(run_preset, serialize=lambda result: None)
