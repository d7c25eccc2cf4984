"""Artefact scores: the reference scores 1, streaks, seams and checkerboards raise their own score, a blur or a
change of intensity scale raises none."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from common.metrics.artefacts import artefact_scores

LIMIT = 1.1  # the project's target: at most 10% over the reference


@pytest.fixture(scope="module")
def reference():
    rng = np.random.default_rng(0)
    return gaussian_filter(rng.random((128, 128)), 2)


def test_the_reference_and_its_rescaled_or_blurred_copies_are_clean(reference):
    assert artefact_scores(reference, reference)["artefact"] == pytest.approx(1.0)
    assert artefact_scores(3 * reference + 5, reference)["artefact"] == pytest.approx(1.0, abs=1e-6)
    for sigma in (0.5, 1.0):
        scores = artefact_scores(gaussian_filter(reference, sigma), reference)
        assert scores["artefact"] < LIMIT, scores


def test_each_artefact_raises_its_own_score(reference):
    rng = np.random.default_rng(1)
    std = reference.std()
    rows = artefact_scores(reference + 0.3 * std * rng.standard_normal((128, 1)), reference)
    assert rows["streaks_horizontal"] > 1.5 and rows["streaks_vertical"] < LIMIT
    columns = artefact_scores(reference + 0.3 * std * rng.standard_normal((1, 128)), reference)
    assert columns["streaks_vertical"] > 1.5 and columns["streaks_horizontal"] < LIMIT
    seams = reference.copy()
    seams[:, ::32] += 0.5 * std  # a 1-px seam every 32 px, half the image's standard deviation brighter
    assert artefact_scores(seams, reference)["streaks_vertical"] > LIMIT
    seams[:, ::32] += 0.5 * std
    assert artefact_scores(seams, reference)["streaks_vertical"] > 1.5
    checker = reference + 0.05 * std * (np.indices(reference.shape).sum(0) % 2)
    scores = artefact_scores(checker, reference)
    assert scores["checkerboard"] > 2 and scores["artefact"] == scores["checkerboard"]
    faint = reference + 0.003 * std * (np.indices(reference.shape).sum(0) % 2)  # far below what one can see
    assert artefact_scores(faint, reference)["checkerboard"] < LIMIT


def test_refuses_what_it_cannot_score(reference):
    with pytest.raises(ValueError, match="2D images of one shape"):
        artefact_scores(reference, reference[:64])
    with pytest.raises(ValueError, match="at least 16"):
        artefact_scores(reference[:8, :8], reference[:8, :8])
