"""The convergence benchmark: does each method reach a faithful translation within a CPU budget, on every seed?

For every data set (phantoms of every task, and small real dev data sets through ``scripts/prepare_data.py``, read
from ``--shared``), method and seed: train the task's bundle for the same budget, with validation on the
data set's whole ``valA``/``valB`` images (model selection never sees the test set) and a snapshot of the generator at
every validation; then translate ``testA`` with the selected model (``best_model.pt``), the final one and every
snapshot, and score each against ``testB`` with the review scores (:func:`common.metrics.review.review_scores`:
least-squares intensity fit, PSNR and SSIM on the truth's percentile range, PCC), beside the untranslated input.

Each run is its own process with one thread; ``jobs`` of them run at a time (two single-thread runs use a 2-core
machine best). A run whose ``result.json`` exists is not run again, so an interrupted benchmark resumes where it
stopped. The report (``OUT/converge.md``) has per-seed rows, the selection check (the selected model against the
best snapshot on the test set, which only this report looks at) and the targets.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from benchmarking.processes import run_jobs
from benchmarking.records import RESULTS, provenance, write_record

ROOT = Path(__file__).resolve().parents[2]

#: data sets of the benchmark: the bundle task, where the data come from, the training patch
DATASETS: dict[str, dict] = {
    "calcium": {"task": "calcium", "phantom_size": 128, "patch": 96},
    "denoising": {"task": "denoising", "phantom_size": 128, "patch": 96},
    "mri_t2_pd": {"task": "mri_t2_pd", "phantom_size": 96, "patch": 64},
    "if_unmixing": {"task": "if_unmixing", "phantom_size": 128, "patch": 96},
    "ihc_he_translation": {"task": "ihc_he_translation", "phantom_size": 128, "patch": 96},
    "mask_to_nuclei": {"task": "mask_to_nuclei", "phantom_size": 128, "patch": 96},
    "phase_to_dapi": {"task": "phase_to_dapi", "phantom_size": 128, "patch": 96},
    "virtual_he_staining": {"task": "virtual_he_staining", "phantom_size": 128, "patch": 96},
    "w2s": {
        "task": "denoising",
        "prepare": ("w2s", "denoise_w2s", {"n_test": 10, "n_val": 2}),
        "patch": 128,
        "label": "W2S widefield, 8 training fields (4 noisy, 4 clean), 2 validation and 10 test fields x 3 channels",
    },
    "spm": {
        "task": "mri_t2_pd",
        "prepare": ("spm_templates", "mri_spm_avg152", {"validation": True}),
        "patch": 64,
        "label": "SPM avg152 T2 -> PD, 5-slice slabs in turn to trainA / trainB / held out (test and validation)",
    },
    "spm_ixi002": {
        "task": "mri_t2_pd",
        "prepare": ("templates_to_subject", "mri_spm_avg152", {"subject": "mri_ixi002"}),
        "patch": 64,
        "label": "trained on the SPM avg152 T2 / PD templates (slabs to trainA / trainB / validation), tested on a "
        "real subject (IXI002 T2, 28 axial slices; its PD scan resampled onto them as the truth)",
    },
    # the same phantoms without valB: selection by the unsupervised criterion (realism, structure, low-passed cycle)
    "calcium_unsupervised": {
        "task": "calcium",
        "phantom_size": 128,
        "patch": 96,
        "unsupervised": True,
        "label": "phantoms of calcium, 128 px, valB removed: selection by realism, structure, low-passed cycle",
    },
    "denoising_unsupervised": {
        "task": "denoising",
        "phantom_size": 128,
        "patch": 96,
        "unsupervised": True,
        "label": "phantoms of denoising, 128 px, valB removed: selection by realism, structure, low-passed cycle",
    },
    "cellprofiler": {
        "task": "if_unmixing",
        "prepare": ("cellprofiler_unmixing", "if_cellprofiler_human", {"validation": True}),
        "patch": 96,
        "label": "CellProfiler DNA + PH3 summed -> two channels, 128 px tiles (trainA / trainB / test / validation)",
    },
}

#: the CPU networks of the benchmark (the bundles' settings otherwise)
NETWORKS = {
    "cyclegan": {"ngf": 16, "n_blocks": 6, "ndf": 32},
    "ui2i": {"features": [16, 32, 64, 128], "ndf": 32, "content_hidden": 64},
    "stable": {},
}

PRESET = {
    "datasets": [name for name in DATASETS if not DATASETS[name].get("unsupervised")],
    "iterations": 1000,
    "validations": 6,
    "seeds": {"calcium": [0, 1, 2], "denoising": [0, 1, 2], "w2s": [0, 1, 2]},
    "default_seeds": [0],
}


#: the baselines' rows in the report (formatted with their scores and settings)
BASELINE_LABELS = {
    "input": "input (untranslated)",
    "histogram": "histogram match of the input to trainB",
    "histogram_inverted": "histogram match of the inverted input to trainB",
    "blur": "Gaussian blur of the input (sigma {sigma:g} px, chosen on validation)",
}


def paper_method(task: str) -> str:
    """The bundle's default method (STABLE where that default is CycleGAN)."""
    config = json.loads((ROOT / "bundles" / task / "configs" / "train.json").read_text())
    return config["method"] if config["method"] != "cyclegan" else "stable"


