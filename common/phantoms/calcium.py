"""Calcium imaging phantom: cytosolic GCaMP movies (A) and nuclear-localised GCaMP movies (B) of the same cells.

Each neuron is a soma ellipse with a concentric nucleus. Its calcium activity is one trace (baseline times
transients, :func:`~common.phantoms.render.spike_traces`). In A the indicator fills the cytoplasm and is
excluded from the nucleus (bright rim, dark centre); in B it fills the nucleus only. Within a cell the pixel
relation between domains is therefore anti-monotonic (rim bright in A, dark in B, the centre the opposite) while
cell-level intensities are proportional - the situation of STABLE Fig. 1D/E. Movies are ``T Y X`` uint16 TIFF.

Ground truth for ``testA``: ``testB`` (same cells and traces), ``testA_labels`` (somata), ``testB_labels``
(nuclei, same ids) and ``testA_traces/*.csv`` (the true fluorescence of each cell per frame).
"""

from __future__ import annotations

import numpy as np

from common.phantoms.nuclei import random_ellipses, render_ellipse
from common.phantoms.render import blur, poisson_gaussian, smooth_field, spike_traces, to_uint
from common.phantoms.sample import PhantomImage, PhantomSample

__all__ = ["sample", "NUCLEUS_SCALE"]

NUCLEUS_SCALE = 0.55
PIXEL_UM, FRAME_S = 0.8, 0.5


def sample(rng: np.random.Generator, size: int = 128, frames: int = 32) -> PhantomSample:
    """One field of neurons as a cytosolic and a nuclear movie. ``size``: frame side; ``frames``: length."""
    shape = (size, size)
    n = max(3, int(size * size / 500))
    somata, ellipses = random_ellipses(shape, n, rng, radius=(5.0, 8.0), aspect=(1.0, 1.4), margin=2.0, border=3.0)
    nuclei = np.zeros(shape, dtype=np.int32)
    for i, e in enumerate(ellipses, start=1):
        box, inside = render_ellipse(shape, e.scaled(NUCLEUS_SCALE))
        nuclei[box][inside] = i
    traces = spike_traces(len(ellipses), frames, rng)
    rim = (somata > 0) & (nuclei == 0)
    neuropil = 0.08 * np.clip(1.0 + 0.5 * smooth_field(shape, 6.0, rng), 0, None)
    cyto_frames, nuc_frames = [], []
    per_cell = np.concatenate([np.zeros((1, frames)), traces])  # row 0: background
    for t in range(frames):
        level = per_cell[:, t]
        cyto = level[somata] * np.where(rim, 1.0, 0.12) + neuropil * (1.0 + 0.2 * traces[:, t].mean())
        nuc = level[nuclei] * 1.3 * (nuclei > 0) + 0.04 * level[somata] * rim + 0.5 * neuropil
        cyto_frames.append(poisson_gaussian(blur(cyto, 0.8), 400.0, 2.0, rng))
        nuc_frames.append(poisson_gaussian(blur(nuc, 0.8), 400.0, 2.0, rng))
    spacing = {"X": PIXEL_UM, "Y": PIXEL_UM, "T": FRAME_S}
    header = ["frame"] + [f"cell_{i}" for i in range(1, len(ellipses) + 1)]
    rows = [[t] + [float(v) for v in traces[:, t]] for t in range(frames)]
    return PhantomSample(
        a=PhantomImage(to_uint(np.stack(cyto_frames), 10000.0), "TYX", spacing=spacing),
        b=PhantomImage(to_uint(np.stack(nuc_frames), 10000.0), "TYX", spacing=spacing),
        labels_a=PhantomImage(somata.astype(np.uint16), "YX", spacing=spacing),
        labels_b=PhantomImage(nuclei.astype(np.uint16), "YX", spacing=spacing),
        tables={"traces": (header, rows)},
    )
