"""Uncertainty against error: rank correlation and the error share of the most uncertain pixels."""

import numpy as np
import pytest

from common.metrics.uncertainty import uncertainty_scores


def test_a_map_that_ranks_the_errors_scores_high_and_noise_scores_nothing():
    rng = np.random.default_rng(0)
    truth = rng.random((64, 64))
    error = rng.exponential(0.05, truth.shape) * rng.choice([-1, 1], truth.shape)
    pred = 3.0 * (truth + error) - 1.0  # any intensity scale: the fit removes it
    good = uncertainty_scores(np.abs(error), pred, truth)
    assert good["spearman"] > 0.8 and good["top_ratio"] > 2.5
    noise = uncertainty_scores(rng.random(truth.shape), pred, truth)
    assert abs(noise["spearman"]) < 0.05 and 0.9 < noise["top_ratio"] < 1.1
    assert good["partial_spearman"] > 0.8  # the errors here do not depend on brightness
    flat = uncertainty_scores(np.zeros(truth.shape), pred, truth)
    assert flat["spearman"] == 0.0


def test_a_copy_of_the_brightness_ranks_errors_that_grow_with_signal_but_adds_nothing_given_it():
    rng = np.random.default_rng(1)
    truth = rng.random((64, 64))
    pred = truth + truth * rng.standard_normal(truth.shape) * 0.2  # errors grow with the signal
    copy = uncertainty_scores(pred.copy(), pred, truth)
    assert copy["spearman"] > 0.2 and abs(copy["partial_spearman"]) < 0.05


def test_sizes_and_share_are_checked():
    with pytest.raises(ValueError, match="sizes differ"):
        uncertainty_scores(np.zeros(5), np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="top"):
        uncertainty_scores(np.zeros(4), np.zeros(4), np.zeros(4), top=1.0)
