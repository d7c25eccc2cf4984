"""Metrics against known answers and reference implementations."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from common.metrics import (
    aggregate,
    delta_f_over_f,
    instance_metrics,
    nearest_object_analysis,
    pixel_metrics,
    roi_traces,
    steganography_probe,
    trace_correlations,
)
from common.metrics.steganography import hides_input
from common.phantoms import task_sampler
from common.phantoms.nuclei import random_ellipses
from common.segmentation import CellposeSegmenter, ClassicalSegmenter, make_segmenter, task_segmenter


def test_identical_images_and_reference_implementations(rng):
    x = rng.random((1, 64, 72)).astype(np.float32)
    same = pixel_metrics(x, x)
    assert same["psnr"] == math.inf and same["ssim"] == pytest.approx(1.0) and same["pcc"] == pytest.approx(1.0)
    assert same["rmse"] == 0 and same["mae"] == 0 and same["ms_ssim"] == pytest.approx(1.0)
    y = np.clip(x + 0.05 * rng.standard_normal(x.shape).astype(np.float32), 0, 1)
    m = pixel_metrics(y, x, data_range=1.0)
    assert m["psnr"] == pytest.approx(peak_signal_noise_ratio(x, y, data_range=1.0), abs=1e-3)
    assert m["pcc"] == pytest.approx(pearsonr(x.ravel(), y.ravel())[0], abs=1e-6)
    assert m["rmse"] == pytest.approx(float(np.sqrt(((x - y) ** 2).mean())), rel=1e-5)
    reference_ssim = structural_similarity(
        x[0], y[0], data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, win_size=7
    )
    assert m["ssim"] == pytest.approx(reference_ssim, abs=0.03)


def test_micro_ms_ssim_ignores_scale_and_offset_but_ms_ssim_does_not(rng):
    x = rng.random((1, 96, 96)).astype(np.float32)
    m = pixel_metrics(3.0 * x + 2.0, x)
    assert m["micro_ms_ssim"] == pytest.approx(1.0, abs=1e-4) and m["ms_ssim"] < 0.9
    v = rng.random((1, 16, 32, 32)).astype(np.float32)
    three_d = pixel_metrics(2.0 * v, v, spatial_dims=3)
    assert three_d["micro_ms_ssim"] == pytest.approx(1.0, abs=1e-4) and three_d["pcc"] == pytest.approx(1.0)


def test_aggregate():
    a = aggregate([1, 2, 3, 4, math.nan])
    assert a["median"] == 2.5 and a["mean"] == 2.5 and a["iqr"] == pytest.approx(1.5) and a["n"] == 5
    assert aggregate([math.inf, math.inf])["median"] == math.inf


def test_instance_metrics_identical_disjoint_and_partial(rng):
    labels, _ = random_ellipses((96, 96), 12, rng)
    same = instance_metrics(labels, labels)
    assert same["pq"] == 1.0 and same["f1"] == 1.0 and same["tp"] == labels.max()
    disjoint = np.zeros_like(labels)
    disjoint[labels == 0] = 0
    other, _ = random_ellipses((96, 96), 12, np.random.default_rng(99))
    other[labels > 0] = 0  # no overlap with the reference at all
    assert instance_metrics(labels, other)["pq"] == 0.0
    half = labels.copy()
    half[np.isin(half, np.arange(1, labels.max() // 2 + 1))] = 0
    m = instance_metrics(labels, half)
    assert m["precision"] == 1.0 and m["recall"] == pytest.approx((labels.max() - labels.max() // 2) / labels.max())


@pytest.mark.parametrize("shift", [0, 3, 5])
def test_shifted_labels_give_centroid_distance_k(rng, shift):
    labels, _ = random_ellipses((80, 80), 8, rng, border=10)
    moved = np.roll(labels, shift, axis=1)
    rows = nearest_object_analysis(labels, moved)
    assert [r["distance"] for r in rows] == pytest.approx([shift] * len(rows), abs=1e-6)
    if shift == 0:
        assert all(r["iou"] == 1.0 for r in rows)
    rows_um = nearest_object_analysis(labels, moved, spacing=(0.5, 0.5))
    assert rows_um[0]["distance"] == pytest.approx(0.5 * shift)


def test_calcium_shifted_translation_scores_worse_than_ground_truth():
    """The metrics see what the papers saw: ground truth moved by 5 px loses on distance and IoU."""
    sample = task_sampler("calcium")(np.random.default_rng(0), size=128, frames=8)
    nuclei = sample.labels_b.data.astype(np.int32)
    truth = nearest_object_analysis(nuclei, nuclei)
    shifted = nearest_object_analysis(nuclei, np.roll(nuclei, 5, axis=1))
    assert np.median([r["distance"] for r in truth]) == 0 and np.median([r["distance"] for r in shifted]) >= 4.9
    assert np.median([r["iou"] for r in truth]) == 1.0 and np.median([r["iou"] for r in shifted]) < 0.5
    movie = sample.b.data.astype(np.float64)
    traces_true, _ = roi_traces(movie, nuclei)
    traces_shift, _ = roi_traces(np.roll(movie, 5, axis=2), nuclei)
    assert np.median(trace_correlations(traces_true, traces_true)) == pytest.approx(1.0)
    assert np.median(trace_correlations(traces_true, traces_shift)) < np.median(
        trace_correlations(traces_true, traces_true)
    )


def test_traces_scaled_copies_correlate_perfectly_and_dff(rng):
    labels = np.zeros((10, 10), np.int32)
    labels[1:4, 1:4], labels[6:9, 6:9] = 1, 2
    movie = rng.random((20, 10, 10)) + 1
    traces, ids = roi_traces(movie, labels)
    assert list(ids) == [1, 2] and traces.shape == (2, 20)
    assert traces[0, 3] == pytest.approx(movie[3, 1:4, 1:4].mean())
    assert trace_correlations(traces, 3.0 * traces + 1.0) == pytest.approx([1.0, 1.0])
    flat = delta_f_over_f(np.full((1, 30), 5.0), window=9)
    assert np.allclose(flat, 0)
    step = np.concatenate([np.full(20, 1.0), np.full(20, 2.0)])[None]
    dff = delta_f_over_f(step, window=5)
    assert dff[0, 10] == pytest.approx(0) and dff[0, 19] == pytest.approx((1 - 1.4) / 1.4)


def test_steganography_probe_separates_hidden_copies_from_clean_translations():
    noise = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(3))  # seeded: the bound is not a coin
    x = torch.nn.functional.avg_pool2d(noise, 5, 1, 2)  # a smooth input
    checker = ((torch.arange(32)[:, None] + torch.arange(32)[None]) % 2 * 2 - 1).float()

    class Hide(torch.nn.Module):  # looks flat, hides the input in a checkerboard
        def forward(self, a):
            return 0.5 + 0.01 * checker * a

    class Reveal(torch.nn.Module):
        def forward(self, b):
            return (b - 0.5) / 0.01 * checker

    cheat = steganography_probe(Hide(), Reveal(), x)
    clean = steganography_probe(torch.nn.Identity(), torch.nn.Identity(), x)
    assert cheat["cycle_mae"] < 1e-4 and cheat["degradation"] > 0.1 and cheat["high_frequency_fraction"] > 0.5
    # an honest cycle loses only what the low-pass removes from the input (~0.018 over seeds), the cheat 5x more
    assert abs(clean["degradation"]) < 0.025 and clean["degradation"] < cheat["degradation"] / 5
    assert clean["high_frequency_fraction"] < 0.2
    assert cheat["noise_gain"] > 20 and cheat["lowpass_gain"] > 20 and hides_input(cheat)
    assert clean["noise_gain"] == pytest.approx(1, abs=0.05) and clean["lowpass_gain"] == pytest.approx(1, abs=0.05)
    assert not hides_input(clean)


def test_a_lossy_but_honest_cycle_does_not_trip_the_probe():
    """Denoising's cycle cannot restore the noise: its plain error is large, and stays so under disturbance."""
    x = torch.rand(2, 1, 32, 32)

    class Smooth(torch.nn.Module):
        def forward(self, a):
            return torch.nn.functional.avg_pool2d(a, 5, 1, 2)

    probe = steganography_probe(Smooth(), torch.nn.Identity(), x)
    assert probe["cycle_mae"] > 0.1 and probe["noise_gain"] == pytest.approx(1, abs=1e-3) and not hides_input(probe)
    assert steganography_probe(Smooth(), torch.nn.Identity(), x) == probe  # deterministic


