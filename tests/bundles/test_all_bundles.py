"""Every task bundle: generated files in sync, metadata valid offline, network in/out, a short training run on
its phantoms, inference keeping geometry, TorchScript export, and seam-free tiled inference."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.bundle import ConfigWorkflow, ckpt_export, verify_metadata, verify_net_in_out

from common.data import Normalization
from common.inference import Outputs, Tiling, translate_files
from common.io import load_image, write_nifti, write_tiff

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = sorted(p.name for p in (ROOT / "bundles").iterdir() if (p / "configs" / "train.json").exists())
SCHEMA = str(ROOT / "bundles" / "meta_schema.json")


def _config(name: str, kind: str) -> str:
    return str(ROOT / "bundles" / name / "configs" / f"{kind}.json")


@pytest.fixture(scope="session")
def train_bundle(quick_bundle):
    """``train_bundle(name, out, config_files=None, **overrides)``: bundle ``name`` trained for 2 iterations into
    ``out`` with tiny networks of its method (48-px phantoms, 32 for MRI), returning the workflow."""

    def run(name, out, config_files=None, **overrides):
        method = overrides.get("method") or json.loads(Path(_config(name, "train")).read_text())["method"]
        settings = quick_bundle(
            method,
            output_dir=str(out),
            max_iterations=2,
            epoch_length=2,
            phantom_size=32 if name == "mri_t2_pd" else 48,
        )
        workflow = ConfigWorkflow(
            config_file=config_files or _config(name, "train"), workflow_type="train", **(settings | overrides)
        )
        workflow.initialize()
        workflow.run()
        return workflow

    return run


@pytest.fixture(scope="module")
def trained(tmp_path_factory, train_bundle):
    """Each bundle trained for 2 iterations on its own phantoms (once for the module)."""
    cache = {}

    def get(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(name)
            train_bundle(name, out)
            cache[name] = out
        return cache[name]

    return get


def test_generated_bundle_files_are_in_sync():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_bundles.py"), "check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.parametrize("name", BUNDLES)
def test_multi_gpu_overlay_trains_in_a_world_of_one(name, tmp_path, monkeypatch, train_bundle):
    """The torchrun overlay of every bundle resolves and trains (a process group of one; the two-process run is
    tests/bundles/test_multi_gpu.py)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in dict(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MASTER_PORT", str(port))
    workflow = train_bundle(name, tmp_path, config_files=[_config(name, "train"), _config(name, "multi_gpu_train")])
    workflow.finalize()  # leaves the process group
    import torch.distributed as dist
    from ignite.distributed import utils as idist

    assert not dist.is_initialized() and idist.model_name() == "serial"  # later runs here are single-process
    report = json.loads((tmp_path / "ranks" / "rank_0.json").read_text())
    assert report["iteration"] == 2 and report["world_size"] == 1
    assert (tmp_path / "model.pt").exists() and list((tmp_path / "checkpoints").glob("*.pt"))


@pytest.mark.parametrize("name", BUNDLES)
def test_metadata_verifies_offline(name):
    verify_metadata(meta_file=_config(name, "metadata"), filepath=SCHEMA)


def test_metadata_schema_rejects_incomplete_metadata(tmp_path):
    meta = json.loads(Path(_config("calcium", "metadata")).read_text())
    del meta["network_data_format"]["outputs"]
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(Exception, match="outputs"):
        verify_metadata(meta_file=str(tmp_path / "meta.json"), filepath=SCHEMA)


@pytest.mark.parametrize("name", BUNDLES)
def test_network_in_out_matches_metadata(name):
    verify_net_in_out(net_id="network_def", meta_file=_config(name, "metadata"), config_file=_config(name, "inference"))


@pytest.mark.parametrize("name", [b for b in BUNDLES if b != "calcium"])  # calcium: tests/bundles/test_calcium.py
def test_training_and_inference_keep_geometry(trained, tmp_path, name):
    out = trained(name)
    assert (out / "model.pt").exists() and (out / "best_model.pt").exists() and (out / "model.json").exists()
    translated = tmp_path / "translated"
    inference = ConfigWorkflow(
        config_file=_config(name, "inference"),
        workflow_type="infer",
        dataset_dir=str(out / "phantoms" / "testA"),
        output_dir=str(translated),
        checkpoint=str(out / "model.pt"),
    )
    inference.initialize()
    inference.run()
    channels_b = json.loads(Path(_config(name, "train")).read_text())["channels_b"]
    for source in sorted((out / "phantoms" / "testA").iterdir()):
        a, b = load_image(source), load_image(translated / source.name, dtype=None)
        assert b.shape[1:] == a.shape[1:] and b.shape[0] == channels_b  # larger than the 32 px patch: tiled
        np.testing.assert_allclose(b.affine.numpy(), a.affine.numpy(), atol=1e-5)  # NIfTI affine, TIFF pixel size
        assert b.meta.get("spatial_axes") == a.meta.get("spatial_axes")
        if source.suffix == ".png":
            assert b.dtype == torch.uint8


@pytest.mark.parametrize("name", BUNDLES)
def test_torchscript_export_matches_eager_at_two_sizes(trained, tmp_path, name):
    out = trained(name)
    ts = tmp_path / "model.ts"
    ckpt_export(
        net_id="network_def",
        filepath=str(ts),
        ckpt_file=str(out / "model.pt"),
        key_in_ckpt="model",
        meta_file=_config(name, "metadata"),
        config_file=_config(name, "inference"),
        checkpoint=str(out / "model.pt"),
    )
    workflow = ConfigWorkflow(
        config_file=_config(name, "inference"), workflow_type="infer", checkpoint=str(out / "model.pt")
    )
    eager = workflow.parser.get_parsed_content("network").cpu().eval()
    scripted = torch.jit.load(str(ts))
    channels = workflow.parser.get_parsed_content("spec")["channels_a"]
    for size in ((40, 40), (56, 48)):
        x = torch.rand(1, channels, *size)
        with torch.no_grad():
            torch.testing.assert_close(scripted(x), eager(x), atol=1e-5, rtol=1e-4)


def test_tiled_inference_of_a_constant_image_is_seam_free(tmp_path):
    """A 150x170 constant image in 32 px tiles: a stride-1, reflection-padded network gives a constant output, so
    any seam is a stitching error. (CycleGAN's generator is no fit for this check: on a flat image its instance
    norms amplify float rounding by 1/sqrt(eps) each, and its stride-2 transposed convolutions leave a
    checkerboard - the artifacts Ui2i removes with ABSN and Lanczos upsampling.)"""
    torch.manual_seed(0)
    write_tiff(tmp_path / "in" / "flat.tif", np.full((150, 170), 1000, np.uint16), "YX")
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect"),
        torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(4, 1, 3, padding=1, padding_mode="reflect"),
    )
    translate_files(
        net,
        tmp_path / "in",
        tmp_path / "out",
        spec={"normalization_a": {"mode": "range", "a_min": 0, "a_max": 2000}},
        tiling=Tiling(roi_size=(32, 32), overlap=0.25),
    )
    out = load_image(tmp_path / "out" / "flat.tif", dtype=None)[0]
    assert float(out.max() - out.min()) < 1e-4
    assert float(torch.diff(out, dim=0).abs().max()) < 1e-5 and float(torch.diff(out, dim=1).abs().max()) < 1e-5


