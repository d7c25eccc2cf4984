"""``benchmark.py fidelity`` and the presets (``--preset cpu-quick|cpu|paper``): train each method for the same
iterations on the same data, evaluate each with the bundle's ``evaluate.json`` beside the untranslated input, and
print one Markdown table of medians (IQR) per metric, as the papers' tables do.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarking.shared import check_flags, machine_line, publish

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
        "amp": False,  # fp32, the reference precision: STABLE's short runs swing with bf16
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
    # fp32 here too: bf16 cost STABLE quality over seeds on CPU; `fidelity --amp` for CycleGAN-family
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
    check_flags(amp=amp, small=small, track=track)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    import common
    from benchmarking.converge import train_bundle
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
    params |= {"seed": seed, "threads": threads, "machine": machine_line(threads)}
    runs = [
        (
            r["method"],
            params | {"method": r["method"]} | ({"networks": SMALL.get(r["method"])} if small else {}),
            {k: v for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
        )
        for r in rows
    ]
    publish(table, append, f"fidelity {task}", runs, track, tracking_uri)
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
    check_flags(track=track)
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
