"""The no-network baselines: histogram matching to B's training pool, the inverted match, the validated blur."""

import numpy as np
import pytest
import tifffile
import torch
from scipy.ndimage import gaussian_filter
from skimage.exposure import match_histograms

from common.errors import InputDataError
from common.evaluation.trivial import (
    Blur,
    HistogramMatch,
    Untranslated,
    b_quantiles,
    default_baselines,
    make_baseline,
)

NONE = {"mode": "none"}


def _pool(root, rng, n=3, size=40, channels=1):
    (root / "trainB").mkdir(parents=True)
    images = []
    for i in range(n):
        image = rng.gamma(2.0, 3.0, (channels, size, size)).astype(np.float32)
        tifffile.imwrite(root / "trainB" / f"b{i}.tif", image[0] if channels == 1 else image)
        images.append(image)
    return images


def test_histogram_match_is_skimage_against_the_whole_pool_and_keeps_every_edge(tmp_path):
    rng = np.random.default_rng(0)
    pool = _pool(tmp_path, rng)
    quantiles = b_quantiles(tmp_path / "trainB", NONE)
    image = gaussian_filter(rng.random((48, 48)), 2).astype(np.float32)
    matched = HistogramMatch(quantiles)(torch.as_tensor(image)[None, None])[0, 0].numpy()
    reference = np.concatenate([p.ravel() for p in pool]).reshape(-1, 40)
    expected = match_histograms(image, reference)
    assert np.abs(matched - expected).max() < 0.05 * np.ptp(expected)
    # a monotone remap: the order of the values (every edge, every object) is the input's
    order_in, order_out = np.argsort(image.ravel()), np.argsort(matched.ravel(), kind="stable")
    assert np.all(np.diff(matched.ravel()[order_in]) >= -1e-6)
    assert not np.array_equal(order_in, np.arange(order_in.size)) and order_out.size == order_in.size
    # and the output carries B's grey levels, not the input's
    assert np.quantile(matched, 0.5) == pytest.approx(np.quantile(reference, 0.5), rel=0.05)


def test_inverted_match_reverses_the_brightness_and_channels_follow_b(tmp_path):
    rng = np.random.default_rng(1)
    _pool(tmp_path, rng, channels=2)
    quantiles = b_quantiles(tmp_path / "trainB", NONE)
    assert quantiles.shape[0] == 2
    x = torch.as_tensor(gaussian_filter(rng.random((32, 32)), 2), dtype=torch.float32)[None, None]
    straight = HistogramMatch(quantiles)(x)
    inverted = HistogramMatch(quantiles, invert=True)(x)
    assert straight.shape == (1, 2, 32, 32)
    pcc = np.corrcoef(x.numpy().ravel(), inverted[0, 0].numpy().ravel())[0, 1]
    assert pcc < -0.9 < np.corrcoef(x.numpy().ravel(), straight[0, 1].numpy().ravel())[0, 1]


def test_untranslated_fits_b_channels():
    x = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(1, 2, 4, 4)
    assert torch.equal(Untranslated(2)(x), x)
    three = Untranslated(3)(x)
    assert three.shape == (1, 3, 4, 4) and torch.allclose(three[0, 2], x[0].mean(0))
    assert torch.equal(Untranslated(2)(x[:, :1]), x[:, :1].expand(-1, 2, -1, -1))


def test_blur_is_a_gaussian_of_the_chosen_width():
    rng = np.random.default_rng(2)
    image = rng.random((40, 40)).astype(np.float32)
    out = Blur(1.5)(torch.as_tensor(image)[None, None])[0, 0].numpy()
    expected = gaussian_filter(image.astype(np.float64), 1.5, mode="nearest", truncate=4.0)
    assert np.abs(out - expected)[8:-8, 8:-8].max() < 1e-3
    with pytest.raises(ValueError, match="sigma"):
        Blur(0)


def test_make_baseline_picks_the_blur_on_validation_and_refuses_what_it_cannot_make(tmp_path):
    rng = np.random.default_rng(3)
    for split in ("val", "test"):
        for side in "AB":
            (tmp_path / f"{split}{side}").mkdir()
        for i in range(2):
            clean = gaussian_filter(rng.random((48, 48)), 3) * 10
            tifffile.imwrite(tmp_path / f"{split}B" / f"i{i}.tif", clean.astype(np.float32))
            noisy = clean + 0.5 * rng.standard_normal(clean.shape)
            tifffile.imwrite(tmp_path / f"{split}A" / f"i{i}.tif", noisy.astype(np.float32))
    spec = {"normalization_b": NONE, "channels_b": 1, "spatial_dims": 2}
    module, chosen = make_baseline("blur", tmp_path, spec)
    assert isinstance(module, Blur) and chosen["sigma"] == module.sigma > 0.5
    assert set(chosen["validation"]) >= {0.5, 1.0}
    with pytest.raises(InputDataError, match="trainB"):
        make_baseline("histogram", tmp_path, spec)  # no B training pool
    with pytest.raises(ValueError, match="unknown baseline"):
        make_baseline("bm3d", tmp_path, spec)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputDataError):
        make_baseline("blur", empty, spec)


def test_default_baselines_follow_the_task():
    assert default_baselines(1) == ["input", "histogram"]
    assert default_baselines(-1) == ["input", "histogram", "histogram_inverted"]
    assert default_baselines(1, denoising=True) == ["input", "histogram", "blur"]
