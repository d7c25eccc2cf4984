"""Artefacts a reader would see, as spectral shares against the reference's.

A translation's streaks (lines constant along one axis), tile seams (the same, periodic) and checkerboards
(upsampling's period-2 pattern) each put power in one place of the 2D spectrum: on the frequency axes and in the
corner near Nyquist. Each score compares the (Hann-windowed, mean-free) translation's spectrum with the reference's
there: 1 is the reference's own amount; the project's target is at most 1.1. Streaks: the translation's power on an
axis above 0.05 cycles per pixel, over the power it would have there if, at every radius, it shared its power among
directions as the reference does. Comparing directions
within rings of equal radius makes the scores independent of intensity scale and of how smooth the translation is
overall (a blur lowers every direction of one frequency alike); the window keeps the image border from drawing a
cross into every spectrum.

* ``streaks_horizontal``: lines along x (constant along a row, varying down the image): the ``f_x = 0`` axis;
* ``streaks_vertical``: lines along y: the ``f_y = 0`` axis;
* ``checkerboard``: the share of the power in the period-2 corner of the spectrum, ``(1/2, 1/2)`` cycles per pixel,
  plus an unseen floor of 1e-4, over the reference's (a blur lowers it, so it never reads as one);
* ``artefact``: the largest of the three.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ARTEFACTS", "artefact_scores"]

ARTEFACTS = ("streaks_horizontal", "streaks_vertical", "checkerboard", "artefact")

#: frequencies (cycles per pixel) below which power counts as the image's layout, not as a line or a pattern
LOW = 0.05
#: the share of an image's power a period-2 pattern may hold unseen (a checkerboard of 1% of the image's standard
#: deviation holds about 2.5e-5 of it)
CORNER_FLOOR = 1e-4
#: the width of the rings of equal radius (cycles per pixel) within which shares are taken
RING = 0.025


def _power(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    window = np.outer(np.hanning(image.shape[0]), np.hanning(image.shape[1]))
    return np.abs(np.fft.fft2((image - image.mean()) * window)) ** 2


def _places(shape: tuple[int, int]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The ring index of every frequency bin (-1 below :data:`LOW`) and the bins of each place."""
    fy = np.abs(np.fft.fftfreq(shape[0]))[:, None]
    fx = np.abs(np.fft.fftfreq(shape[1]))[None, :]
    radius = np.hypot(fy, fx)
    rings = np.where(radius > LOW, ((radius - LOW) // RING).astype(int), -1)
    places = {  # the window spreads an axis line over 2 bins either side of it
        "streaks_horizontal": np.broadcast_to(fx <= 2.0 / shape[1], shape),
        "streaks_vertical": np.broadcast_to(fy <= 2.0 / shape[0], shape),
    }
    return rings, places


def _corner_share(power: np.ndarray, rings: np.ndarray) -> float:
    """The share of the power above :data:`LOW` within 1 bin of the period-2 corner ``(1/2, 1/2)``."""
    dy = np.abs(0.5 - np.abs(np.fft.fftfreq(power.shape[0])))[:, None] * power.shape[0]
    dx = np.abs(0.5 - np.abs(np.fft.fftfreq(power.shape[1])))[None, :] * power.shape[1]
    total = power[rings >= 0].sum()
    return float(power[np.maximum(dy, dx) <= 1].sum() / total) if total > 0 else 0.0


def _ring_sums(power: np.ndarray, rings: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    keep = rings >= 0 if mask is None else (rings >= 0) & mask
    return np.bincount(rings[keep], weights=power[keep], minlength=int(rings.max()) + 1)


def artefact_scores(pred, ref) -> dict[str, float]:
    """Artefact scores of a translation against its reference (see the module docstring).

    Args:
        pred, ref: 2D ``(Y, X)`` arrays of the same shape (average channels or score frames one by one first),
            at least 16 pixels a side.

    Returns:
        ``streaks_horizontal``, ``streaks_vertical``, ``checkerboard`` and their maximum ``artefact`` (ratios; ``nan``
        where the reference has no power there).

    Raises:
        ValueError: shapes differ, are not 2D, or are smaller than 16 pixels.
    """
    p, r = np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if p.shape != r.shape or p.ndim != 2:
        raise ValueError(f"artefact scores need two 2D images of one shape, got {p.shape} and {r.shape}")
    if min(p.shape) < 16:
        raise ValueError(f"artefact scores need images of at least 16 pixels a side, got {p.shape}")
    pp, pr = _power(p), _power(r)
    rings, places = _places(p.shape)
    total_p, total_r = _ring_sums(pp, rings), _ring_sums(pr, rings)
    out = {}
    for name, mask in places.items():
        share_r = np.divide(_ring_sums(pr, rings, mask), total_r, out=np.zeros_like(total_r), where=total_r > 0)
        expected = float((share_r * total_p).sum())
        out[name] = float(_ring_sums(pp, rings, mask).sum() / expected) if expected > 0 else float("nan")
    out["checkerboard"] = (_corner_share(pp, rings) + CORNER_FLOOR) / (_corner_share(pr, rings) + CORNER_FLOOR)
    finite = [v for v in out.values() if np.isfinite(v)]
    out["artefact"] = max(finite) if finite else float("nan")
    return out