def test_volumes_are_translated_slice_by_slice_in_batches_with_the_affine(tmp_path):
    """A scaled-down 100x256x256-type volume: 2D network, slices in batches, the input's affine kept."""
    affine = np.diag([0.9, 0.9, 3.0, 1.0])
    affine[:3, 3] = [-20, 5, 7]
    volume = np.random.default_rng(0).random((48, 40, 25)).astype(np.float32)
    write_nifti(tmp_path / "in" / "vol.nii.gz", volume, affine)
    net = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect")
    translate_files(
        net, tmp_path / "in", tmp_path / "out", spec={"normalization_a": {"mode": "none"}}, tiling=Tiling(batch_size=7)
    )
    out = load_image(tmp_path / "out" / "vol.nii.gz")
    np.testing.assert_allclose(out.affine.numpy(), affine, atol=1e-5)
    with torch.no_grad():
        expected = net(torch.as_tensor(volume).permute(2, 0, 1).unsqueeze(1)).squeeze(1).permute(1, 2, 0)
    torch.testing.assert_close(out[0], expected, atol=1e-5, rtol=1e-5)


def test_mri_bundle_trains_3d_networks(tmp_path, train_bundle):
    workflow = train_bundle(
        "mri_t2_pd",
        tmp_path,
        spatial_dims=3,
        patch_size=[16, 16, 16],
        val_size=[16, 16, 16],
        **{"hyperparameters#stable#n_layers_d": 2},
    )
    assert workflow.parser.get_parsed_content("train#trainer").state.iteration == 2


