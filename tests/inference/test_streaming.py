"""Page-by-page translation of large TIFF movies/stacks equals the in-memory path and never loads the file."""

import numpy as np
import pytest
import torch

import common.io.load as load_module
from common.inference import Tiling, translate_files
from common.io import load_image, write_tiff

NORM = {"mode": "percentile", "lower": 1, "upper": 99}
POOLED = NORM | {"channel_wise": False}  # one scale for all channels


@pytest.mark.parametrize(
    "shape, axes, c_in, c_out, norm",
    [
        ((7, 3, 50, 60), "TZYX", 1, 2, NORM),
        ((5, 2, 40, 30), "TCYX", 2, 1, NORM),
        ((5, 2, 40, 30), "TCYX", 2, 1, POOLED),
        ((6, 44, 36), "ZYX", 1, 1, NORM),
    ],
)
def test_streamed_translation_equals_in_memory(tmp_path, monkeypatch, shape, axes, c_in, c_out, norm):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4000, shape, dtype=np.uint16)
    if "C" in axes:
        data[:, 1] //= 10  # channels of different brightness: a pooled scale differs from per-channel ones
    write_tiff(
        tmp_path / "in" / "big.tif",
        data,
        axes,
        spacing={"X": 0.5, "Y": 0.5, "Z": 2.0, "T": 1.5},
    )
    torch.manual_seed(0)
    net = torch.nn.Conv2d(c_in, c_out, 3, padding=1)
    spec, tiling = {"normalization_a": norm}, Tiling(roi_size=(32, 32), batch_size=4)
    (in_memory,) = translate_files(net, tmp_path / "in", tmp_path / "memory", spec=spec, tiling=tiling)
    real_load = load_module.load_image

    def refuse(path, *args, **kw):  # the streamed file must never be loaded whole
        raise AssertionError(f"{path} was loaded whole")

    monkeypatch.setattr(load_module, "load_image", refuse)
    tiling = Tiling(roi_size=(32, 32), batch_size=4, stream_above_bytes=0)
    (streamed,) = translate_files(net, tmp_path / "in", tmp_path / "stream", spec=spec, tiling=tiling)
    monkeypatch.setattr(load_module, "load_image", real_load)
    a, b = load_image(in_memory, dtype=None), load_image(streamed, dtype=None)
    assert b.shape == a.shape and b.meta["spatial_axes"] == a.meta["spatial_axes"]
    np.testing.assert_allclose(b.meta["spacing"], a.meta["spacing"])
    torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_streamed_nifti_equals_in_memory_and_keeps_the_affine(tmp_path, monkeypatch, suffix):
    from common.io import write_nifti

    affine = np.diag([0.8, 0.9, 2.5, 1.0])
    affine[:3, 3] = [10, -4, 3]
    write_nifti(
        tmp_path / "in" / f"vol{suffix}", np.random.default_rng(1).random((40, 36, 9)).astype(np.float32), affine
    )
    torch.manual_seed(0)
    net = torch.nn.Conv2d(1, 1, 3, padding=1)
    spec, tiling = {"normalization_a": NORM}, Tiling(roi_size=(32, 32), batch_size=4)
    (in_memory,) = translate_files(net, tmp_path / "in", tmp_path / "memory", spec=spec, tiling=tiling)
    real_load = load_module.load_image
    monkeypatch.setattr(load_module, "load_image", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    tiling = Tiling(roi_size=(32, 32), batch_size=4, stream_above_bytes=0)
    (streamed,) = translate_files(net, tmp_path / "in", tmp_path / "stream", spec=spec, tiling=tiling)
    monkeypatch.setattr(load_module, "load_image", real_load)
    a, b = load_image(in_memory), load_image(streamed)
    np.testing.assert_allclose(b.affine.numpy(), affine, atol=1e-5)
    torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    assert sorted(p.name for p in (tmp_path / "stream").iterdir()) == [f"vol{suffix}"]  # no scratch left behind
