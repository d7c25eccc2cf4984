"""Benchmarks (fire).

Usage::

    python scripts/benchmark.py --preset cpu-quick|cpu|paper [--out DIR] [--tasks calcium,denoising]
        [--dataset_dir D] [--append BENCHMARKS.md]
    python scripts/benchmark.py fidelity --task calcium [--methods cyclegan,stable] [--iterations 300]
        [--patch 128] [--dataset_dir D] [--out DIR] [--small] [--amp] [--label "W2S noisy -> clean"]
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
        "amp": True,
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
        "amp": True,
    },
    "paper": {"tasks": None, "iterations": 50000, "patch": None, "phantom_size": 512, "small": False, "amp": True},
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
    amp: bool = True,
    threads: int = 2,
    seed: int = 0,
    phantom_size: int = 192,
    label: str | None = None,
    append: str | None = None,
) -> str:
    """Train and evaluate each method on one task; return (and print) the Markdown table."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch
    from monai.bundle import ConfigWorkflow

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
        started = time.perf_counter()
        workflow = ConfigWorkflow(config_file=str(configs / "train.json"), workflow_type="train", **overrides)
        workflow.initialize()
        workflow.run()
        workflow.finalize()
        seconds = time.perf_counter() - started
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
    print("\n" + table)
    if append:
        with open(append, "a") as fh:
            fh.write("\n" + table)
    return table


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
        f"{'bf16 autocast' if amp else 'fp32'}, seed 0; networks: {nets}. Machine: {platform.machine()}, "
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
) -> str:
    """Run a preset: the fidelity table of each of its tasks; write them to ``OUT/benchmark.md``."""
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

    if len(sys.argv) > 1 and sys.argv[1] in ("speed", "fidelity"):
        fire.Fire({"speed": speed, "fidelity": fidelity}, serialize=lambda result: None)  # tables are printed
    else:
        fire.Fire(run_preset, serialize=lambda result: None)