def test_virtual_staining_channel_mapping_option(tmp_path, train_bundle):
    workflow = train_bundle("virtual_he_staining", tmp_path, channel_mix_a=[[0, 0.3], [0, 1], [1, 0]])
    assert workflow.parser.get_parsed_content("method_def").channels_a == 3
    assert json.loads((tmp_path / "model.json").read_text())["channel_mix_a"] == [[0, 0.3], [0, 1], [1, 0]]


def test_synthetic_nuclei_training_set(trained, tmp_path):
    out = trained("mask_to_nuclei")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "make_synthetic_nuclei.py"),
        "--checkpoint",
        str(out / "model.pt"),
        "--out",
        str(tmp_path / "set"),
        "--n",
        "2",
        "--size",
        "48",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    image, labels = (
        load_image(tmp_path / "set" / "images" / "0001.tif"),
        load_image(tmp_path / "set" / "labels" / "0001.tif"),
    )
    assert image.shape == labels.shape == (1, 48, 48) and int(labels.max()) > 2


@pytest.mark.parametrize("name", ["if_unmixing", "ihc_he_translation", "mri_t2_pd", "denoising"])
def test_evaluate_config_writes_reports(trained, tmp_path, name):
    out = trained(name)
    # the learned error head where the method trains a cycle (Ui2i on IHC), else (denoising's STABLE has no cycle
    # term; "auto") the spread over flips
    source = {"ihc_he_translation": "error_head", "denoising": "auto"}.get(name, "spread")
    workflow = ConfigWorkflow(
        config_file=_config(name, "evaluate"),
        workflow_type="infer",
        dataset_dir=str(out / "phantoms"),
        output_dir=str(tmp_path / "eval"),
        checkpoint=str(out / "model.pt"),
        tracking_uri=None,
        uncertainty_source=source,
    )
    workflow.initialize()
    workflow.run()
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["n_images"] == 2 and "psnr" in summary and (tmp_path / "eval" / "per_image.csv").exists()
    assert ("f1" in summary) == (name != "mri_t2_pd")  # MRI labels are tissue classes: no object metrics
    # the fidelity report: panels per image, the uncertainty scored against the error, the probe from the run's
    # latest full checkpoint (found beside model.pt), the validation model selection picked
    assert {"uncertainty_spearman", "uncertainty_top_ratio", "lowpass_gain", "noise_gain"} <= set(summary)
    assert (tmp_path / "eval" / "report_0.png").stat().st_size > 1000
    page = (tmp_path / "eval" / "report.html").read_text()
    assert 'src="report_0.png"' in page and "Model selection picked iteration 2" in page
    assert "Steganography probe: the reverse generator moves" in page
    described = "learned error head" if source == "error_head" else "mean over test-time flips"
    assert described in page


