"""Does an uncertainty map mean something? Its agreement with the translation's actual error.

Per image: the translation is fitted to the truth by least squares (as the review scores do: an unpaired
translation's intensity scale is arbitrary) and its absolute error taken per pixel; then

* ``spearman``: the rank correlation between uncertainty and error over the pixels;
* ``top_ratio``: the mean error in the ``top`` share (10%) of the most uncertain pixels over the mean error of all
  pixels (1: the map ranks no better than chance; higher: the uncertain pixels are where the errors are);
* ``partial_spearman``: the rank correlation of uncertainty and error with the translation's brightness held
  fixed (partial correlation of the ranks). Errors are larger where the signal is, so a map that is only a copy
  of the brightness scores well on the first two; on this one it scores ~0.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from common.metrics.review import fit_intensity

__all__ = ["uncertainty_scores"]


def uncertainty_scores(
    uncertainty, pred, ref, top: float = 0.1, max_pixels: int = 200_000, seed: int = 0
) -> dict[str, float]:
    """``spearman``, ``top_ratio`` and ``partial_spearman`` of ``uncertainty`` against the error of ``pred``
    (fitted) to ``ref``.

    Args:
        uncertainty, pred, ref: arrays with the same number of values (the files' layouts, squeezed).
        top: the share of most uncertain pixels of ``top_ratio``.
        max_pixels: the rank correlation uses at most this many pixels (a fixed random subset).
        seed: of that subset.

    Raises:
        ValueError: sizes that differ, or ``top`` outside (0, 1).
    """
    if not 0 < top < 1:
        raise ValueError(f"top must be in (0, 1), got {top}")
    ref = np.asarray(ref, dtype=np.float64).squeeze()
    if np.size(pred) != ref.size or np.size(uncertainty) != ref.size:
        raise ValueError(f"sizes differ: uncertainty {np.shape(uncertainty)}, pred {np.shape(pred)}, ref {ref.shape}")
    pred = np.asarray(pred, dtype=np.float64).reshape(ref.shape)
    error = np.abs(fit_intensity(pred, ref) - ref).ravel()
    spread = np.asarray(uncertainty, dtype=np.float64).ravel()
    picks = np.arange(spread.size)
    if spread.size > max_pixels:
        picks = np.random.default_rng(seed).choice(spread.size, max_pixels, replace=False)
    brightness = pred.ravel()
    rho, r_ub, r_eb = (
        _rank_correlation(x[picks], y[picks]) for x, y in ((spread, error), (spread, brightness), (error, brightness))
    )
    denominator = np.sqrt(max(1 - r_ub**2, 0) * max(1 - r_eb**2, 0))
    partial = float((rho - r_ub * r_eb) / denominator) if denominator > 1e-12 else 0.0
    count = max(1, int(round(top * spread.size)))
    most = np.argpartition(-spread, count - 1)[:count]
    mean_error = float(error.mean())
    ratio = float(error[most].mean() / mean_error) if mean_error > 0 else 1.0
    return {"spearman": rho, "top_ratio": ratio, "partial_spearman": partial, "error": mean_error}


def _rank_correlation(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(spearmanr(x, y).statistic)
