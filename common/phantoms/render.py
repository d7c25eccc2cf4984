"""Shared rendering pieces of the phantoms: smooth random fields, blur, camera noise, 16-bit storage."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["smooth_field", "blur", "poisson_gaussian", "to_uint", "fluorescent_objects", "spike_traces"]


def smooth_field(shape: tuple[int, ...], sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian-filtered white noise scaled to zero mean and unit standard deviation."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    std = field.std()
    return (field - field.mean()) / (std if std > 0 else 1.0)


def blur(image: np.ndarray, sigma: float | tuple[float, ...]) -> np.ndarray:
    """Gaussian point-spread function (``sigma`` 0 leaves the image as is)."""
    if np.all(np.asarray(sigma) == 0):
        return image.astype(np.float64)
    return ndimage.gaussian_filter(image.astype(np.float64), sigma, mode="nearest")


def poisson_gaussian(image: np.ndarray, photons: float, read_noise: float, rng: np.random.Generator) -> np.ndarray:
    """Camera noise: ``image`` (expected signal, 1 = ``photons`` photo-electrons) with shot and read noise.

    Returns the noisy image in the same units as ``image`` (divided back by ``photons``).
    """
    counts = rng.poisson(np.clip(image, 0, None) * photons).astype(np.float64)
    counts += rng.normal(0.0, read_noise, size=image.shape)
    return counts / photons


def to_uint(image: np.ndarray, scale: float, dtype=np.uint16) -> np.ndarray:
    """``image * scale`` rounded and clipped into an unsigned integer type."""
    info = np.iinfo(dtype)
    return np.clip(np.rint(image * scale), 0, info.max).astype(dtype)


def fluorescent_objects(
    labels: np.ndarray, rng: np.random.Generator, brightness: tuple[float, float] = (0.5, 1.0), texture: float = 0.15
) -> np.ndarray:
    """Fill each labelled object with its own brightness and a smooth chromatin-like texture."""
    n = int(labels.max())
    levels = np.concatenate([[0.0], rng.uniform(*brightness, size=n)])
    image = levels[labels]
    if texture > 0:
        image = image * np.clip(1.0 + texture * smooth_field(labels.shape, 1.5, rng), 0.2, None)
    return image


def spike_traces(
    n_cells: int,
    n_frames: int,
    rng: np.random.Generator,
    *,
    rate: float = 0.06,
    amplitude: tuple[float, float] = (0.6, 2.0),
    tau: float = 3.0,
    baseline: tuple[float, float] = (0.35, 1.0),
) -> np.ndarray:
    """Calcium-indicator fluorescence per cell over time: baseline times (1 + transients).

    Transients start at Poisson-distributed frames with random amplitudes (dF/F) and decay exponentially with
    time constant ``tau`` frames (one-frame rise).

    Returns:
        ``(n_cells, n_frames)`` fluorescence, all positive.
    """
    t = np.arange(n_frames)
    kernel = np.exp(-t / tau)
    spikes = (rng.random((n_cells, n_frames)) < rate) * rng.uniform(*amplitude, size=(n_cells, n_frames))
    dff = np.stack([np.convolve(s, kernel)[:n_frames] for s in spikes]) if n_cells else np.zeros((0, n_frames))
    f0 = rng.uniform(*baseline, size=(n_cells, 1))
    return f0 * (1.0 + dff)