def test_evaluate_contract_and_compare_runs_across_methods(tmp_path, train_bundle):
    """Two short runs of different methods, each evaluated into one MLflow store, then compared."""
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    data = tmp_path / "data"
    for method in ("stable", "cyclegan"):
        train_bundle(
            "mask_to_nuclei", tmp_path / method, method=method, dataset_dir=str(data) if data.exists() else None
        )
        if not data.exists():
            data = tmp_path / method / "phantoms"
        cmd = [
            sys.executable,
            "-m",
            "monai.bundle",
            "run",
            "--config_file",
            _config("mask_to_nuclei", "evaluate"),
            "--dataset_dir",
            str(data),
            "--output_dir",
            str(tmp_path / f"eval_{method}"),
            "--checkpoint",
            str(tmp_path / method / "model.pt"),
            "--tracking_uri",
            uri,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads((tmp_path / f"eval_{method}" / "summary.json").read_text())["n_images"] == 2
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "compare_runs.py"),
        "--experiment",
        "mask_to_nuclei",
        "--tracking_uri",
        uri,
        "--out",
        str(tmp_path / "cmp"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    table = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "| stable |" in table and "| cyclegan |" in table and "psnr" in table
    assert (tmp_path / "cmp" / "comparison_boxplot.png").stat().st_size > 1000


def test_evaluation_runs_the_steganography_probe_from_a_training_checkpoint(trained, tmp_path):
    from common.engines import latest_checkpoint

    out = trained("mask_to_nuclei")
    workflow = ConfigWorkflow(
        config_file=_config("mask_to_nuclei", "evaluate"),
        workflow_type="infer",
        dataset_dir=str(out / "phantoms"),
        output_dir=str(tmp_path / "eval"),
        checkpoint=str(out / "model.pt"),
        tracking_uri=None,
        training_checkpoint=latest_checkpoint(out / "checkpoints"),
    )
    workflow.initialize()
    workflow.run()
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert {"cycle_mae", "cycle_mae_lowpass", "degradation", "high_frequency_fraction"} <= set(summary)
    assert 0 <= summary["high_frequency_fraction"] <= 1


def _label_style_bundle(name: str, trained_dir: Path, root: Path) -> Path:
    """A copy of the bundle as MONAI Label receives it: configs, and the trained model in ``models/``."""
    import shutil

    bundle = root / name
    shutil.copytree(ROOT / "bundles" / name / "configs", bundle / "configs")
    (bundle / "models").mkdir()
    for f in ("model.pt", "model.json"):
        shutil.copy(trained_dir / f, bundle / "models" / f)
    return bundle


@pytest.mark.parametrize("name", BUNDLES)
def test_monai_label_bundle_inference_matches_translate_files(trained, tmp_path, name):
    """Drive the bundle the way MONAI Label's BundleInferTask does (its config ids and substitutions: bundle_root
    replaced, network_def instantiated and loaded from models/model.pt key 'model', the first input/output of
    network_data_format, 'preprocessing' with LoadImaged, 'inferer', 'postprocessing' without SaveImaged), and
    check the result equals the bundle's own inference of the same file."""
    from monai.bundle import ConfigParser
    from monai.transforms import LoadImaged, SaveImaged

    out = trained(name)
    bundle = _label_style_bundle(name, out, tmp_path)
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "inference.json"))
    parser.config.update({"bundle_root": str(bundle), "device": "cpu"})
    network = parser.get_parsed_content("network_def", instantiate=True)
    state = torch.load(bundle / "models" / "model.pt", map_location="cpu", weights_only=True)
    network.load_state_dict(state.get("model", state), strict=True)
    network.eval()
    meta = json.loads((bundle / "configs" / "metadata.json").read_text())
    key_image = next(iter(meta["network_data_format"]["inputs"]))
    key_pred = next(iter(meta["network_data_format"]["outputs"]))
    assert (key_image, key_pred) == ("image", "pred")  # MONAI Deploy's IOMapping too
    pre = list(parser.get_parsed_content("preprocessing", instantiate=True).transforms)
    assert isinstance(pre[0], LoadImaged)  # the transform Label replaces with its own loader wrapper
    post = [
        t
        for t in parser.get_parsed_content("postprocessing", instantiate=True).transforms
        if not isinstance(t, SaveImaged)
    ]
    inferer = parser.get_parsed_content("inferer", instantiate=True)
    source = sorted((out / "phantoms" / "testA").iterdir())[0]
    data = {key_image: str(source)}
    for t in pre:
        data = t(data)
    with torch.no_grad():
        data[key_pred] = inferer(data[key_image][None], network)[0]
    for t in post:
        data = t(data)
    pred = torch.as_tensor(data[key_pred]).float()
    reference = translate_files(
        network,
        [str(source)],
        tmp_path / "bundle_inference",
        spec={
            "normalization_a": parser.get_parsed_content("spec")["normalization_a"],
            "spatial_dims": parser.get_parsed_content("spec")["spatial_dims"],
            "axes_a": parser.get_parsed_content("spec")["axes_a"],
            "normalization_b": parser.get_parsed_content("spec")["normalization_b"],
            "channel_mix_a": parser.get_parsed_content("spec").get("channel_mix_a"),
        },
        tiling=Tiling(roi_size=parser.get_parsed_content("tile_size")),
        outputs=Outputs(dtype=parser.get_parsed_content("output_dtype")),
    )[0]
    expected = torch.as_tensor(np.asarray(load_image(reference, dtype=np.float32))).float()
    assert pred.shape == expected.shape
    eight_bit = parser.get_parsed_content("spec")["normalization_b"].get("mode") == "range"
    tolerance = 0.5 + 1e-3 if eight_bit else 1e-4 * max(1.0, float(expected.abs().max()))  # 8-bit: rounding
    assert torch.allclose(pred, expected, atol=tolerance), float((pred - expected).abs().max())


