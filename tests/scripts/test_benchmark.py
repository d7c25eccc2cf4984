"""The fidelity benchmark end to end at a toy scale: every method trained and evaluated on the same data, the
input baseline and the reference count in one table, written where asked."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlflow import MlflowClient

ROOT = Path(__file__).resolve().parents[2]


def test_fidelity_table_for_two_methods_with_baseline(tmp_path):
    cmd = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "fidelity", "--task", "calcium"]
    cmd += ["--iterations", "2", "--patch", "32", "--phantom_size", "48", "--out", str(tmp_path)]
    cmd += ["--tracking_uri", f"sqlite:///{tmp_path / 'bench.db'}"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    table = (tmp_path / "calcium" / "fidelity.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    header, *body = rows
    assert [r.split("|")[1].strip() for r in body] == ["input (untranslated)", "cyclegan", "stable"]
    for metric in ("psnr", "ssim", "f1", "distance", "trace_pcc"):
        assert metric in header
    assert "Reference:" in table and "true objects per image" in table
    cells = [c.strip() for c in body[1].split("|")[3:-1]]
    assert all(c != "" for c in cells) and any(c[0].isdigit() or c[0] == "-" for c in cells)
    for method in ("cyclegan", "stable"):
        assert (tmp_path / "calcium" / method / "evaluation" / "summary.json").exists()
    # one MLflow run per row, with the row's medians and the table as an artifact
    runs = _benchmark_runs(tmp_path / "bench.db")
    assert sorted(r.info.run_name for r in runs) == [
        "fidelity calcium cyclegan",
        "fidelity calcium input (untranslated)",
        "fidelity calcium stable",
    ]
    cyclegan = next(r for r in runs if r.info.run_name.endswith("cyclegan"))
    assert cyclegan.data.params["task"] == "calcium" and cyclegan.data.params["iterations"] == "2"
    psnr_cell = body[1].split("|")[header.split("|").index(" psnr ")].split()[0]
    assert f"{cyclegan.data.metrics['psnr']:.3g}" == psnr_cell
    assert "train_s" in cyclegan.data.metrics and "psnr_iqr" in cyclegan.data.metrics
    artifact = MlflowClient(f"sqlite:///{tmp_path / 'bench.db'}").download_artifacts(
        cyclegan.info.run_id, "fidelity calcium.md", str(tmp_path / "dl")
    )
    assert Path(artifact).read_text() == table


def _benchmark_runs(db: Path):
    client = MlflowClient(f"sqlite:///{db}")
    experiment = client.get_experiment_by_name("benchmarks")
    return client.search_runs([experiment.experiment_id])


def test_speed_flops_inference_and_overhead_commands_write_tables(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    script = str(ROOT / "scripts" / "benchmark.py")
    out = tmp_path / "tables.md"
    commands = [
        ["flops", "--methods", "stable", "--patch", "32", "--repeats", "1", "--threads", "1", "--channels_last"]
        + ["--matmul_size", "256"],
        ["inference", "--methods", "stable", "--volume", "(4,32,32)", "--tile_image", "64", "--repeats", "1"],
        ["overhead", "--patch", "32", "--iterations", "2", "--rounds", "1", "--threads", "1"],
        ["speed", "--methods", "stable,fastcut", "--patch", "32", "--iterations", "3", "--threads", "1", "--amp"]
        + ["--results", str(tmp_path / "results")],
        ["speedups", "--method", "cyclegan", "--patch", "32", "--iterations", "2", "--rounds", "1", "--threads", "1"]
        + ["--settings", "reference: fp32 + Adam loop,fused Adam,bf16 + fused + channels-last", "--matmul_size", "256"],
    ]
    uri = f"sqlite:///{tmp_path / 'bench.db'}"
    for args in commands:
        done = subprocess.run(
            [sys.executable, script, *args, "--append", str(out), "--tracking_uri", uri],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    flops_row = next(line for line in text.splitlines() if line.startswith("| stable |") and "%" in line)
    assert float(flops_row.split("|")[2]) > 0  # TFLOP per iteration counted
    assert "batched / one" in text and "Engine / plain at the same settings:" in text and "Speed-up" in text
    speed_rows = [line for line in text.splitlines() if line.startswith(("| stable |", "| fastcut |"))][-2:]
    for row in speed_rows:  # s/it, min, max, pairs/s, data share, peak RSS, params
        cells = [c.strip() for c in row.split("|")[2:-1]]
        assert len(cells) == 7 and float(cells[0]) > 0 and cells[4].endswith("%") and float(cells[5]) > 0.1
    runs = _benchmark_runs(tmp_path / "bench.db")
    names = sorted(r.info.run_name for r in runs)
    assert names == [
        "flops stable",
        "inference stable",
        "overhead cyclegan",
        "speed fastcut",
        "speed stable",
        "speedups fused Adam",
        "speedups reference: fp32 + Adam loop",
    ]
    speedup_rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert speedup_rows["reference: fp32 + Adam loop"].split("|")[3].strip() == "1.00x"
    assert float(speedup_rows["fused Adam"].split("|")[4].split()[0]) > 0 and "%" in speedup_rows["fused Adam"]
    assert "refused: channels_last is not supported" in speedup_rows["bf16 + fused + channels-last"]
    speed_stable = next(r for r in runs if r.info.run_name == "speed stable")
    assert speed_stable.data.params["amp"] == "True"
    assert abs(speed_stable.data.metrics["median_s"] - float(speed_rows[0].split("|")[2])) < 0.006
    overhead_run = next(r for r in runs if r.info.run_name == "overhead cyclegan")
    assert overhead_run.data.metrics["speedup_fast_over_reference"] > 0
    # the speed run is a record too, with its provenance, and BENCHMARKS renders it
    sys.path.insert(0, str(ROOT / "scripts"))
    from benchmarking.records import read_records, render

    (record,) = read_records(tmp_path / "results")
    assert record["benchmark"] == "speed" and record["task"] == "calcium" and record["patch"] == 32
    assert [r["method"] for r in record["rows"]] == ["stable", "fastcut"] and record["provenance"]["threads"] == 1
    assert abs(record["rows"][0]["median_s"] - float(speed_rows[0].split("|")[2])) < 0.006
    assert "## Training speed" in render([record]) and "| stable |" in render([record])


def test_refuses_a_non_boolean_switch():
    script = str(ROOT / "scripts" / "benchmark.py")
    done = subprocess.run(
        [sys.executable, script, "speed", "--amp", "false", "--notrack"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0 and "amp must be true or false" in done.stderr


def test_precision_pairs_fp32_and_bf16_runs_by_seed_and_reuses_finished_runs(tmp_path):
    script = str(ROOT / "scripts" / "benchmark.py")
    cmd = [sys.executable, script, "precision", "--tasks", "calcium", "--seeds", "0,1", "--methods", "cyclegan"]
    cmd += ["--iterations", "2", "--patch", "32", "--phantom_size", "48", "--threads", "1", "--out", str(tmp_path)]
    cmd += ["--append", str(tmp_path / "t.md"), "--notrack"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    for run in ("noamp/seed0", "noamp/seed1", "amp/seed0", "amp/seed1"):
        assert (tmp_path / run / "calcium" / "cyclegan" / "evaluation" / "summary.json").exists()
    table = (tmp_path / "t.md").read_text()
    psnr = next(line for line in table.splitlines() if line.startswith("| cyclegan | psnr |"))
    cells = [c.strip() for c in psnr.split("|")[1:-1]]
    fp32 = [float(pair.split("/")[0]) for pair in cells[6].split(", ")]
    bf16 = [float(pair.split("/")[1]) for pair in cells[6].split(", ")]
    assert len(fp32) == 2 and float(cells[4]) == pytest.approx(
        sum(b - a for a, b in zip(fp32, bf16, strict=True)) / 2, abs=0.011
    )
    # a second call reuses the finished runs: no training, the same table
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0 and "cyclegan: trained" not in again.stdout
    assert psnr in again.stdout


def test_bundle_inference_times_both_tilings_on_the_tasks_own_files(tmp_path):
    script = str(ROOT / "scripts" / "benchmark.py")
    cmd = [sys.executable, script, "bundle_inference", "--bundles", "mask_to_nuclei", "--images", "2", "--size", "40"]
    cmd += ["--jobs", "1", "--out", str(tmp_path), "--append", str(tmp_path / "t.md")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "mask_to_nuclei.json").read_text())
    assert result["images"] == 2 and result["shape"] == [40, 40] and result["threads"] == 1
    assert result["patch tiles"] > 0 and result["whole image"] > 0
    written = sorted(p.name for p in (tmp_path / "mask_to_nuclei_whole_image").iterdir())
    assert written == sorted(p.name for p in (tmp_path / "mask_to_nuclei_data" / "testA").iterdir())
    row = next(line for line in (tmp_path / "t.md").read_text().splitlines() if line.startswith("| mask_to_nuclei"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1] == "cyclegan" and float(cells[4]) == pytest.approx(result["whole image"] / 2, abs=0.006)


def test_identity_table_learns_the_identity_at_a_usable_rate_and_not_at_a_negligible_one(tmp_path):
    from common.phantoms import make_phantoms

    data = tmp_path / "data"
    make_phantoms("denoising", data, n_train=2, n_test=1, size=96, seed=0)
    cmd = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "identity", str(data), "--dataset", "denoising"]
    cmd += ["--methods", "stable", "--lrs", "1e-8,3e-3", "--iterations", "60", "--threads", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    header, *body = rows
    assert [c.strip() for c in header.split("|")[1:-1]] == ["method", "lr", "against", "PSNR @25", "PSNR @50", "s"]
    cells = {(r.split("|")[2].strip(), r.split("|")[3].strip()): r.split("|")[4:6] for r in body}
    against = ("input", "truth (fitted PSNR / PCC)")
    assert set(cells) == {(lr, a) for lr in ("1e-08", "0.003") for a in against}
    scores = {lr: [float(c) for c in cells[lr, "input"]] for lr in ("1e-08", "0.003")}
    # the same initial weights for both rows: the negligible rate stays where it started, the usable one learns
    assert abs(scores["1e-08"][1] - scores["1e-08"][0]) < 0.1
    assert scores["0.003"][1] > scores["1e-08"][1] + 1.0
    # the phantoms have ground truth: the same outputs scored against it, PSNR / PCC, PCC within [-1, 1]
    truth = [[float(v) for v in c.split("/")] for c in cells["0.003", "truth (fitted PSNR / PCC)"]]
    assert all(p > 0 and -1 <= c <= 1 for p, c in truth)


def test_error_head_cost_times_training_with_and_without_the_head(tmp_path):
    out = tmp_path / "cost.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "error_head_cost", "--tasks", "calcium",
         "--networks", "cpu", "--iterations", "3", "--rounds", "1", "--append", str(out)],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    row = next(line for line in out.read_text().splitlines() if line.startswith("| calcium stable (CPU networks"))
    without, with_head, share = (c.strip() for c in row.split("|")[2:5])
    assert float(without) > 0 and float(with_head) > 0 and share.endswith("%")


def _record(psnr):
    run = {
        "variant": "stable",
        "method": "stable",
        "seed": 0,
        "selected": {"psnr": psnr, "ssim": 0.8, "pcc": 0.99, "artefact": 1.05},
        "train_s": 600.0,
        "provenance": {"cpu": "Test CPU", "threads": 1, "commit": "0123456789abcdef"},
    }
    return {
        "benchmark": "converge",
        "dataset": "w2s",
        "task": "denoising",
        "label": "W2S test fields",
        "iterations": 2000,
        "patch": 128,
        "validations": 6,
        "baselines": {
            "input": {"psnr": 20.0, "ssim": 0.3, "pcc": 0.9, "label": "input (untranslated)"},
            "blur": {"psnr": 32.0, "ssim": 0.85, "pcc": 0.99, "label": "Gaussian blur"},
        },
        "runs": [run, run | {"seed": 1, "selected": run["selected"] | {"psnr": psnr + 1}}],
    }


def test_results_page_is_generated_from_the_records_and_checked(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from benchmarking.records import BEGIN, END, report, write_record

    results, readme, page = tmp_path / "results", tmp_path / "README.md", tmp_path / "BENCHMARKS.md"
    readme.write_text(f"# Project\n\n{BEGIN}\nold table\n{END}\n\nSet-up.\n")
    write_record("denoising", "converge_w2s", _record(33.0), results)
    cmd = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "report", "--results", str(results)]
    cmd += ["--readme", str(readme), "--page", str(page)]
    assert subprocess.run(cmd + ["--check"], capture_output=True, timeout=120).returncode != 0  # no page yet
    text = report(str(results), readme=str(readme), page=str(page))
    assert page.read_text() == text and text.startswith("# Benchmarks")
    assert "| Gaussian blur **(best baseline)** |" in text and "| stable | 0,1 | 33.50 (33.00-34.00) |" in text
    assert "+1.50" in text and "Test CPU, 1 thread(s)" in text and "0123456789" in text
    table = readme.read_text()
    assert "old table" not in table and table.endswith(f"{END}\n\nSet-up.\n")
    assert "| denoising | w2s | stable | 2 | 33.50 / 0.800 / 0.990 | Gaussian blur: 32.00" in table
    assert "| +1.50 / +0.000 | 1.05 |" in table
    assert subprocess.run(cmd + ["--check"], capture_output=True, timeout=120).returncode == 0
    write_record("denoising", "converge_w2s", _record(30.0), results)  # a new record, the pages not regenerated
    done = subprocess.run(cmd + ["--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "not what the records give" in done.stderr


def test_the_projects_results_page_is_up_to_date():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "report", "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_convergence_runs_become_a_record_with_baselines_and_provenance(tmp_path):
    """Two iterations of one seed on the denoising phantoms: the report shows the baselines (the blur chosen on the
    validation pairs) and the margin over the best; the record holds the run's scores and where they came from."""
    cmd = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "converge", "--out", str(tmp_path / "conv")]
    cmd += ["--datasets", "denoising", "--methods", "stable", "--iterations", "2", "--seeds", "0", "--jobs", "1"]
    cmd += ["--overrides", '{"addons#lambda_selfsup": 1.0}', "--variant", "selfsup"]
    cmd += ["--results", str(tmp_path / "results")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = (tmp_path / "conv" / "converge.md").read_text()
    assert "histogram match of the input to trainB" in table and "chosen on validation" in table
    assert "(best baseline)" in table and "| stable selfsup | 0 |" in table
    record = json.loads((tmp_path / "results" / "denoising" / "converge_denoising.json").read_text())
    assert set(record["baselines"]) == {"input", "histogram", "blur"}
    (run,) = record["runs"]
    assert run["variant"] == "stable selfsup" and run["overrides"] == {"addons#lambda_selfsup": 1.0}
    assert {"psnr", "ssim", "pcc", "artefact"} <= set(run["selected"])
    assert run["provenance"]["threads"] == 1 and len(run["provenance"]["commit"]) == 40
    assert record["iterations"] == 2 and record["patch"] == 96


def test_convergence_records_keep_earlier_runs_of_the_same_split_and_drop_those_of_another():
    sys.path.insert(0, str(ROOT / "scripts"))
    from benchmarking.converge import merge_runs
    from benchmarking.records import converge_table

    def record(psnr):
        made = _record(psnr) | {"data": {"counts": {"testA": 30}}}
        return made | {"runs": [r | {"patch": 128, "iterations": 2000} for r in made["runs"]]}

    earlier, new = record(32.0), record(33.0)
    new["runs"] = [new["runs"][1] | {"variant": "stable wide", "patch": 96, "iterations": 4000}]
    new |= {"iterations": 4000, "patch": 96}
    merged = merge_runs(earlier, new)
    assert [(r["variant"], r["seed"]) for r in merged["runs"]] == [("stable", 0), ("stable", 1), ("stable wide", 1)]
    assert merged["patch"] == [96, 128] and merged["iterations"] == [2000, 4000]
    table = "\n".join(converge_table(merged))
    assert "| stable, 2000 its, 128 px | 0,1 |" in table and "| stable wide, 4000 its, 96 px | 1 |" in table
    rerun = merge_runs(earlier, record(35.0))  # same variant and seeds: the new runs replace the earlier ones
    assert [r["selected"]["psnr"] for r in rerun["runs"]] == [35.0, 36.0] and rerun["iterations"] == 2000
    other_split = merge_runs(earlier, new | {"data": {"counts": {"testA": 10}}})
    assert [(r["variant"], r["seed"]) for r in other_split["runs"]] == [("stable wide", 1)]


def test_bundle_docs_show_the_default_and_the_baselines_it_must_beat_and_leave_variants_to_the_page():
    sys.path.insert(0, str(ROOT / "scripts"))
    from benchmarking.records import bundle_table, converge_table

    record = _record(33.0)
    record["runs"][0] |= {"variant": "stable (bundle default)"}
    record["runs"][1] |= {"variant": "stable, lambda_adv 1 (previous default)"}
    docs, page = bundle_table(record), "\n".join(converge_table(record))
    assert "| stable (bundle default) | 0 |" in docs and "previous default" not in docs
    assert "Gaussian blur **(best baseline)**" in docs and "| input (untranslated) |" in docs
    assert "| stable, lambda_adv 1 (previous default) | 1 |" in page
    assert "| stable | 0,1 |" in bundle_table(_record(33.0))  # no run marked as the default: every run is shown


def test_uncertainty_scores_become_a_record_and_a_table_with_the_control(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from benchmarking.records import bundle_table, render
    from benchmarking.uncertainty import uncertainty_record

    per_image = [{"spearman": 0.4, "top_ratio": 2.5, "partial_spearman": 0.3}]
    for seed, rho in ((0, 0.4), (1, 0.1)):
        run = tmp_path / "runs" / "w2s" / f"stable_seed{seed}"
        run.mkdir(parents=True)
        (run / "result.json").write_text(json.dumps({"method": "stable", "variant": "stable (bundle default)",
                                                     "seed": seed}))  # fmt: skip
        scores = {"spearman": rho, "top_ratio": 2.5, "partial_spearman": 0.3, "per_image": per_image, "passes": 8}
        scores |= {"seconds": 3.0, "translation": {"psnr": 32.0}, "control": {"spearman": 0.1, "top_ratio": 1.2}}
        (run / "uncertainty.json").write_text(json.dumps({"tta": scores}))
    record = uncertainty_record(tmp_path, "w2s")
    assert record["task"] == "denoising" and [r["seed"] for r in record["runs"]] == [0, 1]
    assert record["runs"][1]["spearman"] == 0.1 and len(record["provenance"]["commit"]) == 40
    page = render([record])
    assert "## Uncertainty" in page and "| stable (bundle default) | tta | 0,1 | 0.25 (0.10-0.40) |" in page
    assert "| 0.10 / 1.20 | no |" in page  # the median Spearman misses 0.3 (the ratio meets 2); the control beside
    assert uncertainty_record(tmp_path, "calcium") is None
    assert "| stable (bundle default) | tta |" in bundle_table(record)  # the bundle docs show the default's rows
    variant = record | {"runs": [r | {"variant": "stable, lr decay"} for r in record["runs"]]}
    assert bundle_table(variant) == "" and "| stable, lr decay | tta |" in render([variant])  # variants: BENCHMARKS
