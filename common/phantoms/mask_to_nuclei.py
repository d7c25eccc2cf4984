"""Mask -> nuclei phantom (synthetic training data for segmenters): instance masks of random ellipses (A, after
Böhland et al.) -> fluorescence images of such nuclei (B).

A is a uint16 ``Y X`` label TIFF; B renders nuclei with texture, uneven brightness, blur, background and camera
noise (uint16). ``testB`` is the rendering of ``testA``'s mask, and ``testA_labels``/``testB_labels`` are the mask,
so a translation that drops or moves a nucleus (the steganography failure of CycleGAN) is measurable.
"""

from __future__ import annotations

import numpy as np

from common.phantoms.nuclei import random_ellipses
from common.phantoms.render import blur, fluorescent_objects, poisson_gaussian, smooth_field, to_uint
from common.phantoms.sample import PhantomImage, PhantomSample

__all__ = ["sample", "render_nuclei"]


def render_nuclei(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fluorescence image (float, ~0..1) of the nuclei in an instance label image."""
    background = 0.04 * np.clip(1.0 + 0.5 * smooth_field(labels.shape, 12.0, rng), 0, None)
    image = blur(fluorescent_objects(labels, rng, (0.35, 1.0), 0.3), 1.0) + background
    return poisson_gaussian(image, 200.0, 2.0, rng)


def sample(rng: np.random.Generator, size: int = 128) -> PhantomSample:
    """One random mask and its nuclei image."""
    labels, _ = random_ellipses((size, size), max(4, int(size * size / 400)), rng, radius=(4.0, 8.0), margin=2.0)
    mask = PhantomImage(labels.astype(np.uint16), "YX")
    return PhantomSample(
        a=mask,
        b=PhantomImage(to_uint(render_nuclei(labels, rng), 20000.0), "YX"),
        labels_a=mask,
        labels_b=mask,
    )
