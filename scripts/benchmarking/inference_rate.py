"""``benchmark.py inference``: throughput (megapixels/s) of each method's generator on a tiled image and a
slice-batched volume.
"""

from __future__ import annotations

import os
from datetime import date

from benchmarking.shared import check_flags, machine_line, median_time, publish, rows_as_runs, task_method


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
                translate_image(net, vol, 2, inferer=SlidingWindowInferer([-1, -1]), batch_size=batch, device="cpu")

        return run

    voxels = volume[0] * volume[1] * volume[2] / 1e6
    return (
        tile_image**2 / 1e6 / median_time(tiles, repeats),
        voxels / median_time(slices(batch_size), repeats),
        voxels / median_time(slices(1), repeats),
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
    check_flags(amp=amp, track=track)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    from common.networks.absn import remove_absn

    torch.set_num_threads(threads)
    names = methods.split(",") if isinstance(methods, str) else list(methods)
    rows = []
    for name in names:
        method, config, size = task_method(task, name)
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
        f"Machine: {machine_line(threads)}; median of {repeats} runs after a warm-up. "
        f"Tiles: a {tile_image}x{tile_image} "
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
    params |= {"threads": threads, "amp": amp, "machine": machine_line(threads)}
    metrics = [
        {"method": n, "tiles_mp_s": t, "volume_batched_mp_s": b, "volume_one_slice_mp_s": o, "batched_over_one": b / o}
        for n, t, b, o in rows
    ]
    publish(table, append, "inference", rows_as_runs(metrics, params), track, tracking_uri)
    return table
