"""The calcium bundle end to end: the command contract, every method by --method, exact resume, validation,
MLflow tracking, and inference that keeps the movies' geometry."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigWorkflow

import mlflow
from common.engines import latest_checkpoint, read_loss_log
from common.io import load_image

ROOT = Path(__file__).resolve().parents[2]
TRAIN = str(ROOT / "bundles" / "calcium" / "configs" / "train.json")
INFER = str(ROOT / "bundles" / "calcium" / "configs" / "inference.json")


@pytest.fixture
def fast(quick_bundle):
    """Tiny networks of every method, so that --method switches stay quick."""
    return quick_bundle()


@pytest.fixture
def train(fast):
    """``train(output_dir, **overrides)``: one training run of the calcium bundle, returning its workflow."""

    def run(output_dir, **overrides):
        workflow = ConfigWorkflow(
            config_file=TRAIN, workflow_type="train", **(fast | {"output_dir": str(output_dir)} | overrides)
        )
        workflow.initialize()
        workflow.run()
        workflow.finalize()
        return workflow

    return run


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    """One phantom data set shared by the runs (as an explicit --dataset_dir)."""
    from common.phantoms import make_phantoms

    root = tmp_path_factory.mktemp("calcium_data")
    make_phantoms("calcium", root, n_train=3, n_test=2, size=32, seed=3)
    return str(root)


def test_command_contract_trains_on_builtin_phantoms(tmp_path, quick_bundle, as_cli):
    out = tmp_path / "run"
    overrides = as_cli(quick_bundle("cyclegan", output_dir=str(out), max_iterations=3, method="cyclegan"))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "monai.bundle", "run", "training", "--config_file", TRAIN, *overrides]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "phantoms" / "phantom.json").exists()  # made its own data
    model = torch.load(out / "model.pt", weights_only=True)
    assert list(model) == ["model", "error_head"] and (out / "model.json").exists()  # CycleGAN trains a cycle
    assert latest_checkpoint(out / "checkpoints").endswith("iteration=3.pt")
    assert [r["iteration"] for r in read_loss_log(out / "losses.csv")] == ["1", "2", "3"]
    assert list((out / "samples").glob("*.png"))


@pytest.mark.parametrize("method", ["cyclegan", "ui2i", "stable", "cut", "fastcut", "utom"])
def test_every_method_by_one_switch(tmp_path, phantoms, method, train):
    workflow = train(tmp_path, dataset_dir=phantoms, method=method, max_iterations=2)
    assert workflow.parser.get_parsed_content("train#trainer").state.iteration == 2
    rows = read_loss_log(tmp_path / "losses.csv")
    assert len(rows) == 2 and all(float(v) == float(v) for v in rows[-1].values())  # no NaN
    assert (tmp_path / "model.pt").exists()


def test_resumed_run_matches_an_uninterrupted_one(tmp_path, phantoms, train):
    train(tmp_path / "straight", dataset_dir=phantoms, max_iterations=6)
    train(tmp_path / "resumed", dataset_dir=phantoms, max_iterations=6, stop_after=4)
    resumed = train(tmp_path / "resumed", dataset_dir=phantoms, max_iterations=6)
    trainer = resumed.parser.get_parsed_content("train#trainer")
    assert trainer.state.iteration == 6
    straight_rows = read_loss_log(tmp_path / "straight" / "losses.csv")
    resumed_rows = read_loss_log(tmp_path / "resumed" / "losses.csv")
    assert straight_rows == resumed_rows  # every loss term and both learning rates, at every iteration
    assert float(resumed_rows[-1]["lr_G"]) == pytest.approx(float(straight_rows[-1]["lr_G"]))


@pytest.mark.parametrize("older", ["no_head", "head_of_the_input_alone"])
def test_checkpoints_of_older_runs_resume_with_a_fresh_error_head(tmp_path, phantoms, train, older):
    """A run begun before the error head was saved in checkpoints, or before it read the translation, resumes: the
    generators continue exactly (the same losses as an uninterrupted run), the head starts afresh, with a warning."""
    from common.engines import ERROR_HEAD_LOSS

    train(tmp_path / "straight", dataset_dir=phantoms, max_iterations=6)
    first = {"error_head_trainer#conditioned": False} if older == "head_of_the_input_alone" else {}
    train(tmp_path / "resumed", dataset_dir=phantoms, max_iterations=6, stop_after=4, **first)
    if older == "no_head":
        path = latest_checkpoint(tmp_path / "resumed" / "checkpoints")
        state = torch.load(path, weights_only=True)
        torch.save({k: v for k, v in state.items() if k != "error_head"}, path)
    warnings = logging.Handler(logging.WARNING)  # the bundle's logging.conf replaces the root's handlers (caplog's)
    warnings.emit = lambda record: messages.append(record.getMessage())
    messages, engines = [], logging.getLogger("common.engines")
    engines.addHandler(warnings)
    try:
        resumed = train(tmp_path / "resumed", dataset_dir=phantoms, max_iterations=6)
    finally:
        engines.removeHandler(warnings)
    assert resumed.parser.get_parsed_content("train#trainer").state.iteration == 6
    expected = "has no error_head" if older == "no_head" else "error head has another shape"
    assert any(expected in message for message in messages), messages
    straight_rows = read_loss_log(tmp_path / "straight" / "losses.csv")
    resumed_rows = read_loss_log(tmp_path / "resumed" / "losses.csv")
    for row in straight_rows + resumed_rows:
        row.pop(ERROR_HEAD_LOSS)
    assert straight_rows == resumed_rows
    assert torch.load(tmp_path / "resumed" / "model.pt", weights_only=True)["error_head"]["config"]["conditioned"]


def test_ema_is_what_validation_selection_and_export_use_and_resume_restores(tmp_path, phantoms, train):
    """With ema_decay, the evaluator, the watch, best_model.pt's saver and model.pt all use the EMA copy (not the
    raw generator), and a resumed run ends with the same average as an uninterrupted one."""
    from common.engines import ModelSaver

    straight = train(tmp_path / "straight", dataset_dir=phantoms, max_iterations=6, ema_decay=0.5)
    parser = straight.parser
    ema, trainer = parser.get_parsed_content("ema"), parser.get_parsed_content("train#trainer")
    assert trainer.ema is ema and trainer.deployable_generator() is ema.module
    assert parser.get_parsed_content("validate#selection").network is ema.module
    assert parser.get_parsed_content("validate#watch").generator is ema.module
    savers = [h for h in parser.get_parsed_content("validate#handlers") if isinstance(h, ModelSaver)]
    assert savers and all(s.network is ema.module for s in savers)
    shipped = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)["model"]
    averaged, raw = ema.module.state_dict(), trainer.method.generator_ab.state_dict()
    assert all(torch.equal(shipped[k], averaged[k].cpu()) for k in shipped)
    assert any(not torch.equal(averaged[k], raw[k]) for k in averaged)
    train(tmp_path / "resumed", dataset_dir=phantoms, max_iterations=6, ema_decay=0.5, stop_after=4)
    train(tmp_path / "resumed", dataset_dir=phantoms, max_iterations=6, ema_decay=0.5)
    resumed = torch.load(tmp_path / "resumed" / "model.pt", weights_only=True)["model"]
    assert all(torch.allclose(resumed[k], shipped[k]) for k in shipped)


def test_validation_logs_metrics(tmp_path, phantoms, train):
    workflow = train(tmp_path, dataset_dir=phantoms, max_iterations=2)
    metrics = workflow.parser.get_parsed_content("validate#evaluator").state.metrics
    assert set(metrics) >= {"val_psnr", "val_pcc"} and metrics["val_psnr"] > 0  # fitted PSNR on valA/valB
    assert (tmp_path / "validation.csv").exists()
    assert (tmp_path / "best_model.pt").exists()
    # the steganography and object-count watch, in the metrics and in the CSV log
    watch = {"val_probe_lowpass_gain", "val_probe_noise_gain", "val_hides_input", "val_count_ratio"}
    assert watch <= set(metrics) and metrics["val_probe_noise_gain"] >= 0
    assert watch <= set((tmp_path / "validation.csv").read_text().splitlines()[0].split(","))
    # the fidelity report of the end of training
    page = (tmp_path / "report" / "report.html").read_text()
    assert 'src="report_0.png"' in page and "Model selection picked iteration 2" in page
    assert "Steganography watch: " in page and (tmp_path / "report" / "report_1.png").stat().st_size > 1000
    assert "uncertainty: their standard deviation" in page  # calcium's uncertainty_source: the spread


@pytest.mark.parametrize("method, expected", [("cyclegan", "learned error head"), ("cut", "standard deviation")])
def test_final_report_shows_the_error_head_where_the_uncertainty_source_takes_it(tmp_path, phantoms, train, method,
                                                                                  expected):  # fmt: skip
    train(tmp_path, dataset_dir=phantoms, max_iterations=2, method=method, uncertainty_source="auto")
    page = (tmp_path / "report" / "report.html").read_text()
    assert expected in page and (tmp_path / "report" / "report_0.png").stat().st_size > 1000


@pytest.mark.parametrize("tracking", ["mlflow", str(ROOT / "mlflow" / "tracking.json")])
def test_mlflow_run_holds_params_metrics_and_artifacts(tmp_path, phantoms, tracking, fast):
    """MONAI's default settings and the project's settings file give the same run contents."""
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    from monai.bundle import run

    run(
        "training",
        config_file=TRAIN,
        tracking=tracking,
        tracking_uri=uri,
        dataset_dir=phantoms,
        max_iterations=4,
        **(fast | {"output_dir": str(tmp_path / "out")}),
    )
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("calcium")
    (found,) = client.search_runs([experiment.experiment_id])
    params, metrics = found.data.params, found.data.metrics
    assert params["method"] == "stable" and params["hyperparameters.lambda_info"] == "10.0"
    assert {"patch_size", "seed", "data_root", "max_iterations"} <= set(params)
    assert params["environment.torch"].startswith("2.") and "environment.git_commit" in params
    assert {"loss_G", "loss_D", "G_info_A", "G_cyc_A", "G_adv_B", "D_A", "lr_G", "lr_D", "val_psnr"} <= set(metrics)
    assert {"val_probe_noise_gain", "val_probe_lowpass_gain", "val_hides_input", "val_count_ratio"} <= set(metrics)
    history = client.get_metric_history(found.info.run_id, "loss_G")
    assert [m.step for m in history] == [1, 2, 3, 4]

    def walk(path=""):
        files = []
        for item in client.list_artifacts(found.info.run_id, path):
            files += walk(item.path) if item.is_dir else [item.path]
        return files

    artifacts = walk()
    assert "model.pt" in artifacts and any(a.startswith("samples/") for a in artifacts)
    assert {"report.html", "report_0.png"} <= set(artifacts)
    assert any(a.startswith("config_") and a.endswith(".json") for a in artifacts)


def _inference(phantoms, tmp_path, **overrides):
    """The bundle's inference of the phantoms' testA with the model trained into ``tmp_path/train``, initialised."""
    workflow = ConfigWorkflow(
        config_file=INFER,
        workflow_type="infer",
        dataset_dir=os.path.join(phantoms, "testA"),
        output_dir=str(tmp_path / "translated"),
        checkpoint=str(tmp_path / "train" / "model.pt"),
        **overrides,
    )
    workflow.initialize()
    return workflow


def test_inference_translates_every_frame_and_keeps_geometry(tmp_path, phantoms, train):
    train(tmp_path / "train", dataset_dir=phantoms, max_iterations=2)
    out = tmp_path / "translated"
    workflow = _inference(phantoms, tmp_path)
    workflow.run()
    for source in sorted(Path(phantoms, "testA").glob("*.tif")):
        a, b = load_image(source), load_image(out / source.name, dtype=None)
        assert b.shape == a.shape and b.dtype == torch.float32
        assert b.meta["spatial_axes"] == a.meta["spatial_axes"] == "TYX"
        assert list(b.meta["spacing"]) == pytest.approx(list(a.meta["spacing"]))
        assert b.meta["time_interval"] == pytest.approx(a.meta["time_interval"])
    with pytest.raises(Exception) as error:  # never over an earlier result (MONAI wraps the expression's error)
        workflow.run()
    assert "already exists; refusing to overwrite" in str(error.value.__cause__)


def test_uncertainty_option_writes_mean_and_spread_over_augmentations_and_snapshots(tmp_path, phantoms, train):
    train(tmp_path / "train", dataset_dir=phantoms, max_iterations=4, keep_snapshots="true")
    assert len(list((tmp_path / "train" / "snapshots").glob("*.pt"))) == 2
    out = tmp_path / "translated"
    workflow = _inference(phantoms, tmp_path, uncertainty="true", uncertainty_checkpoints=3)  # as the CLI hands it
    assert workflow.parser.get_parsed_content("translator").passes == 3 * 8
    workflow.run()
    for source in sorted(Path(phantoms, "testA").glob("*.tif")):
        a, u = load_image(source), load_image(out / "uncertainty" / source.name, dtype=None)
        assert u.shape == a.shape and u.meta["spatial_axes"] == "TYX"
        assert list(u.meta["spacing"]) == pytest.approx(list(a.meta["spacing"]))
        assert float(u.min()) >= 0 and float(u.max()) > 0


def test_learned_error_head_is_trained_saved_and_written_by_the_uncertainty_option(tmp_path, phantoms, train):
    train(tmp_path / "train", dataset_dir=phantoms, max_iterations=4)
    with_head = read_loss_log(tmp_path / "train" / "losses.csv")
    assert all(float(row["error_head_nll"]) > -20 for row in with_head)
    for name in ("model.pt", "best_model.pt"):
        assert "error_head" in torch.load(tmp_path / "train" / name, weights_only=True)
    out = tmp_path / "translated"
    workflow = _inference(phantoms, tmp_path, uncertainty="true", uncertainty_source="error_head")
    assert workflow.parser.get_parsed_content("translator").passes == 8  # the mean over flips, as with the spread
    workflow.run()
    for source in sorted(Path(phantoms, "testA").glob("*.tif")):
        a, u = load_image(source), load_image(out / "uncertainty" / source.name, dtype=None)
        assert u.shape == a.shape and u.meta["spatial_axes"] == "TYX" and float(u.min()) > 0
    # trained without the head: the option says what is missing, before anything is written
    train(tmp_path / "plain" / "train", dataset_dir=phantoms, max_iterations=4, error_head="false")
    assert "error_head" not in torch.load(tmp_path / "plain" / "train" / "model.pt", weights_only=True)
    # the head learns from detached images and draws its weights from its own generator: the same training
    without = read_loss_log(tmp_path / "plain" / "train" / "losses.csv")
    assert [{k: v for k, v in row.items() if k != "error_head_nll"} for row in with_head] == without
    with pytest.raises(Exception) as error:
        _inference(phantoms, tmp_path / "plain", uncertainty="true", uncertainty_source="error_head").run()
    assert "has no learned error head" in str(error.value) + str(error.value.__cause__)
    assert not (tmp_path / "plain" / "translated").exists()


def test_same_seed_and_config_give_the_same_first_20_losses(tmp_path, phantoms, train):
    first = train(tmp_path / "one", dataset_dir=phantoms, max_iterations=20, val_interval=100, checkpoint_interval=100)
    train(tmp_path / "two", dataset_dir=phantoms, max_iterations=20, val_interval=100, checkpoint_interval=100)
    one, two = read_loss_log(tmp_path / "one" / "losses.csv"), read_loss_log(tmp_path / "two" / "losses.csv")
    assert len(one) == 20 and one == two
    assert first.parser.get_parsed_content("seed") == 0
