"""Pixel metrics between a translation and its reference: RMSE, MAE, PSNR, SSIM, MS-SSIM (MONAI's metrics),
Pearson correlation, and MicroMS-SSIM (MS-SSIM after fitting the prediction's scale and offset to the reference,
as Ui2i reports for microscopy, where intensities carry no absolute scale). 2D and 3D; per image, with
:func:`aggregate` for median, mean and inter-quartile range over images."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch
from monai.metrics import MAEMetric, MultiScaleSSIMMetric, PSNRMetric, RMSEMetric, SSIMMetric

__all__ = ["pixel_metrics", "pearson", "fit_affine_intensity", "ms_ssim", "aggregate"]

_MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _batch(x) -> torch.Tensor:
    t = torch.as_tensor(np.ascontiguousarray(x) if not isinstance(x, torch.Tensor) else x).float()
    return t.contiguous().unsqueeze(0)  # (1, C, *S); MONAI's MS-SSIM uses .view


def pearson(pred, target) -> float:
    """Pearson correlation of all values (``nan`` when either is constant)."""
    a = np.asarray(pred, dtype=np.float64).ravel()
    b = np.asarray(target, dtype=np.float64).ravel()
    if a.std() == 0 or b.std() == 0:
        return 1.0 if np.array_equal(a, b) else math.nan
    return float(np.corrcoef(a, b)[0, 1])


def fit_affine_intensity(pred, target) -> np.ndarray:
    """``a * pred + b`` with ``a, b`` minimising the squared difference to ``target`` (least squares)."""
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    design = np.stack([p.ravel(), np.ones(p.size)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, t.ravel(), rcond=None)
    return a * p + b


def ms_ssim(pred, target, spatial_dims: int, data_range: float, kernel_size: int = 7) -> float:
    """MS-SSIM with as many scales (up to 5) as the image size allows (MONAI ``MultiScaleSSIMMetric``)."""
    size = min(np.asarray(target).shape[-spatial_dims:])
    scales = 1
    while scales < 5 and size // (2**scales) >= kernel_size:
        scales += 1
    weights = np.asarray(_MS_WEIGHTS[:scales])
    metric = MultiScaleSSIMMetric(
        spatial_dims=spatial_dims,
        data_range=data_range,
        kernel_size=kernel_size,
        weights=tuple(weights / weights.sum()),
    )
    return float(metric(_batch(pred), _batch(target)).mean())


def pixel_metrics(pred, target, spatial_dims: int = 2, data_range: float | None = None) -> dict[str, float]:
    """All pixel metrics of one image.

    Args:
        pred, target: ``(C, *S)`` arrays or tensors of the same shape.
        spatial_dims: 2 or 3.
        data_range: value range for PSNR/SSIM; default the reference's max - min.

    Returns:
        ``rmse``, ``mae``, ``psnr`` (``inf`` for identical images), ``ssim``, ``ms_ssim``, ``micro_ms_ssim``, ``pcc``.

    Raises:
        ValueError: shapes differ.
    """
    p, t = np.asarray(pred, dtype=np.float32), np.asarray(target, dtype=np.float32)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} differs from reference shape {t.shape}")
    rng = float(data_range) if data_range is not None else float(t.max() - t.min()) or 1.0
    bp, bt = _batch(p), _batch(t)
    window = max(3, min(7, min(t.shape[-spatial_dims:]) // 2 * 2 - 1))
    out = {
        "rmse": float(RMSEMetric()(bp, bt).mean()),
        "mae": float(MAEMetric()(bp, bt).mean()),
        "psnr": float(PSNRMetric(max_val=rng)(bp, bt).mean()),
        "ssim": float(SSIMMetric(spatial_dims=spatial_dims, data_range=rng, win_size=window)(bp, bt).mean()),
        "ms_ssim": ms_ssim(p, t, spatial_dims, rng, window),
        "micro_ms_ssim": ms_ssim(fit_affine_intensity(p, t), t, spatial_dims, rng, window),
        "pcc": pearson(p, t),
    }
    return out


def aggregate(values: Iterable[float]) -> dict[str, float]:
    """``median``, ``mean``, ``iqr`` (75th - 25th percentile) and ``n`` of the finite values (``inf`` kept for
    the median when all are infinite)."""
    v = np.asarray([float(x) for x in values], dtype=np.float64)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        median = float(np.median(v)) if v.size and not np.isnan(v).all() else math.nan
        return {"median": median, "mean": median, "iqr": math.nan, "n": int(v.size)}
    q1, q3 = np.percentile(finite, [25, 75])
    return {"median": float(np.median(finite)), "mean": float(finite.mean()), "iqr": float(q3 - q1), "n": int(v.size)}
