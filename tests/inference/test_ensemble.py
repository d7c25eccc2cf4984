"""Uncertainty at inference: test-time flips/rotations and checkpoints, their mean and spread, written beside the
translation with its geometry."""

import numpy as np
import pytest
import torch

import common.io.load as load_module
from common.inference import (
    EnsembleTranslator,
    Outputs,
    Tiling,
    ensemble_checkpoints,
    split_uncertainty,
    translate_files,
    uncertainty_translator,
)
from common.inference.ensemble import dihedral_transforms
from common.io import load_image, write_nifti, write_tiff


@pytest.mark.parametrize("dims, shape", [(2, (2, 1, 5, 7)), (3, (1, 2, 3, 4, 5))])
def test_each_augmentation_is_undone_by_its_inverse(dims, shape):
    x = torch.randn(shape)
    pairs = dihedral_transforms(dims)
    assert len(pairs) == 8
    outputs = set()
    for forward, inverse in pairs:
        torch.testing.assert_close(inverse(forward(x)), x, rtol=0, atol=0)
        outputs.add(forward(x).numpy().tobytes())
    assert len(outputs) == 8  # eight distinct views of a generic image
    torch.testing.assert_close(pairs[0][0](x), x)  # identity first


def test_spread_is_exactly_zero_where_every_pass_agrees():
    x = torch.rand(2, 1, 12, 9)
    out = EnsembleTranslator([torch.nn.Identity()], spatial_dims=2)(x)
    assert out.shape == (2, 2, 12, 9)
    mean, spread = split_uncertainty(out, channel_dim=1)
    torch.testing.assert_close(mean, x)
    assert torch.count_nonzero(spread) == 0


class _Ramp(torch.nn.Module):
    """Output = input + a ramp along x: not flip-equivariant, so the passes disagree by the ramp's asymmetry."""

    def forward(self, x):
        return x + torch.linspace(0, 1, x.shape[-1]).expand_as(x)


def test_mean_and_spread_are_those_of_the_passes():
    x = torch.rand(1, 1, 6, 6)
    ensemble = EnsembleTranslator([_Ramp(), torch.nn.Identity()], spatial_dims=2)
    assert ensemble.passes == 16
    passes = torch.stack([inv(net(fwd(x))) for net in ensemble.members for fwd, inv in ensemble.transforms])
    mean, spread = split_uncertainty(ensemble(x), channel_dim=1)
    torch.testing.assert_close(mean, passes.mean(0))
    torch.testing.assert_close(spread, passes.std(0, unbiased=False), atol=1e-6, rtol=1e-5)
    assert spread.min() > 0


def test_checkpoints_alone_need_several_members():
    with pytest.raises(ValueError, match="no spread"):
        EnsembleTranslator([torch.nn.Identity()], augment=False)
    with pytest.raises(ValueError, match="at least one"):
        EnsembleTranslator([])
    with pytest.raises(ValueError, match="even channel count"):
        split_uncertainty(torch.zeros(3, 4, 4))


def test_ensemble_checkpoints_are_the_model_then_the_latest_snapshots(tmp_path):
    model = tmp_path / "best_model.pt"
    model.touch()
    (tmp_path / "snapshots").mkdir()
    for step in (10, 200, 30):
        (tmp_path / "snapshots" / f"model_iteration={step}.pt").touch()
    names = [p.name for p in ensemble_checkpoints(model, 3)]
    assert names == ["best_model.pt", "model_iteration=200.pt", "model_iteration=30.pt"]
    assert len(ensemble_checkpoints(model, 10)) == 4
    (tmp_path / "bundle").mkdir()  # a model with no snapshots beside it: itself alone
    assert ensemble_checkpoints(tmp_path / "bundle" / "model.pt", 3) == [tmp_path / "bundle" / "model.pt"]
    with pytest.raises(ValueError):
        ensemble_checkpoints(model, 0)


def _ensemble():
    torch.manual_seed(0)
    return EnsembleTranslator([torch.nn.Conv2d(1, 1, 3, padding=1), torch.nn.Conv2d(1, 1, 3, padding=1)])


def test_uncertainty_map_is_written_beside_the_translation_with_its_geometry(tmp_path):
    rng = np.random.default_rng(0)
    write_tiff(tmp_path / "in" / "movie.tif", rng.integers(0, 4000, (3, 20, 24), dtype=np.uint16), "TYX",
               spacing={"X": 0.4, "Y": 0.4, "T": 2.0})  # fmt: skip
    affine = np.diag([0.8, 0.9, 2.5, 1.0])
    write_nifti(tmp_path / "in" / "vol.nii.gz", rng.random((16, 18, 3)).astype(np.float32), affine)
    written = translate_files(
        _ensemble(), tmp_path / "in", tmp_path / "out", outputs=Outputs(uncertainty_dir=tmp_path / "out" / "u")
    )
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "movie.tif", "u/movie.tif", "u/vol.nii.gz", "vol.nii.gz",
    ]  # fmt: skip
    for name in ("movie.tif", "vol.nii.gz"):
        a, t, u = (load_image(p, dtype=None) for p in (tmp_path / "in" / name, tmp_path / "out" / name,
                                                       tmp_path / "out" / "u" / name))  # fmt: skip
        assert t.shape == u.shape == a.shape
        assert u.meta.get("spatial_axes") == a.meta.get("spatial_axes")
        for key in ("spacing", "affine"):
            if key in a.meta:
                np.testing.assert_allclose(u.meta[key], a.meta[key])
        assert float(u.min()) >= 0 and float(u.max()) > 0


