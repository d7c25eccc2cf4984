"""Signal metrics of calcium imaging: per-ROI mean traces, dF/F with a moving-average baseline (STABLE: window
chosen from the frame rate), and the Pearson correlation of traces (STABLE Fig. 2F)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from common.metrics.pixel import pearson

__all__ = ["roi_traces", "delta_f_over_f", "baseline_window", "trace_correlations"]


def roi_traces(movie: np.ndarray, labels: np.ndarray, ids=None) -> tuple[np.ndarray, np.ndarray]:
    """Mean intensity of every labelled ROI in every frame.

    Args:
        movie: ``(T, *S)``.
        labels: ``(*S)`` ROI labels (0: background).
        ids: ROIs to measure (default every label).

    Returns:
        ``(traces (n_roi, T), ids)``.
    """
    movie, labels = np.asarray(movie, dtype=np.float64), np.asarray(labels)
    if movie.shape[1:] != labels.shape:
        raise ValueError(f"movie frames {movie.shape[1:]} do not match labels {labels.shape}")
    ids = np.unique(labels[labels > 0]) if ids is None else np.asarray(ids)
    traces = (
        np.stack([ndimage.mean(frame, labels, ids) for frame in movie], axis=1)
        if ids.size
        else np.zeros((0, len(movie)))
    )
    return np.asarray(traces).reshape(ids.size, len(movie)), ids


def baseline_window(frame_rate_hz: float, seconds: float = 10.0) -> int:
    """Moving-average window (odd, at least 3 frames) covering ``seconds`` at ``frame_rate_hz``."""
    w = max(3, int(round(frame_rate_hz * seconds)))
    return w if w % 2 else w + 1


def delta_f_over_f(traces: np.ndarray, window: int) -> np.ndarray:
    """``(F - F0) / F0`` with ``F0`` the moving average of ``F`` over ``window`` frames (edges: nearest)."""
    traces = np.asarray(traces, dtype=np.float64)
    f0 = ndimage.uniform_filter1d(traces, size=int(window), axis=-1, mode="nearest")
    return (traces - f0) / np.where(np.abs(f0) > 1e-12, f0, np.nan)


def trace_correlations(traces_a: np.ndarray, traces_b: np.ndarray) -> np.ndarray:
    """Pearson correlation of corresponding rows."""
    a, b = np.asarray(traces_a), np.asarray(traces_b)
    if a.shape != b.shape:
        raise ValueError(f"trace arrays differ in shape: {a.shape} vs {b.shape}")
    return np.asarray([pearson(x, y) for x, y in zip(a, b, strict=True)])