def _unnormalised_stable(name: str) -> bool:
    train = json.loads(Path(_config(name, "train")).read_text())
    return train["method"] == "stable" and train["hyperparameters"]["stable"].get("norm") is None


@pytest.mark.parametrize("name", [b for b in BUNDLES if _unnormalised_stable(b)])
def test_unnormalised_stable_bundles_use_the_relu_gain(name):
    """The 3-level STABLE bundles (no norm layer) scale their demodulated filters by sqrt(2) (with
    gain 1 the signal fades through the ReLUs and a run can collapse), and inference builds its generator so."""
    from monai.bundle import ConfigParser

    from common.methods import ModelSpec
    from common.networks import DemodulatedConv

    stable = json.loads(Path(_config(name, "train")).read_text())["hyperparameters"]["stable"]
    assert stable["demod_gain"] == pytest.approx(2.0**0.5)
    parser = ConfigParser()
    parser.read_config(_config(name, "inference"))
    generator = ModelSpec.of(parser.get_parsed_content("default_spec")).build_generator()
    gains = [m.gain for m in generator.modules() if isinstance(m, DemodulatedConv)]
    assert gains and all(g == pytest.approx(2.0**0.5) for g in gains)


def test_mri_bundle_trains_and_ships_residual_stable_generators():
    """mri_t2_pd defaults to residual STABLE generators (the plain ones blurred and distorted the
    anatomy); inference rebuilds the generator as residual, starting as the
    identity; denoising keeps the plain generator (residual kept the noise)."""
    from monai.bundle import ConfigParser

    from common.methods import ModelSpec

    stable = json.loads(Path(_config("mri_t2_pd", "train")).read_text())["hyperparameters"]["stable"]
    assert stable["residual"] is True
    assert json.loads(Path(_config("denoising", "train")).read_text())["hyperparameters"]["stable"]["residual"] is False
    parser = ConfigParser()
    parser.read_config(_config("mri_t2_pd", "inference"))
    generator = ModelSpec.of(parser.get_parsed_content("default_spec")).build_generator()
    assert generator.residual
    x = torch.rand(1, 1, 24, 40)
    with torch.no_grad():
        assert torch.equal(generator(x), x)  # an untrained residual generator is the identity


@pytest.mark.parametrize("name, mode", [("denoising", "replicate"), ("calcium", "zeros")])
def test_stable_padding_of_the_bundles_and_their_inference(name, mode):
    """Denoising's STABLE pads its convolutions with replicated edges (with zeros the border is a dark frame for these
    bias-free networks); calcium keeps the reference's zeros. Inference rebuilds the generator the same way, and a
    flat image stays flat with replicate."""
    from monai.bundle import ConfigParser

    from common.methods import ModelSpec
    from common.networks import DemodulatedConv

    assert json.loads(Path(_config(name, "train")).read_text())["hyperparameters"]["stable"]["padding_mode"] == mode
    parser = ConfigParser()
    parser.read_config(_config(name, "inference"))
    generator = ModelSpec.of(parser.get_parsed_content("default_spec")).build_generator().eval()
    convs = [m for m in generator.modules() if isinstance(m, DemodulatedConv | torch.nn.Conv2d) and m.padding]
    modes = {m.padding_mode for m in convs if not isinstance(m, torch.nn.Conv2d) or m.kernel_size[0] > 1}
    assert modes == {mode}
    if mode == "replicate":
        with torch.no_grad():
            out = generator(torch.full((1, 1, 40, 40), 0.3))
        assert float(out.std()) < 1e-5 * (float(out.abs().mean()) + 1e-3)


