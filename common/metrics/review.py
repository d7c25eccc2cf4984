"""The review scores of a translation against its aligned truth: the prediction is fitted to the truth by least
squares (``a * pred + b`` over all values: an unpaired translation's intensity scale is arbitrary), then PSNR and
SSIM are computed on the truth's [p0.1, p99.9] range, and the Pearson correlation on the raw values. This is how
reviewers of this project score translations, so that benchmark figures and review figures agree; the untranslated
input scored the same way is the baseline a translation must beat.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

__all__ = ["fit_intensity", "review_scores"]


def fit_intensity(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``a * pred + b`` fitted to ``ref`` by least squares over all values (same shape as ``ref``)."""
    design = np.vstack([pred.ravel(), np.ones(pred.size)]).T
    coef, *_ = np.linalg.lstsq(design, ref.ravel(), rcond=None)
    return (pred * coef[0] + coef[1]).reshape(ref.shape)


def review_scores(pred, ref) -> dict[str, float]:
    """``psnr``, ``ssim`` and ``pcc`` of ``pred`` against ``ref``.

    Args:
        pred, ref: arrays of the same number of values, in the files' layout squeezed of length-1 axes: 2D
            images, ``(Y, X, 3)`` RGB, or stacks/movies (SSIM per 2D plane of the first axis, averaged, as the
            review tool does; where those planes are narrower than SSIM's 7-px window, e.g. a NIfTI slab
            ``(X, Y, Z)`` of a few slices, on which the review tool fails, the planes of the shortest axis).
    """
    ref = np.asarray(ref, dtype=np.float64).squeeze()
    pred = np.asarray(pred, dtype=np.float64).reshape(ref.shape)
    if ref.std() == 0 or pred.std() == 0:
        pcc = 0.0
    else:
        pcc = float(np.corrcoef(pred.ravel(), ref.ravel())[0, 1])
    fitted = fit_intensity(pred, ref)
    lo, hi = np.percentile(ref, [0.1, 99.9])
    rng = max(hi - lo, 1e-8)
    p, r = (fitted - lo) / rng, (ref - lo) / rng
    mse = float(np.mean((p - r) ** 2))
    if r.ndim == 3 and r.shape[-1] == 3:
        ssim = float(structural_similarity(p, r, data_range=1.0, channel_axis=-1))
    elif r.ndim == 3:
        axis = 0 if min(r.shape[1:]) >= 7 else int(np.argmin(r.shape))
        planes = zip(np.moveaxis(p, axis, 0), np.moveaxis(r, axis, 0), strict=True)
        ssim = float(np.mean([structural_similarity(a, b, data_range=1.0) for a, b in planes]))
    else:
        ssim = float(structural_similarity(p, r, data_range=1.0))
    return {"psnr": 10 * float(np.log10(1.0 / max(mse, 1e-12))), "ssim": ssim, "pcc": pcc}
