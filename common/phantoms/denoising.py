"""Denoising phantom: low-SNR fluorescence z-stacks (A) -> high-SNR stacks of the same structures (B).

Structures are 3D ellipsoid nuclei and thin filaments (random smooth curves), blurred by an anisotropic PSF.
A has Poisson-Gaussian camera noise at a few photons per voxel at the brightest structures; B is the same
field imaged with 200x the light (a near-clean reference). Both are uint16 ``Z Y X`` TIFF with a 2 um z step.
``testA_labels``/``testB_labels``: the nuclei (3D instances).
"""

from __future__ import annotations

import numpy as np

from common.phantoms.nuclei import random_ellipses
from common.phantoms.render import blur, fluorescent_objects, poisson_gaussian, smooth_field, to_uint
from common.phantoms.sample import PhantomImage, PhantomSample

__all__ = ["sample", "LOW_PHOTONS", "HIGH_PHOTONS"]

LOW_PHOTONS, HIGH_PHOTONS = 6.0, 1200.0
PIXEL_UM, Z_UM = 0.3, 2.0


def _filaments(shape: tuple[int, int, int], n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(shape)
    depth, height, width = shape
    for _ in range(n):
        steps = 4 * max(height, width)
        heading = rng.uniform(0, 2 * np.pi)
        turn = np.cumsum(rng.normal(0, 0.08, steps))
        y = rng.uniform(0, height) + np.cumsum(np.sin(heading + turn))
        x = rng.uniform(0, width) + np.cumsum(np.cos(heading + turn))
        z = np.clip(rng.uniform(0, depth) + np.cumsum(rng.normal(0, 0.05, steps)), 0, depth - 1)
        keep = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        out[z[keep].round().astype(int), y[keep].astype(int), x[keep].astype(int)] = rng.uniform(0.4, 0.8)
    return out


def sample(rng: np.random.Generator, size: int = 128, depth: int = 8) -> PhantomSample:
    """One z-stack of ``depth`` slices of ``size`` x ``size``, noisy and clean."""
    shape = (depth, size, size)
    nuclei, _ = random_ellipses(
        shape, max(3, int(size * size / 700)), rng, radius=(4.0, 9.0), z_radius=(1.0, max(1.5, depth / 4))
    )
    structures = fluorescent_objects(nuclei, rng, (0.4, 1.0), 0.25) + _filaments(shape, max(2, size // 24), rng)
    background = 0.03 * np.clip(1.0 + 0.5 * smooth_field(shape, (2.0, 10.0, 10.0), rng), 0, None)
    signal = blur(structures, (0.7, 1.2, 1.2)) + background
    spacing = {"X": PIXEL_UM, "Y": PIXEL_UM, "Z": Z_UM}
    labels = PhantomImage(nuclei.astype(np.uint16), "ZYX", spacing=spacing)
    scale = 10000.0
    return PhantomSample(
        a=PhantomImage(to_uint(poisson_gaussian(signal, LOW_PHOTONS, 1.5, rng), scale), "ZYX", spacing=spacing),
        b=PhantomImage(to_uint(poisson_gaussian(signal, HIGH_PHOTONS, 1.5, rng), scale), "ZYX", spacing=spacing),
        labels_a=labels,
        labels_b=labels,
    )
