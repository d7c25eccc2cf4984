"""Does the uncertainty of ``inference.json --uncertainty true`` mean something?

On the runs of the convergence benchmark (``benchmark.py converge``: trained with ``keep_snapshots``, validated on
``valA``/``valB``), for each data set, method and seed: translate ``testA`` with the selected model
(``best_model.pt``) as an :class:`~common.inference.ensemble.EnsembleTranslator` - the 8 flips/rotations, alone
(``tta``) and with the ``checkpoints - 1`` latest snapshots of the run (``tta+ckpt``) - and, where the model file
carries a learned error head (runs trained with ``error_head``), the head's map with the single-pass translation
(``head``) and the head's maps averaged over the 8 flips with their mean translation (``head+tta``;
:class:`~common.inference.error_head.ErrorHeadTranslator`) - and
score each image's
uncertainty map against the error of its translation to ``testB`` (:mod:`common.metrics.uncertainty`): the
Spearman correlation over pixels, and the mean error of the 10% most uncertain pixels over the mean error.
Targets: median Spearman >= 0.3 and ratio >= 2 on each task. A control scores the translation's own intensity as
if it were the uncertainty map: an uncertainty that only tracks brightness (errors are larger where the signal is)
scores no better than it. One thread per process; ``jobs`` runs at a time.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from benchmarking.processes import run_jobs
from benchmarking.records import RESULTS, provenance, write_record

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ("calcium", "denoising", "mri_t2_pd", "ihc_he_translation")
TARGETS = {"spearman": 0.3, "top_ratio": 2.0}


def score_run(run: str, data: str, checkpoints: int = 3) -> dict:
    """Translate ``data/testA`` with ``run``'s selected model under both ensembles and score the maps; writes
    ``run/uncertainty.json``."""
    import torch

    from common.data import paired_test_items
    from common.engines import load_model_weights
    from common.evaluation.review import review_folder, review_uncertainty
    from common.inference import Outputs, load_error_head, translate_files, uncertainty_translator
    from common.methods import ModelSpec

    torch.set_num_threads(1)
    run_dir, train = Path(run), Path(run) / "train"
    spec = ModelSpec.load(train / "model.pt")
    inputs = [i.A for i in paired_test_items(data)]
    result = {"run": str(run_dir), "threads": torch.get_num_threads()}
    kinds = [("tta", "spread", 1, True), ("tta+ckpt", "spread", int(checkpoints), True)]
    if load_error_head(train / "best_model.pt") is not None:
        kinds += [("head", "error_head", 1, False), ("head+tta", "error_head", 1, True)]
    done = run_dir / "uncertainty.json"
    if done.exists():  # labels scored before are kept
        result = json.loads(done.read_text()) | {"threads": torch.get_num_threads()}
    network = load_model_weights(spec.build_generator(), train / "best_model.pt").eval()  # read once for all labels
    for label, source, count, augment in kinds:
        if label in result:
            continue
        translator = uncertainty_translator(network, spec, train / "best_model.pt", source, count, augment)
        out = run_dir / "uncertainty" / label.replace("+", "_")
        started = time.perf_counter()
        translate_files(
            translator, inputs, out / "mean", spec=spec, outputs=Outputs(overwrite=True, uncertainty_dir=out / "spread")
        )
        seconds = time.perf_counter() - started
        scores = review_uncertainty(out / "mean", out / "spread", data)
        result[label] = scores | {"passes": translator.passes, "seconds": seconds}
        result[label]["translation"] = review_folder(out / "mean", data)
        result[label]["control"] = review_uncertainty(out / "mean", out / "mean", data)  # brightness as "uncertainty"
    (run_dir / "uncertainty.json").write_text(json.dumps(result, indent=2))
    return result


def uncertainty(
    converge_dir: str = "converge",
    datasets: str | tuple | None = None,
    checkpoints: int = 3,
    jobs: int = 2,
    out: str | None = None,
    record: bool = True,
    results: str | None = None,
) -> str:
    """Score every finished convergence run of ``datasets`` (resumable: runs with ``uncertainty.json`` are kept);
    print and write the Markdown report (``out``, default ``CONVERGE_DIR/uncertainty.md``) and, with ``record``, one
    result record per data set (``RESULTS/TASK/uncertainty_DATASET.json``; ``results`` defaults to the project's
    ``results`` folder)."""
    from common.flags import as_bool

    record = as_bool(record, "record")
    root = Path(converge_dir).resolve()
    chosen = datasets.split(",") if isinstance(datasets, str) else list(datasets or DATASETS)
    queue = []
    for name in chosen:
        for run in sorted((root / "runs" / name).glob("*_seed*")):
            scored = json.loads((run / "uncertainty.json").read_text()) if (run / "uncertainty.json").exists() else {}
            if (run / "result.json").exists() and (not scored or ("head" in scored and "head+tta" not in scored)):
                queue.append((run, root / "data" / name))
    commands = []
    for run, data in queue:
        command = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "uncertainty_one", str(run), str(data)]
        command += ["--checkpoints", str(checkpoints)]
        commands.append((command, run / "uncertainty_log.txt", f"{run.parent.name}/{run.name}"))
    run_jobs(commands, jobs)
    text = report(root, chosen, checkpoints)
    Path(out or root / "uncertainty.md").write_text(text)
    print(text)
    if record:
        for name in chosen:
            made = uncertainty_record(root, name)
            if made is not None:
                write_record(made["task"], f"uncertainty_{name}", made, results or RESULTS)
    return text


def uncertainty_record(root: Path, name: str) -> dict | None:
    """The result record of data set ``name``'s scored runs (``None`` when none is scored): per run and ensemble
    the medians over the test images, the control's, and the run's variant and seed."""
    from benchmarking.converge import DATASETS as CONVERGE_SETS

    runs = []
    for path in sorted((root / "runs" / name).glob("*_seed*/uncertainty.json")):
        scored, result = json.loads(path.read_text()), json.loads((path.parent / "result.json").read_text())
        for ensemble in ("tta", "tta+ckpt", "head", "head+tta"):
            if ensemble not in scored:
                continue
            s = scored[ensemble]
            runs.append(
                {
                    "variant": result.get("variant", result["method"]),
                    "seed": result["seed"],
                    "ensemble": ensemble,
                    "passes": s["passes"],
                    "n_images": len(s["per_image"]),
                    "spearman": s["spearman"],
                    "top_ratio": s["top_ratio"],
                    "partial_spearman": s["partial_spearman"],
                    "control_spearman": s["control"]["spearman"],
                    "control_top_ratio": s["control"]["top_ratio"],
                    "translation_psnr": s["translation"]["psnr"],
                    "seconds": s["seconds"],
                }
            )
    if not runs:
        return None
    spec = CONVERGE_SETS[name]
    return {
        "benchmark": "uncertainty",
        "dataset": name,
        "task": spec["task"],
        "label": spec.get("label", f"phantoms of {spec['task']}, {spec.get('phantom_size')} px"),
        "targets": TARGETS,
        "runs": runs,
        "provenance": provenance(threads=1),
    }


def report(root: Path, chosen: list[str], checkpoints: int) -> str:
    """The Markdown table of every scored run under ``root``."""
    lines = [
        f"### Uncertainty against error ({date.today().isoformat()})",
        "",
        "Selected models of the convergence runs; `tta`: mean and spread over the 8 flips/rotations; `tta+ckpt`: "
        f"the same over the selected model and the {checkpoints - 1} latest snapshots of its run; `head`: the "
        "single-pass translation and the map of the learned error head trained beside the generators (runs with "
        "`error_head`); `head+tta`: the 8-flip mean translation with the head's maps of the 8 passes averaged (what "
        "`--uncertainty_source error_head` writes by default). "
        "Per test image: "
        "Spearman correlation of uncertainty and absolute error (translation fitted to the truth), the mean "
        "error of the 10% most uncertain pixels over the mean error, and the partial Spearman correlation given "
        "the translation's brightness; medians over the images (min-max). Control: the translation's own "
        "intensity scored as if it were the uncertainty (errors grow with signal). PSNR: the mean translation, "
        "review score. One thread.",
        "",
        "| data set | method | seed | ensemble | passes | Spearman | top-10% ratio | partial Spearman "
        "| control Spearman / ratio | PSNR | s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary: dict[tuple, list] = {}
    controls: dict[tuple, list] = {}
    for name in chosen:
        for path in sorted((root / "runs" / name).glob("*_seed*/uncertainty.json")):
            r = json.loads(path.read_text())
            method, seed = path.parent.name.rsplit("_seed", 1)
            for label in ("tta", "tta+ckpt", "head", "head+tta"):
                if label not in r:
                    continue
                s = r[label]
                rho = [x["spearman"] for x in s["per_image"]]
                ratio = [x["top_ratio"] for x in s["per_image"]]
                lines.append(
                    f"| {name} | {method} | {seed} | {label} | {s['passes']} | {s['spearman']:.2f} "
                    f"({min(rho):.2f}-{max(rho):.2f}) | {s['top_ratio']:.2f} ({min(ratio):.2f}-{max(ratio):.2f}) "
                    f"| {s['partial_spearman']:.2f} | {s['control']['spearman']:.2f} / {s['control']['top_ratio']:.2f} "
                    f"| {s['translation']['psnr']:.1f} | {s['seconds']:.0f} |"
                )
                summary.setdefault((name, method, label), []).extend(s["per_image"])
                controls.setdefault((name, method, label), []).extend(s["control"]["per_image"])
    lines += [
        "",
        "| data set | method | ensemble | images | median Spearman | median ratio | median partial Spearman "
        "| control Spearman / ratio | targets met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, method, label), rows in summary.items():
        rho = statistics.median(x["spearman"] for x in rows)
        ratio = statistics.median(x["top_ratio"] for x in rows)
        met = rho >= TARGETS["spearman"] and ratio >= TARGETS["top_ratio"]
        c_rho = statistics.median(x["spearman"] for x in controls[(name, method, label)])
        c_ratio = statistics.median(x["top_ratio"] for x in controls[(name, method, label)])
        lines.append(
            f"| {name} | {method} | {label} | {len(rows)} | {rho:.2f} | {ratio:.2f} "
            f"| {statistics.median(x['partial_spearman'] for x in rows):.2f} | {c_rho:.2f} / {c_ratio:.2f} "
            f"| {'yes' if met else 'no'} |"
        )
    return "\n".join(lines) + "\n"
