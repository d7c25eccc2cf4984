"""Immunofluorescence unmixing phantom: one channel holding a nuclear and a membrane marker (A) -> the two
markers in separate channels (B).

Cells are nuclei expanded by a few pixels; the nuclear marker fills nuclei with texture, the membrane marker
outlines the cells. A is the sum of the two clean channels with camera noise (uint16 ``Y X``); B holds the two
channels (uint16 ``C Y X``: 0 nuclear, 1 membrane) with their own light noise. ``testA_labels``/``testB_labels``:
nuclei.
"""

from __future__ import annotations

import numpy as np
from skimage.segmentation import expand_labels, find_boundaries

from common.phantoms.nuclei import random_ellipses
from common.phantoms.render import blur, fluorescent_objects, poisson_gaussian, smooth_field, to_uint
from common.phantoms.sample import PhantomImage, PhantomSample

__all__ = ["sample"]

PIXEL_UM = 0.65


def sample(rng: np.random.Generator, size: int = 128) -> PhantomSample:
    """One field as a mixed single channel and its two unmixed channels."""
    shape = (size, size)
    nuclei, _ = random_ellipses(shape, max(4, int(size * size / 450)), rng, radius=(4.0, 7.0), margin=5.0)
    cells = expand_labels(nuclei, distance=5)
    nuclear = blur(fluorescent_objects(nuclei, rng, (0.5, 1.0), 0.2), 0.9)
    membrane = find_boundaries(cells, mode="inner").astype(float)
    membrane *= np.clip(0.6 + 0.2 * smooth_field(shape, 3.0, rng), 0.2, None)
    membrane = blur(membrane, 0.9) * 1.6
    mixed = poisson_gaussian(nuclear + membrane + 0.02, 300.0, 2.0, rng)
    channels = np.stack([poisson_gaussian(c + 0.01, 3000.0, 1.0, rng) for c in (nuclear, membrane)])
    spacing = {"X": PIXEL_UM, "Y": PIXEL_UM}
    labels = PhantomImage(nuclei.astype(np.uint16), "YX", spacing=spacing)
    return PhantomSample(
        a=PhantomImage(to_uint(mixed, 20000.0), "YX", spacing=spacing),
        b=PhantomImage(to_uint(channels, 20000.0), "CYX", spacing=spacing),
        labels_a=labels,
        labels_b=labels,
    )