def test_the_probe_looks_at_the_cycle_as_trained_through_the_methods_low_pass():
    """A reverse generator that would amplify the top half of the band, trained behind a DCT low-pass at 0.5 that
    never lets that band through: not steganographic on its cycle, which the probe sees only when told."""
    from common.ops.dct import dct_lowpass

    x = torch.nn.functional.avg_pool2d(torch.rand(2, 1, 32, 32), 3, 1, 1)

    class Amplify(torch.nn.Module):
        def forward(self, b):
            return b + 50 * (b - dct_lowpass(b, 0.5, 2))

    naive = steganography_probe(torch.nn.Identity(), Amplify(), x)
    trained = steganography_probe(torch.nn.Identity(), Amplify(), x, cycle_cutoff=0.5)
    assert hides_input(naive) and not hides_input(trained)
    assert trained["noise_gain"] == pytest.approx(1, abs=0.05) and trained["lowpass_gain"] == pytest.approx(1, abs=0.05)


@pytest.mark.parametrize("task, channel", [("mask_to_nuclei", None), ("if_unmixing", 0), ("phase_to_dapi", None)])
def test_classical_segmentation_finds_phantom_nuclei(task, channel):
    for seed in range(3):
        sample = task_sampler(task)(np.random.default_rng(seed), size=128)
        image = sample.b.data.astype(np.float64)
        labels = ClassicalSegmenter(channel=channel)(image if image.ndim == 3 else image[None])
        assert instance_metrics(sample.labels_b.data, labels)["f1"] >= 0.8
    assert ClassicalSegmenter()(np.zeros((1, 16, 16))).max() == 0


def test_cellpose_backend_needs_a_model_file(tmp_path):
    with pytest.raises(ValueError, match="model file"):
        CellposeSegmenter("")
    with pytest.raises(ValueError, match="not found"):
        CellposeSegmenter(str(tmp_path / "missing" / "model"))
    with pytest.raises(ValueError, match="backend"):
        make_segmenter("stardist")


def test_a_task_segmenter_is_none_without_objects_and_classical_by_default(tmp_path):
    assert task_segmenter(None) is None and task_segmenter(None, cellpose_model="unused") is None
    assert isinstance(task_segmenter({}), ClassicalSegmenter) and isinstance(
        task_segmenter({"sigma": 1.0}), ClassicalSegmenter
    )
    with pytest.raises(ValueError, match="not found"):  # a named Cellpose model is used, not ignored
        task_segmenter({"sigma": 1.0, "channel": 0}, cellpose_model=str(tmp_path / "missing"))
