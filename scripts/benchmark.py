"""Benchmarks (fire).

Usage::

    python scripts/benchmark.py --preset cpu-quick|cpu|paper [--out DIR] [--tasks calcium,denoising]
        [--dataset_dir D] [--append FILE.md]
    python scripts/benchmark.py fidelity --task calcium [--methods cyclegan,stable] [--iterations 300]
        [--patch 128] [--dataset_dir D] [--out DIR] [--small] [--amp (bf16 autocast)] [--label L]
    python scripts/benchmark.py converge [--out DIR] [--datasets calcium,w2s] [--iterations 1500] [--jobs 2]
        [--methods stable] [--seeds 0,1,2] [--overrides '{"addons#lambda_selfsup": 20}' --variant selfsup]
    python scripts/benchmark.py report [--check]   # BENCHMARKS.md and the README table from the records
    python scripts/benchmark.py uncertainty [--converge_dir DIR] [--datasets calcium,denoising] [--checkpoints 3]
    python scripts/benchmark.py error_head_cost [--tasks ihc_he_translation,calcium] [--iterations 12] [--threads 1]
    python scripts/benchmark.py bundle_inference [--bundles calcium,denoising] [--images 3] [--size 512]
    python scripts/benchmark.py identity DATA [--dataset w2s] [--methods stable,cyclegan] [--lrs 3e-4,1e-3]
    python scripts/benchmark.py speed --task calcium [--methods stable,cyclegan] [--iterations 6] [--threads 2]
        [--amp] [--patch 256] [--append FILE.md] [--results DIR]   # writes results/TASK/speed_*.json

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

Each sub-command is a module of ``scripts/benchmarking/`` (shared pieces in ``benchmarking.shared``).
"""

from __future__ import annotations

import sys

import fire
from benchmarking.bundle_inference import bundle_inference, bundle_inference_one
from benchmarking.converge import converge, run_one
from benchmarking.error_head import error_head_cost
from benchmarking.fidelity import fidelity, run_preset
from benchmarking.flops import flops
from benchmarking.identity import identity
from benchmarking.inference_rate import inference
from benchmarking.overhead import overhead
from benchmarking.precision import precision
from benchmarking.records import report
from benchmarking.speed import speed
from benchmarking.speedups import speedups
from benchmarking.uncertainty import score_run, uncertainty

COMMANDS = {
    "converge": converge,
    "converge_one": run_one,
    "uncertainty": uncertainty,
    "uncertainty_one": score_run,
    "error_head_cost": error_head_cost,
    "speed": speed,
    "speedups": speedups,
    "precision": precision,
    "fidelity": fidelity,
    "inference": inference,
    "bundle_inference": bundle_inference,
    "bundle_inference_one": bundle_inference_one,
    "flops": flops,
    "identity": identity,
    "overhead": overhead,
    "report": report,
}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
        fire.Fire(COMMANDS, serialize=lambda result: None)  # tables are printed
    else:
        fire.Fire(run_preset, serialize=lambda result: None)
