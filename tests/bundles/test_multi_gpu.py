"""torchrun with two CPU workers (gloo) through a bundle's ``multi_gpu_train.json``: both ranks step and stay in
sync on different data, only rank 0 saves, logs and tracks, and checkpoints move between DDP and single-process
runs in both directions."""

import json
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
CONFIGS = ROOT / "bundles" / "calcium" / "configs"
TRAIN, MULTI, INFER = (str(CONFIGS / f) for f in ("train.json", "multi_gpu_train.json", "inference.json"))
RANK0_ONLY = {"AtomicCheckpointSaver", "ModelSaver", "LossLogger", "RunLogger", "SampleGridSaver", "MLFlowHandler"}


def _torchrun(out: Path, max_iterations: int, uri: str, overrides: list[str]) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += ["-m", "monai.bundle", "run", "training", "--config_file", f"['{TRAIN}','{MULTI}']"]
    cmd += [*overrides, "--tracking", "mlflow", "--tracking_uri", uri]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=out.parent)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, quick_bundle, as_cli):
    root = tmp_path_factory.mktemp("ddp")
    uri = f"sqlite:///{root / 'mlruns.db'}"
    _torchrun(root / "run", 4, uri, as_cli(quick_bundle("stable", output_dir=str(root / "run"), max_iterations=4)))
    return root / "run", uri


def test_both_ranks_step_in_sync_and_only_rank_0_writes(ddp_run):
    out, uri = ddp_run
    reports = [json.loads((out / "ranks" / f"rank_{r}.json").read_text()) for r in (0, 1)]
    assert [r["iteration"] for r in reports] == [4, 4] and [r["world_size"] for r in reports] == [2, 2]
    assert [r["samples"] for r in reports] == [4, 4]  # each rank drew its own batches
    assert reports[0]["parameter_digest"] == reports[1]["parameter_digest"]  # gradients were averaged
    handlers0, handlers1 = set(reports[0]["handlers"]), set(reports[1]["handlers"])
    assert RANK0_ONLY <= handlers0 and not RANK0_ONLY & handlers1
    assert {"LrScheduleHandler", "ValidationHandler"} <= handlers1  # every rank steps LRs and validates its share
    assert latest_checkpoint(out / "checkpoints").endswith("iteration=4.pt")
    assert [r["iteration"] for r in read_loss_log(out / "losses.csv")] == ["1", "2", "3", "4"]
    client = mlflow.MlflowClient(uri)
    (found,) = client.search_runs([client.get_experiment_by_name("calcium").experiment_id])
    assert found.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(found.info.run_id, "loss_G")] == [1, 2, 3, 4]


def test_ddp_model_translates_in_a_single_process(ddp_run, tmp_path):
    out, _ = ddp_run
    translated = tmp_path / "translated"
    workflow = ConfigWorkflow(
        config_file=INFER,
        workflow_type="infer",
        checkpoint=str(out / "model.pt"),
        dataset_dir=str(out / "phantoms" / "testA"),
        output_dir=str(translated),
    )
    workflow.initialize()
    workflow.run()
    workflow.finalize()
    for source in (out / "phantoms" / "testA").glob("*.tif"):
        assert load_image(translated / source.name).shape == load_image(source).shape


def test_checkpoints_move_between_ddp_and_single_process(ddp_run, tmp_path, quick_bundle, as_cli):
    out, uri = ddp_run
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    ddp_checkpoint = latest_checkpoint(out / "checkpoints")
    (run / "checkpoints" / Path(ddp_checkpoint).name).write_bytes(Path(ddp_checkpoint).read_bytes())
    # DDP -> single process: resumes at iteration 4 with the DDP weights and continues to 6
    workflow = ConfigWorkflow(
        config_file=TRAIN,
        workflow_type="train",
        **quick_bundle("stable", output_dir=str(run), max_iterations=6, dataset_dir=str(out / "phantoms")),
    )
    workflow.initialize()
    workflow.run()
    workflow.finalize()
    assert workflow.parser.get_parsed_content("train#trainer").state.iteration == 6
    assert [r["iteration"] for r in read_loss_log(run / "losses.csv")] == ["5", "6"]
    # single process -> DDP: resumes at 6 and continues to 8 on both ranks
    single = torch.load(latest_checkpoint(run / "checkpoints"), weights_only=True)["method"]
    _torchrun(run, 8, uri, as_cli(quick_bundle("stable", output_dir=str(run), max_iterations=8)))
    reports = [json.loads((run / "ranks" / f"rank_{r}.json").read_text()) for r in (0, 1)]
    assert [r["iteration"] for r in reports] == [8, 8] and [r["samples"] for r in reports] == [2, 2]
    assert reports[0]["parameter_digest"] == reports[1]["parameter_digest"]
    resumed = torch.load(latest_checkpoint(run / "checkpoints"), weights_only=True)["method"]
    assert resumed.keys() == single.keys()
    assert any(not torch.equal(resumed[k], single[k]) for k in single if torch.is_tensor(single[k]))