def prepare(name: str, root: Path, shared: Path | None = None) -> Path:
    """The data set ``name`` under ``root`` (made once: phantoms, or ``prepare_data`` of the dev data under
    ``shared``)."""
    spec = DATASETS[name]
    out = root / "data" / name
    if (out / "phantom.json").exists() or (out / "prepared.json").exists():
        return out
    if "prepare" in spec:
        from common.prepare import DATASETS as PREPARERS

        kind, folder, options = spec["prepare"]
        if shared is None:
            raise ValueError(f"{name} is prepared from real dev data: pass the folder holding it as --shared")
        source = Path(shared) / folder
        if not source.is_dir():
            raise FileNotFoundError(f"{source}: the dev data of {name} is not there")
        options = {k: Path(shared) / v if k == "subject" else v for k, v in options.items()}
        PREPARERS[kind](source, out, **options)
    else:
        from common.phantoms import make_phantoms

        make_phantoms(spec["task"], out, n_train=8, n_test=4, n_val=2, size=spec["phantom_size"], seed=0)
        if spec.get("unsupervised"):
            shutil.rmtree(out / "valB")
    return out


def score_folder(predictions: Path, data: Path) -> dict[str, float]:
    """Median review scores and artefact scores of the translations in ``predictions`` against ``data/testB``."""
    from common.evaluation.review import review_artefacts, review_folder

    return review_folder(predictions, data) | review_artefacts(predictions, data)


def input_scores(data: Path) -> dict[str, float]:
    """The untranslated input scored as a translation."""
    from common.data import paired_test_items

    return score_folder(Path(paired_test_items(data)[0].A).parent, data)


def task_spec(task: str) -> dict:
    """What a baseline needs of a bundle's ``train.json``: geometry, normalisations, polarity."""
    config = json.loads((ROOT / "bundles" / task / "configs" / "train.json").read_text())
    keys = ("spatial_dims", "channels_a", "channels_b", "axes_a", "axes_b", "normalization_a", "normalization_b")
    return {k: config.get(k) for k in keys} | {"polarity": int(config["addons"].get("polarity", 1))}