@pytest.mark.parametrize("name", ["denoising", "calcium"])
def test_denoising_is_held_by_the_self_supervised_term_and_others_warm_up_over_their_first_tenth(name):
    """Denoising's fidelity term is the self-supervised one, with no pull towards the noisy input; the other
    same-channel tasks warm up over the first 10% (weight 5 falling to 0) and have no self-supervised term."""
    from monai.bundle import ConfigParser

    from common.methods import make_method

    parser = ConfigParser()
    parser.read_config(_config(name, "train"))
    parser["max_iterations"] = 200
    addons = parser.get_parsed_content("addons")
    method = make_method("stable", 2, 1, 1, {"channels": [4, 8], "n_info": 2, "ndf": 8}, addons)
    weights = [method.warmup_weight(step) for step in (0, 19, 20, 100, 199, 200)]
    terms = method.generator_step(torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32), step=0).terms
    if name == "denoising":
        assert weights == [0.0] * 6 and method.lambda_selfsup == 100.0 and "G_selfsup" in terms
    else:
        assert weights[0] == pytest.approx(5.0) and weights[1] > 0 and weights[2:] == [0.0] * 4
        assert method.lambda_selfsup == 0.0 and "G_selfsup" not in terms


@pytest.mark.parametrize("method, lr", [("stable", 6e-4), ("cyclegan", 2e-4)])
def test_denoising_learning_rate_per_method_and_generator_ema(method, lr):
    """Denoising trains STABLE at 6e-4 (twice the paper's 3e-4) and validates, selects and ships the generator's moving
    average (decay 0.99). Other methods keep their paper rate; a command-line learning_rate overrides any; calcium
    keeps the paper rates and no EMA."""
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(_config("denoising", "train"))
    parser["method"] = method
    parser["hyperparameters"][method] = {"channels": [4, 8], "n_info": 2, "ndf": 8} if method == "stable" else {}
    assert parser.get_parsed_content("optimizer_g").param_groups[0]["lr"] == pytest.approx(lr)
    assert parser.get_parsed_content("ema_decay") == 0.99
    parser = ConfigParser()
    parser.read_config(_config("denoising", "train"))
    parser["learning_rate"] = 1e-4
    assert parser.get_parsed_content("optimizer_g").param_groups[0]["lr"] == pytest.approx(1e-4)
    parser = ConfigParser()
    parser.read_config(_config("calcium", "train"))
    assert parser.get_parsed_content("learning_rate") is None and parser.get_parsed_content("ema_decay") is None
    parser = ConfigParser()  # the documented switch-off: `--ema_decay null` (MONAI's run drops `None`)
    parser.read_config(_config("denoising", "train"))
    parser["ema_decay"] = "null"
    parser["hyperparameters"]["stable"] |= {"channels": [4, 8], "n_info": 2, "ndf": 8}
    assert parser.get_parsed_content("ema") is None
    assert parser.get_parsed_content("tracking_params")["ema_decay"] is None


