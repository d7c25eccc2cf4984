"""The evaluation runner: ground truth beats a shifted translation; reports, figures and MLflow run written."""

import csv
import json
import math
import shutil

import numpy as np
import pytest

import mlflow
from common.evaluation import RunTracking, Scoring, evaluate
from common.io import load_image, write_tiff
from common.phantoms import make_phantoms
from common.segmentation import ClassicalSegmenter

SPEC = {"normalization_b": {"mode": "percentile", "lower": 0.0, "upper": 99.0}}


@pytest.fixture(scope="module")
def calcium(tmp_path_factory):
    root = tmp_path_factory.mktemp("cal")
    make_phantoms("calcium", root, n_train=1, n_test=2, size=96, seed=2)
    shifted = tmp_path_factory.mktemp("shifted")
    for f in sorted((root / "testB").iterdir()):
        movie = load_image(f, dtype=None)[0].numpy().astype(np.uint16)
        write_tiff(shifted / f.name, np.roll(movie, 5, axis=2), "TYX")
    return root, shifted


def test_ground_truth_beats_a_translation_moved_by_5_px(calcium, tmp_path):
    root, shifted = calcium
    seg = ClassicalSegmenter()
    truth = evaluate(
        root, tmp_path / "truth", predictions_dir=root / "testB", spec=SPEC, scoring=Scoring(segmenter=seg)
    )
    moved = evaluate(root, tmp_path / "moved", predictions_dir=shifted, spec=SPEC, scoring=Scoring(segmenter=seg))
    assert truth["psnr"] == math.inf and truth["pcc"] == pytest.approx(1.0) and truth["f1"] >= 0.8
    assert truth["distance"] < 1.0 and moved["distance"] > 4.0
    assert truth["iou"] > moved["iou"] and truth["f1"] > moved["f1"] and moved["psnr"] < 30
    assert truth["trace_pcc"] > 0.9 and truth["segmenter"].startswith("classical")
    assert moved["invented"] >= truth["invented"] and moved["missed"] >= truth["missed"]
    assert truth["invented"] + truth["missed"] <= 0.2 * truth["n_reference"]
    for name in ("per_image.csv", "per_object.csv", "summary.json", "objects_boxplot.png", "overlay.png"):
        assert (tmp_path / "truth" / name).exists()
    rows = list(csv.DictReader(open(tmp_path / "truth" / "per_image.csv")))
    assert len(rows) == 2 and {"image", "psnr", "ssim", "f1", "pq", "distance", "iou"} <= set(rows[0])
    assert json.loads((tmp_path / "truth" / "summary.json").read_text())["n_images"] == 2
    with pytest.raises(FileExistsError):
        evaluate(root, tmp_path / "truth", predictions_dir=root / "testB", spec=SPEC, scoring=Scoring(segmenter=seg))


def test_results_are_logged_to_mlflow(calcium, tmp_path, monkeypatch):
    root, _ = calcium
    uri = f"sqlite:///{tmp_path / 'db.sqlite'}"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # artifacts go beside the database, never into the working directory
    evaluate(
        root,
        tmp_path / "out",
        predictions_dir=root / "testB",
        spec=SPEC,
        scoring=Scoring(segmenter=ClassicalSegmenter()),
        tracking=RunTracking(uri, "cal", "truth", {"method": "truth", "stage": "evaluation"}),
    )
    client = mlflow.MlflowClient(uri)
    (found,) = client.search_runs([client.get_experiment_by_name("cal").experiment_id])
    assert found.data.params["method"] == "truth" and found.data.metrics["f1"] >= 0.8
    assert {a.path for a in client.list_artifacts(found.info.run_id)} >= {
        "per_image.csv",
        "summary.json",
        "overlay.png",
    }
    assert (tmp_path / "mlruns").is_dir() and not any(cwd.iterdir())
    evaluate(  # `--tracking_uri null` on the command line: no MLflow run, nothing written beside the reports
        root,
        tmp_path / "untracked",
        predictions_dir=root / "testB",
        spec=SPEC,
        tracking=RunTracking(uri="null", experiment_name="cal"),
    )
    assert len(client.search_runs([client.get_experiment_by_name("cal").experiment_id])) == 1
    assert (tmp_path / "untracked" / "summary.json").exists() and not any(cwd.iterdir())


def test_missing_prediction_is_reported(calcium, tmp_path):
    root, _ = calcium
    (tmp_path / "preds").mkdir()
    first = sorted((root / "testB").iterdir())[0]
    (tmp_path / "preds" / first.name).write_bytes(first.read_bytes())
    with pytest.raises(Exception, match="no prediction for"):
        evaluate(root, tmp_path / "out", predictions_dir=tmp_path / "preds", spec=SPEC)


def test_baselines_are_evaluated_beside_the_translation(calcium, tmp_path):
    """The input and its histogram match as rows and MLflow runs of their own; the margin over the best of them."""
    root, shifted = calcium
    uri = f"sqlite:///{tmp_path / 'db.sqlite'}"
    summary = evaluate(
        root,
        tmp_path / "moved",
        predictions_dir=shifted,
        spec=SPEC | {"normalization_a": SPEC["normalization_b"], "channels_b": 1, "spatial_dims": 2},
        scoring=Scoring(baselines=["input", "histogram", "blur"]),
        tracking=RunTracking(uri, "cal", params={"method": "moved", "stage": "evaluation", "dataset_dir": str(root)}),
    )
    assert set(summary["baselines"]) == {"input", "histogram", "blur"}
    assert summary["baselines"]["blur"]["settings"]["sigma"] > 0  # chosen on the validation pairs
    best = summary["best_baseline"]
    assert summary["baselines"][best]["psnr"] == max(b["psnr"] for b in summary["baselines"].values())
    assert summary["headline_over_baseline"] == pytest.approx(summary["psnr"] - summary["baselines"][best]["psnr"])
    assert summary["pcc_over_baseline"] == pytest.approx(summary["pcc"] - summary["baselines"][best]["pcc"])
    # a 5-px shift of the truth keeps its grey levels: the input (dark nuclei) is far from it, the shift is not
    assert summary["headline_over_baseline"] > 0
    assert {"artefact", "streaks_horizontal", "checkerboard", "review_psnr", "review_ssim"} <= set(summary)
    assert (tmp_path / "moved" / "baselines" / "histogram" / "summary.json").exists()
    page = (tmp_path / "moved" / "report.html").read_text()
    assert f"Best no-network baseline: {best}" in page
    client = mlflow.MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("cal").experiment_id])
    methods = ["baseline:blur", "baseline:histogram", "baseline:input", "moved"]
    assert sorted(r.data.params["method"] for r in runs) == methods
    (moved,) = [r for r in runs if r.data.params["method"] == "moved"]
    assert moved.data.tags["best_baseline"] == best and "headline_over_baseline" in moved.data.metrics


def test_a_baseline_that_cannot_be_made_is_named_in_the_report(calcium, tmp_path):
    root, shifted = calcium
    data = tmp_path / "data"
    for split in ("trainB", "testA", "testB"):
        shutil.copytree(root / split, data / split)
    summary = evaluate(data, tmp_path / "out", predictions_dir=shifted, spec=SPEC, scoring=Scoring(baselines=["blur"]))
    assert "valA: folder not found" in summary["baselines_skipped"]["blur"] and "best_baseline" not in summary
    assert "Baseline blur not evaluated" in (tmp_path / "out" / "report.html").read_text()