def baselines(name: str, root: Path) -> dict[str, dict]:
    """The no-network baselines of data set ``name`` (prepared under ``root/data``), scored as translations:
    ``{baseline: review scores (+ the blur's chosen width)}``, cached in ``root/baselines/NAME.json``. The blur is
    there for denoising tasks with validation pairs."""
    cache = root / "baselines" / f"{name}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    from common.data import paired_test_items
    from common.errors import InputDataError
    from common.evaluation.trivial import default_baselines, make_baseline
    from common.inference import Outputs, Tiling, translate_files

    data, task = root / "data" / name, DATASETS[name]["task"]
    spec = task_spec(task)
    inputs = [i.A for i in paired_test_items(data)]
    scores: dict[str, dict] = {"input": input_scores(data) | {"label": BASELINE_LABELS["input"]}}
    for baseline in default_baselines(spec["polarity"], denoising=task == "denoising"):
        if baseline == "input":
            continue
        try:
            module, chosen = make_baseline(baseline, data, spec)
        except InputDataError:  # no validation pairs to choose the blur's width on
            continue
        folder = root / "baselines" / name / baseline
        translate_files(
            module,
            inputs,
            folder,
            spec={
                "normalization_a": spec["normalization_a"],
                "spatial_dims": spec["spatial_dims"],
                "axes_a": spec["axes_a"],
                "normalization_b": spec["normalization_b"],
            },
            tiling=Tiling(roi_size=2**16),
            outputs=Outputs(overwrite=True),
        )
        scores[baseline] = score_folder(folder, data) | chosen | {"label": BASELINE_LABELS[baseline].format(**chosen)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(scores, indent=2))
    return scores


def train_bundle(train_json: Path, overrides: dict) -> float:
    """Train a bundle's ``train.json`` with ``overrides`` (initialize, run, finalize); the seconds it took."""
    from monai.bundle import ConfigWorkflow

    started = time.perf_counter()
    workflow = ConfigWorkflow(config_file=str(train_json), workflow_type="train", **overrides)
    workflow.initialize()
    workflow.run()
    workflow.finalize()
    return time.perf_counter() - started