def test_if_unmixing_ships_the_moving_average_with_its_own_spectral_norms():
    """if_unmixing validates, selects and ships the generator's EMA (0.99); the average of Ui2i's ABSN generator is a
    GeneratorEMA, which keeps the spectral-norm estimates of the averaged weights; `--ema_decay null` switches it
    off."""
    from monai.bundle import ConfigParser

    from common.engines import GeneratorEMA
    from common.networks import BidirectionalSpectralNorm

    small = {"features": [4, 8, 8, 8], "ndf": 8, "content_hidden": 8}
    parser = ConfigParser()
    parser.read_config(_config("if_unmixing", "train"))
    parser["hyperparameters"]["ui2i"] |= small
    assert parser.get_parsed_content("ema_decay") == 0.99
    ema = parser.get_parsed_content("ema")
    assert isinstance(ema, GeneratorEMA)
    assert any(isinstance(m, BidirectionalSpectralNorm) for m in ema.module.modules())
    assert parser.get_parsed_content("tracking_params")["ema_decay"] == 0.99
    parser = ConfigParser()
    parser.read_config(_config("if_unmixing", "train"))
    parser["hyperparameters"]["ui2i"] |= small
    parser["ema_decay"] = "null"
    assert parser.get_parsed_content("ema") is None


def test_model_spec_stores_switches_given_as_words_as_booleans():
    """``--normalization_a '{"clip": false}'`` reaches the config as ``"clip": "false"`` (Fire): the model spec, which
    inference and evaluation rebuild from, stores the normalisation resolved (``False``, every default filled in)."""
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(_config("denoising", "train"))
    parser["normalization_a"] = {"mode": "percentile", "lower": 0.0, "upper": 99.0, "clip": "false"}
    parser["hyperparameters"]["stable"] |= {"demodulate": "false"}
    spec = parser.get_parsed_content("model_spec")
    assert spec["normalization_a"]["clip"] is False and spec["normalization_a"]["upper"] == 99.0
    assert spec["normalization_a"] == Normalization.from_config(spec["normalization_a"]).as_dict()
    assert spec["hyperparameters"]["demodulate"] is False
    parser["normalization_b"] = {"clip": "perhaps"}
    with pytest.raises(RuntimeError) as refused:  # MONAI wraps the config's error; its cause names the option
        parser.get_parsed_content("model_spec", lazy=False)
    assert "'clip' must be true or false, got 'perhaps'" in str(refused.value.__cause__)


@pytest.mark.parametrize("name", ["if_unmixing", "ihc_he_translation"])
def test_ui2i_bundles_scale_the_rate_with_the_network_width(name):
    """The Ui2i bundles train their full-size networks at the paper's 2e-4; narrower ones (the benchmark's 16 features
    in the first level) at 2e-4 * sqrt(64 / 16) = 4e-4; ``--learning_rate`` overrides either."""
    from monai.bundle import ConfigParser

    for features, override, lr in (
        ([64, 128, 256, 512], None, 2e-4),
        ([16, 32, 64, 128], None, 4e-4),
        ([16, 32], 1e-4, 1e-4),
    ):
        parser = ConfigParser()
        parser.read_config(_config(name, "train"))
        parser["hyperparameters"]["ui2i"] |= {"features": features, "ndf": 8, "content_hidden": 8}
        if override is not None:
            parser["learning_rate"] = override
        assert parser.get_parsed_content("method") == "ui2i"
        assert parser.get_parsed_content("optimizer_g").param_groups[0]["lr"] == pytest.approx(lr)
        assert parser.get_parsed_content("optimizer_d").param_groups[0]["lr"] == pytest.approx(lr)


@pytest.mark.parametrize("name", BUNDLES)
def test_uncertainty_source_defaults_follow_the_measurements(name):
    """IHC -> H&E writes the learned error head's map (where the model carries one): it ranks the IHC errors better than
    the spread over flips; elsewhere the spread ranks them as well or better. Every bundle trains the head, on the
    calibrated error, reading the translation too; the final report shows the same source as inference."""
    inference = json.loads(Path(_config(name, "inference")).read_text())
    evaluate = json.loads(Path(_config(name, "evaluate")).read_text())
    expected = "auto" if name == "ihc_he_translation" else "spread"
    assert inference["uncertainty_source"] == evaluate["uncertainty_source"] == expected
    train = json.loads(Path(_config(name, "train")).read_text())
    assert train["error_head"] is True and train["error_head_trainer"]["calibrated"] is True
    assert train["error_head_trainer"]["conditioned"] is True and train["uncertainty_source"] == expected
