"""``benchmark.py bundle_inference``: each bundle's file inference (``translate_files``, what ``inference.json``
runs) in images/s and megapixels/s, tiled at the training patch (the former default) against whole images (the
default), on the task's own phantom test files, one single-thread process per bundle, two at once.

The generator is the bundle's default network at its shipped settings with a fixed random initialisation: speed
does not depend on the weights.
"""

from __future__ import annotations

import json
import math
import sys
import time
from datetime import date
from pathlib import Path

from benchmarking.processes import run_jobs
from benchmarking.shared import machine_line

ROOT = Path(__file__).resolve().parents[2]
#: the two tilings compared: the training patch with overlap 0.5 (before), whole images up to 1024 px (after)
MODES = ("patch tiles", "whole image")


def bundle_inference_one(name: str, out: str, images: int = 3, size: int | None = 512, seed: int = 0) -> dict:
    """Time bundle ``name``'s file inference of ``images`` phantom test files (``size`` px; the task's default size
    where ``None``) in both :data:`MODES`; write and return ``OUT/NAME.json``."""
    import torch
    from monai.bundle import ConfigParser

    from common.inference import Outputs, Tiling, translate_files
    from common.io import read_header
    from common.methods import ModelSpec
    from common.phantoms import make_phantoms

    out_dir = Path(out)
    data = out_dir / f"{name}_data"
    make_phantoms(name, data, n_train=1, n_test=int(images), n_val=1, size=size, seed=seed, overwrite=True)
    parser = ConfigParser()
    parser.read_config(str(ROOT / "bundles" / name / "configs" / "train.json"))
    parser["bundle_root"] = str(ROOT / "bundles" / name)
    spec = parser.get_parsed_content("model_spec")
    torch.manual_seed(seed)
    network = ModelSpec.of(spec).build_generator().eval()
    inputs = sorted(str(p) for p in (data / "testA").iterdir())
    headers = [read_header(p, axes=spec.get("axes_a")) for p in inputs]
    pixels = sum(math.prod(h.spatial_shape) for h in headers)
    settings = dict(spec=spec, outputs=Outputs(overwrite=True))
    result = {
        "bundle": name,
        "method": spec["method"],
        "images": len(inputs),
        "shape": list(headers[0].spatial_shape),
        "megapixels": pixels / 1e6,
        "patch": spec["patch_size"],
        "threads": torch.get_num_threads(),
    }
    for mode in MODES:
        roi = list(spec["patch_size"]) if mode == "patch tiles" else None
        translate_files(network, inputs[:1], out_dir / f"{name}_warmup", tiling=Tiling(roi_size=roi), **settings)
        started = time.perf_counter()
        translate_files(
            network, inputs, out_dir / f"{name}_{mode.replace(' ', '_')}", tiling=Tiling(roi_size=roi), **settings
        )
        result[mode] = time.perf_counter() - started
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2))
    return result


def bundle_inference(
    bundles: str = "all",
    out: str = "bundle_inference",
    images: int = 3,
    size: int = 512,
    jobs: int = 2,
    append: str | None = None,
) -> str:
    """Run :func:`bundle_inference_one` for each bundle (``all`` or a comma list) as single-thread processes,
    ``jobs`` at a time, and print one Markdown table (append it to ``append``)."""
    names = sorted(p.parent.parent.name for p in (ROOT / "bundles").glob("*/configs/train.json"))
    if bundles != "all":
        names = [n.strip() for n in str(bundles).split(",")]
    out_dir = Path(out)
    script = str(ROOT / "scripts" / "benchmark.py")
    commands = []
    for name in names:
        task_size = "None" if name == "mri_t2_pd" else str(size)  # MRI phantoms keep their volume size
        cmd = [sys.executable, script, "bundle_inference_one", name, str(out_dir), "--images", str(images)]
        commands.append(([*cmd, "--size", task_size], out_dir / f"{name}.log", name))
    run_jobs(commands, parallel=jobs)
    rows = [json.loads((out_dir / f"{n}.json").read_text()) for n in names if (out_dir / f"{n}.json").exists()]
    lines = [
        f"### Bundle inference, tiled at the training patch vs whole images ({date.today().isoformat()})",
        "",
        f"Machine: {machine_line(1)}; one single-thread process per bundle, {jobs} at a time. Phantom test files "
        f"of each task ({size} px; MRI: its phantom volumes), the bundle's default generator at its shipped "
        "settings (random weights: speed only), `translate_files` as `inference.json` runs it, after one warm-up "
        "file. Command: `python scripts/benchmark.py bundle_inference`.",
        "",
        "| bundle | method | files (shape) | patch tiles: s/file | whole image: s/file | files/s before -> after "
        "| MP/s before -> after |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        tiles, whole, n, mp = r["patch tiles"], r["whole image"], r["images"], r["megapixels"]
        lines.append(
            f"| {r['bundle']} | {r['method']} | {n} ({'x'.join(map(str, r['shape']))}) | {tiles / n:.2f} "
            f"| {whole / n:.2f} | {n / tiles:.3f} -> {n / whole:.3f} | {mp / tiles:.2f} -> {mp / whole:.2f} |"
        )
    table = "\n".join(lines) + "\n"
    print("\n" + table)
    if append:
        with open(append, "a") as fh:
            fh.write("\n" + table)
    return table