def test_an_uncertainty_translator_writes_its_maps_to_uncertainty_in_the_output_folder_by_default(tmp_path):
    write_tiff(tmp_path / "in" / "a.tif", np.ones((8, 8), np.float32), "YX")
    written = translate_files(_ensemble(), tmp_path / "in", tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["a.tif", "uncertainty/a.tif"]


def test_the_uncertainty_switch_off_gives_the_network_itself(tmp_path):
    network = torch.nn.Identity()
    assert uncertainty_translator(network, {}, tmp_path / "model.pt", enabled="false") is network
    assert uncertainty_translator(None, {}, tmp_path / "model.pt") is None  # scoring given predictions


def test_uncertainty_option_refuses_what_it_cannot_do(tmp_path):
    write_tiff(tmp_path / "in" / "a.tif", np.ones((8, 8), np.float32), "YX")
    with pytest.raises(ValueError, match="EnsembleTranslator"):
        translate_files(
            torch.nn.Identity(), tmp_path / "in", tmp_path / "out", outputs=Outputs(uncertainty_dir=tmp_path / "u")
        )
    with pytest.raises(Exception, match="folder of their own"):
        translate_files(
            _ensemble(), tmp_path / "in", tmp_path / "out", outputs=Outputs(uncertainty_dir=tmp_path / "out")
        )
    (tmp_path / "u").mkdir()
    (tmp_path / "u" / "a.tif").write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        translate_files(_ensemble(), tmp_path / "in", tmp_path / "out", outputs=Outputs(uncertainty_dir=tmp_path / "u"))
    assert (tmp_path / "u" / "a.tif").read_bytes() == b"keep" and not (tmp_path / "out" / "a.tif").exists()


def test_streamed_uncertainty_equals_in_memory(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    write_tiff(tmp_path / "in" / "big.tif", rng.integers(0, 4000, (4, 2, 20, 24), dtype=np.uint16), "TZYX")
    spec = {"normalization_a": {"mode": "percentile", "lower": 1, "upper": 99}}
    memory = translate_files(
        _ensemble(), tmp_path / "in", tmp_path / "m", spec=spec, tiling=Tiling(batch_size=3),
        outputs=Outputs(uncertainty_dir=tmp_path / "mu"),
    )  # fmt: skip

    def refuse(path, *args, **kw):
        raise AssertionError(f"{path} was loaded whole")

    monkeypatch.setattr(load_module, "load_image", refuse)
    streamed = translate_files(
        _ensemble(),
        tmp_path / "in",
        tmp_path / "s",
        spec=spec,
        tiling=Tiling(batch_size=3, stream_above_bytes=0),
        outputs=Outputs(uncertainty_dir=tmp_path / "su"),
    )
    monkeypatch.undo()
    for a, b in zip(memory, streamed, strict=True):
        torch.testing.assert_close(load_image(b, dtype=None), load_image(a, dtype=None), atol=1e-5, rtol=1e-5)


def test_range_normalised_spread_is_scaled_not_shifted(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    write_tiff(tmp_path / "in" / "he.tif", rgb, "YXS")
    norm = {"mode": "range", "a_min": 0, "a_max": 255, "b_min": -1, "b_max": 1}
    ensemble = EnsembleTranslator([torch.nn.Identity()])  # every pass agrees: zero spread in any units
    translate_files(
        ensemble,
        tmp_path / "in",
        tmp_path / "o",
        spec={"normalization_a": norm, "normalization_b": norm},
        outputs=Outputs(uncertainty_dir=tmp_path / "u"),
    )
    assert float(load_image(tmp_path / "u" / "he.tif", dtype=None).abs().max()) == 0
    np.testing.assert_allclose(load_image(tmp_path / "o" / "he.tif", dtype=None).numpy(),
                               load_image(tmp_path / "in" / "he.tif").numpy(), atol=1e-3)  # fmt: skip


class _Misplace(torch.nn.Module):
    """A translator that moves structure: its output is the input shifted 2 px down-right, slightly blurred."""

    def forward(self, x):
        return torch.nn.functional.avg_pool2d(torch.roll(x, (2, 2), dims=(-2, -1)), 3, 1, 1)


def test_spread_marks_where_a_translator_misplaces_nuclei_on_phantoms():
    """Each flip moves the 2 px shift another way, so the passes disagree at the nuclei's edges, which is where
    the misplaced translation errs: the spread ranks the error, beyond the brightness of the translation."""
    from common.metrics.uncertainty import uncertainty_scores
    from common.phantoms import task_sampler

    sample = task_sampler("denoising")(np.random.default_rng(0), size=96)
    truth = torch.as_tensor(np.asarray(sample.b.data, dtype=np.float32).reshape(-1, 96, 96)[:1])[None]  # a slice
    truth = (truth - truth.min()) / (truth.max() - truth.min())
    mean, spread = split_uncertainty(EnsembleTranslator([_Misplace()])(truth), channel_dim=1)
    single = uncertainty_scores(spread.numpy(), _Misplace()(truth).numpy(), truth.numpy())
    assert single["spearman"] > 0.1 and single["top_ratio"] > 3 and single["partial_spearman"] > 0.1
    shuffled = np.random.default_rng(0).permutation(spread.numpy().ravel())
    assert uncertainty_scores(shuffled, _Misplace()(truth).numpy(), truth.numpy())["top_ratio"] < 1.2


def test_tiled_ensemble_translation_blends_mean_and_spread(tmp_path):
    image = np.random.default_rng(3).random((40, 44)).astype(np.float32)
    write_tiff(tmp_path / "in" / "a.tif", image, "YX")
    kwargs = {"spec": {"normalization_a": {"mode": "none"}}, "tiling": Tiling(roi_size=(16, 16))}
    kwargs |= {"outputs": Outputs(uncertainty_dir=tmp_path / "u")}
    translate_files(EnsembleTranslator([torch.nn.Identity()]), tmp_path / "in", tmp_path / "o", **kwargs)
    np.testing.assert_allclose(load_image(tmp_path / "o" / "a.tif", dtype=None)[0].numpy(), image, atol=1e-5)
    assert float(load_image(tmp_path / "u" / "a.tif", dtype=None).abs().max()) < 1e-6


def test_maps_of_8_bit_translations_are_float_and_keep_spreads_under_one_grey_level(tmp_path):
    """An 8-bit map would round a spread of a fraction of a grey level to 0 (and tie most pixels' ranks): maps are
    float32, a .tif beside a PNG translation, and the review reads them in the translation's layout."""
    from skimage.io import imsave

    from common.evaluation.review import review_uncertainty

    rgb = np.random.default_rng(3).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    for d in ("testA", "testB"):
        (tmp_path / "data" / d).mkdir(parents=True)
        imsave(tmp_path / "data" / d / "he.png", rgb, check_contrast=False)
    write_tiff(tmp_path / "data" / "testA" / "gray.tif", rgb[..., 0], "YX")
    write_tiff(tmp_path / "data" / "testB" / "gray.tif", rgb[..., 0], "YX")
    norm = {"mode": "range", "a_min": 0, "a_max": 255, "b_min": 0, "b_max": 1}
    torch.manual_seed(0)
    nets = [torch.nn.Conv2d(3, 3, 1) for _ in range(2)]
    with torch.no_grad():
        for i, net in enumerate(nets):  # two checkpoints 0.002 apart in 0..1: 0.51 grey levels
            net.weight.copy_(torch.eye(3)[..., None, None])
            net.bias.fill_(0.002 * i)
    written = translate_files(
        EnsembleTranslator(nets),
        tmp_path / "data" / "testA" / "he.png",
        tmp_path / "o",
        spec={"normalization_a": norm, "normalization_b": norm},
        outputs=Outputs(dtype="uint8", uncertainty_dir=tmp_path / "u"),
    )
    assert [p.name for p in written] == ["he.png", "he.tif"]
    spread = load_image(tmp_path / "u" / "he.tif", dtype=None)
    assert spread.dtype == torch.float32 and spread.shape == (3, 16, 16)
    np.testing.assert_allclose(spread.numpy(), 0.51 / 2, rtol=1e-3)  # population std of the passes, in grey levels
    gray = [torch.nn.Conv2d(1, 1, 3, padding=1) for _ in range(2)]
    translate_files(
        EnsembleTranslator(gray),
        tmp_path / "data" / "testA" / "gray.tif",
        tmp_path / "o",
        spec={"normalization_a": norm, "normalization_b": norm},
        outputs=Outputs(dtype="uint8", uncertainty_dir=tmp_path / "u"),
    )
    assert load_image(tmp_path / "u" / "gray.tif", dtype=None).dtype == torch.float32
    assert load_image(tmp_path / "o" / "gray.tif", dtype=None).dtype == torch.uint8
    scores = review_uncertainty(tmp_path / "o", tmp_path / "u", tmp_path / "data")
    assert scores["n"] == 2 and all(np.isfinite(r["spearman"]) for r in scores["per_image"])
    control = review_uncertainty(tmp_path / "o", tmp_path / "o", tmp_path / "data")  # the translation as its own map
    assert control["n"] == 2