def run_one(
    dataset: str,
    method: str,
    seed: int,
    out: str,
    iterations: int,
    validations: int,
    data: str,
    overrides: dict | None = None,
    variant: str | None = None,
) -> dict:
    """Train one (data set, method, seed) run with the bundle, then score its models; writes ``result.json``.
    ``overrides``: further bundle overrides (``{"grad_clip": 1.0}``, ``{"hyperparameters#stable#ndf": 16}``);
    ``variant``: the run's row label in reports and records (default: the method)."""
    extra = dict(overrides or {})
    import torch

    from common.data import paired_test_items
    from common.engines import load_model_weights, read_validation_log
    from common.inference import Outputs, translate_files
    from common.methods import ModelSpec

    torch.set_num_threads(1)
    origin = provenance(threads=1)  # before training: the code that trains, not whatever is committed later
    spec = DATASETS[dataset]
    task, patch = spec["task"], int(spec["patch"])
    run, configs = Path(out), ROOT / "bundles" / spec["task"] / "configs"
    train_config = json.loads((configs / "train.json").read_text())
    dims = train_config["spatial_dims"]
    interval = max(1, iterations // validations)
    overrides = {
        "dataset_dir": data,
        "output_dir": str(run / "train"),
        "method": method,
        "seed": int(seed),
        "max_iterations": int(iterations),
        "patch_size": [patch] * dims,
        "val_size": None,  # whole validation images: 96-px centre crops could not tell a 7 dB gap on W2S apart
        "val_interval": interval,
        "checkpoint_interval": iterations,
        "sample_interval": iterations,
        "epoch_length": interval,
        "keep_snapshots": True,
    }
    overrides |= {f"hyperparameters#{method}#{k}": v for k, v in NETWORKS.get(method, {}).items()} | extra
    seconds = train_bundle(configs / "train.json", overrides)
    train = run / "train"
    inputs = [i.A for i in paired_test_items(data)]

    def scores(model: Path) -> dict[str, float]:
        model_spec = ModelSpec.load(train / "model.pt")
        network = load_model_weights(model_spec.build_generator(), model)
        folder = run / "predictions" / model.stem
        translate_files(network, inputs, folder, spec=model_spec, outputs=Outputs(overwrite=True))
        return score_folder(folder, Path(data))

    snapshots = sorted((train / "snapshots").glob("model_iteration=*.pt"), key=lambda p: int(p.stem.split("=")[1]))
    result = {
        "dataset": dataset,
        "task": task,
        "method": method,
        "variant": variant or method,
        "provenance": origin,
        "seed": int(seed),
        "iterations": int(iterations),
        "patch": int(overrides["patch_size"][0]),
        "train_s": seconds,
        "threads": torch.get_num_threads(),
        "selected": scores(train / "best_model.pt"),
        "final": scores(train / "model.pt"),
        "snapshots": {p.stem.split("=")[1]: scores(p) for p in snapshots},
        "validation": read_validation_log(train / "validation.csv"),
        "networks": NETWORKS.get(method, {}),
        "overrides": extra,
    }
    (run / "result.json").write_text(json.dumps(result, indent=2))
    return result


def converge(
    out: str = "converge",
    datasets: str | tuple | None = None,
    methods: str | tuple | None = None,
    iterations: int | None = None,
    seeds: str | int | tuple | None = None,
    jobs: int = 2,
    shared: str | None = None,
    overrides: dict | None = None,
    variant: str | None = None,
    record: bool = True,
    results: str | None = None,
) -> str:
    """Run the benchmark (resumable); print and write ``OUT/converge.md``, and with ``record`` one result record
    per data set (``RESULTS/TASK/converge_DATASET.json``: every run found under ``OUT/runs/DATASET``; ``results``
    defaults to the project's ``results`` folder). ``seeds``
    overrides the preset's seeds for every data set; ``methods`` the default pair (CycleGAN and the task's paper
    method); ``overrides`` bundle settings of these runs, labelled ``variant`` (default: the method)."""
    from common.flags import as_bool

    record = as_bool(record, "record")  # fire passes "--record false" as the string "false"
    root = Path(out).resolve()
    chosen = datasets.split(",") if isinstance(datasets, str) else list(datasets or PRESET["datasets"])
    iterations = int(iterations or PRESET["iterations"])
    shared_dir = Path(shared) if shared else None
    queue = []
    for name in chosen:
        data = prepare(name, root, shared_dir)
        names = (methods.split(",") if isinstance(methods, str) else list(methods)) if methods else None
        names = names or ["cyclegan", paper_method(DATASETS[name]["task"])]
        if seeds is None:
            seed_list = PRESET["seeds"].get(name, PRESET["default_seeds"])
        else:
            seed_list = [int(s) for s in (seeds if isinstance(seeds, (list, tuple)) else str(seeds).split(","))]
        for seed in seed_list:
            for method in names:
                label = f"{method} {variant}" if variant else method
                run = root / "runs" / name / f"{label.replace(' ', '_')}_seed{seed}"
                if not (run / "result.json").exists():
                    queue.append((name, method, seed, run, data, label))
    _run_queue(queue, iterations, int(jobs), overrides)
    text = report(root, chosen, iterations)
    (root / "converge.md").write_text(text)
    print(text)
    if record:
        for name in chosen:
            found = sorted((root / "runs" / name).glob("*/result.json"))
            if found:
                task = DATASETS[name]["task"]
                record_data = converge_record(name, root, found)
                earlier = Path(results or RESULTS) / task / f"converge_{name}.json"
                if earlier.exists():
                    record_data = merge_runs(json.loads(earlier.read_text()), record_data)
                write_record(task, f"converge_{name}", record_data, results or RESULTS)
    return text


def _tta(result_file: Path) -> dict | None:
    """The selected model's scores as inference translates by default with ``--uncertainty true`` (the mean over
    the 8 flips and rotations), where ``benchmark.py uncertainty`` has scored the run."""
    scored = result_file.parent / "uncertainty.json"
    if not scored.exists():
        return None
    return {k: v for k, v in json.loads(scored.read_text())["tta"]["translation"].items() if k != "n"}


def _numbers(row: dict[str, str]) -> dict[str, float]:
    """A validation log row with its numeric cells as floats (what choosing between variants may look at)."""
    out = {}
    for key, value in row.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def converge_record(name: str, root: Path, result_files: list[Path]) -> dict:
    """The result record of one data set's runs: budget, baselines, per run its scores and provenance."""
    spec = DATASETS[name]
    results = [json.loads(p.read_text()) | {"tta": _tta(p)} for p in result_files]
    keep = ("psnr", "ssim", "pcc", "artefact", "streaks_horizontal", "streaks_vertical", "checkerboard")
    runs = [
        {
            "variant": r.get("variant", r["method"]),
            "method": r["method"],
            "seed": r["seed"],
            "iterations": r["iterations"],
            "patch": r["patch"],
            "overrides": r.get("overrides", {}),
            "networks": r.get("networks", {}),
            "selected": {k: r["selected"][k] for k in keep if k in r["selected"]},
            "final": {k: r["final"][k] for k in keep if k in r["final"]},
            "selected_mean_of_flips": r["tta"],
            "validation": [_numbers(row) for row in r.get("validation", [])],
            "train_s": r["train_s"],
            "provenance": r.get("provenance", {"cpu": "unrecorded", "threads": r.get("threads"), "commit": ""}),
        }
        for r in sorted(results, key=lambda r: (r.get("variant", r["method"]), r["seed"]))
    ]
    iterations = sorted({r["iterations"] for r in results})
    patches = sorted({r["patch"] for r in results})
    return {
        "benchmark": "converge",
        "dataset": name,
        "task": spec["task"],
        "label": spec.get("label", f"phantoms of {spec['task']}, {spec.get('phantom_size')} px"),
        "data": json.loads(next((root / "data" / name).glob("*.json")).read_text()),
        "iterations": iterations[0] if len(iterations) == 1 else iterations,
        "patch": patches[0] if len(patches) == 1 else patches,
        "validations": PRESET["validations"],
        "baselines": baselines(name, root),
        "runs": runs,
    }


def merge_runs(earlier: dict, record: dict) -> dict:
    """``record`` with the runs of an ``earlier`` record of the same data set kept where ``record`` has no run of
    that variant and seed, so that runs made in different output folders accumulate in one record (each run keeps
    its own budget and patch). Earlier runs are dropped, not mixed in, when the data split, the number of
    validations or the baselines differ (they describe other test data or another selection)."""
    same = all(earlier.get(k) == record.get(k) for k in ("dataset", "data", "validations"))
    if not same or earlier.get("baselines", {}).keys() != record["baselines"].keys():
        return record
    new = {(r["variant"], r["seed"]) for r in record["runs"]}
    kept = [r for r in earlier["runs"] if (r["variant"], r["seed"]) not in new]
    runs = sorted(kept + record["runs"], key=lambda r: (r["variant"], r["seed"]))
    for run in kept:  # runs recorded before budgets were kept per run had the earlier record's
        run.setdefault("iterations", earlier["iterations"])
    patches = sorted({r["patch"] for r in runs})
    budgets = sorted({r["iterations"] for r in runs})
    return record | {
        "runs": runs,
        "patch": patches[0] if len(patches) == 1 else patches,
        "iterations": budgets[0] if len(budgets) == 1 else budgets,
    }


def _run_queue(queue: list, iterations: int, jobs: int, overrides: dict | None = None) -> None:
    commands = []
    for name, method, seed, run, data, label in queue:
        command = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "converge_one", name, method, str(seed)]
        command += [str(run), str(iterations), str(PRESET["validations"]), str(data)]
        command += ["--overrides", json.dumps(overrides or {}), "--variant", label]
        commands.append((command, run / "log.txt", f"{name}/{label}_seed{seed}"))
    run_jobs(commands, jobs)


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def report(root: Path, chosen: list[str], iterations: int) -> str:
    """The Markdown report of every finished run under ``root``."""
    lines = [
        f"### Convergence benchmark, {iterations} iterations ({date.today().isoformat()})",
        "",
        "Each run: batch 1, one thread (two runs in parallel on the 2-core machine), fp32, the bundle's defaults "
        f"with CPU networks {json.dumps(NETWORKS)} (Ui2i's learning rate follows its width: 4e-4 for 16 features "
        f"in the first level); validation {PRESET['validations']} times per run on the data "
        "set's validation split; reported: the selected model (`best_model.pt`). Scores: median over the test "
        "images after a least-squares intensity fit (PSNR in dB, SSIM), PCC on raw values; `oracle` is the best "
        "snapshot on the test set (for the selection check only); `gap` = oracle - selected PSNR.",
        "",
    ]
    summary = []
    for name in chosen:
        results = [json.loads(p.read_text()) for p in sorted((root / "runs" / name).glob("*/result.json"))]
        if not results:
            continue
        rows = baselines(name, root)
        base = rows["input"]
        best = max(rows, key=lambda k: rows[k]["psnr"])
        spec = DATASETS[name]
        label = spec.get("label", f"phantoms of {spec['task']}, {spec.get('phantom_size')} px")
        lines += [
            f"#### `{name}` ({label}; patch {spec['patch']})",
            "",
            "| method | seed | PSNR | SSIM | PCC | final PSNR | oracle PSNR | gap | train s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for baseline, b in rows.items():
            text = BASELINE_LABELS.get(baseline, baseline).format(**b)
            lines.append(
                f"| {text}{' (best baseline)' if baseline == best else ''} | - | {_fmt(b['psnr'])} | {_fmt(b['ssim'])} "
                f"| {_fmt(b['pcc'])} | - | - | - | - |"
            )
        by_method: dict[str, list[dict]] = {}
        for r in sorted(results, key=lambda r: (r.get("variant", r["method"]), r["seed"])):
            s, f = r["selected"], r["final"]
            oracle = max(v["psnr"] for v in r["snapshots"].values()) if r["snapshots"] else s["psnr"]
            lines.append(
                f"| {r.get('variant', r['method'])} | {r['seed']} | {_fmt(s['psnr'])} | {_fmt(s['ssim'])} "
                f"| {_fmt(s['pcc'])} "
                f"| {_fmt(f['psnr'])} | {_fmt(oracle)} | {oracle - s['psnr']:.2f} | {r['train_s']:.0f} |"
            )
            by_method.setdefault(r.get("variant", r["method"]), []).append(r | {"oracle": oracle})
        lines.append("")
        for method, rs in by_method.items():
            psnr = [r["selected"]["psnr"] for r in rs]
            summary.append(
                {
                    "dataset": name,
                    "method": method,
                    "paper": rs[0]["method"] == paper_method(spec["task"]),
                    "median": statistics.median(psnr),
                    "std": statistics.stdev(psnr) if len(psnr) > 1 else 0.0,
                    "min_pcc": min(r["selected"]["pcc"] for r in rs),
                    "beats_input": all(p > base["psnr"] for p in psnr),
                    "over_input": statistics.median(psnr) - base["psnr"],
                    "best_baseline": best,
                    "over_baseline": statistics.median(psnr) - rows[best]["psnr"],
                    "pcc_over_baseline": statistics.median(r["selected"]["pcc"] for r in rs) - rows[best]["pcc"],
                    "max_gap": max(r["oracle"] - r["selected"]["psnr"] for r in rs),
                    "seeds": len(rs),
                }
            )
    lines += [
        "#### Summary against the targets",
        "",
        "| data set | method | seeds | median PSNR | over input | best baseline | over it (PSNR / PCC) | std PSNR "
        "| min PCC | beats input on every seed | max selection gap |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        lines.append(
            f"| {s['dataset']} | {s['method']}{' (paper)' if s['paper'] else ''} | {s['seeds']} | {_fmt(s['median'])} "
            f"| {s['over_input']:+.2f} | {s['best_baseline']} "
            f"| {s['over_baseline']:+.2f} / {s['pcc_over_baseline']:+.3f} | {s['std']:.2f} | {s['min_pcc']:.3f} "
            f"| {'yes' if s['beats_input'] else 'no'} | {s['max_gap']:.2f} |"
        )
    return "\n".join(lines) + "\n"
