"""A classical baseline for a translation to beat: a Gaussian blur of the input, its width chosen on the
validation pairs, scored on the test pairs as :func:`~common.evaluation.review.review_folder` scores translations.

On denoising-like tasks the untranslated input is a weak baseline (it keeps all of its noise), and a translation
that has only learnt to low-pass can beat it by several dB while losing every fine structure. A Gaussian blur is
that low-pass done on purpose: a network that does not beat it has not learnt more than a blur.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from common.data.layout import paired_items
from common.errors import InputDataError
from common.evaluation.review import fit_to_truth, read_raw
from common.metrics.review import review_scores

__all__ = ["in_plane_axes", "blur_scores", "blur_width", "gaussian_baseline"]

#: the widths (pixels) tried by :func:`gaussian_baseline`
SIGMAS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)


def in_plane_axes(path: str | os.PathLike, ndim: int) -> tuple[int, int]:
    """The two image-plane axes of an array as :func:`~common.evaluation.review.read_raw` returns it: the first
    two for NIfTI (``X Y Z``) and for RGB(A) pictures (``Y X C``), else the last two (TIFF ``... Y X``)."""
    if ndim < 2:
        raise InputDataError(path, f"has {ndim} dimension(s); an image needs at least 2")
    name = Path(path).name.lower()
    if name.endswith((".nii", ".nii.gz")) or (ndim == 3 and not name.endswith((".tif", ".tiff"))):
        return 0, 1
    return ndim - 2, ndim - 1


def _blur(image: np.ndarray, axes: tuple[int, int], sigma: float) -> np.ndarray:
    widths = [0.0] * image.ndim
    for axis in axes:
        widths[axis] = float(sigma)
    return gaussian_filter(image, widths)


def blur_scores(dataset_dir: str | os.PathLike, split: str, sigma: float) -> dict[str, float]:
    """Median review scores of the ``{split}A`` images blurred by ``sigma`` pixels against ``{split}B``.

    Raises:
        InputDataError: no aligned pair in the split, or a pair whose sizes differ.
    """
    rows = []
    for item in paired_items(dataset_dir, split):
        if item.B is None:
            continue
        a, b = read_raw(item.A), read_raw(item.B)
        pred = _blur(a, in_plane_axes(item.A, a.ndim), sigma)
        rows.append(review_scores(fit_to_truth(pred, b, item.A, item.B), b))
    if not rows:
        raise InputDataError(dataset_dir, f"no {split}A image has an aligned {split}B truth")
    return {k: float(np.median([r[k] for r in rows])) for k in rows[0]} | {"n": len(rows)}


def blur_width(dataset_dir: str | os.PathLike, sigmas: Sequence[float] = SIGMAS) -> tuple[float, dict[float, float]]:
    """The blur width of highest median PSNR on the validation pairs (``valA``/``valB``), and every width's PSNR.

    Raises:
        ValueError: no width, or a width that is not positive.
        InputDataError: the data set has no aligned validation pairs.
    """
    sigmas = [float(s) for s in sigmas]
    if not sigmas or min(sigmas) <= 0:
        raise ValueError(f"sigmas must be positive widths, got {sigmas}")
    validation = {s: blur_scores(dataset_dir, "val", s)["psnr"] for s in sigmas}
    return max(validation, key=validation.get), validation


def gaussian_baseline(dataset_dir: str | os.PathLike, sigmas: Sequence[float] = SIGMAS) -> dict:
    """The Gaussian-blur baseline: the width of highest median PSNR on the validation pairs (:func:`blur_width`),
    then the test scores of that width. The test set never chooses.

    Returns:
        ``{"sigma": chosen width, "validation": {sigma: val PSNR}, "psnr", "ssim", "pcc", "n"}`` (test scores).

    Raises:
        ValueError: no width, or a width that is not positive.
        InputDataError: the data set has no aligned validation or test pairs.
    """
    chosen, validation = blur_width(dataset_dir, sigmas)
    return {"sigma": chosen, "validation": validation} | blur_scores(dataset_dir, "test", chosen)
