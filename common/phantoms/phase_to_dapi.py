"""Label-free -> nuclear stain phantom: DIC-like brightfield (A) -> DAPI fluorescence (B) of the same cells.

Cells are domes of optical path length (cell body plus a denser nucleus); DIC contrast is the derivative of
the optical path along a 45-degree shear direction over a grey background, with noise (uint16 ``Y X``). B shows
the nuclei only (uint16 ``Y X``). ``testA_labels``/``testB_labels``: nuclei.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.segmentation import expand_labels

from common.phantoms.nuclei import random_ellipses
from common.phantoms.render import blur, fluorescent_objects, poisson_gaussian, to_uint
from common.phantoms.sample import PhantomImage, PhantomSample

__all__ = ["sample"]

PIXEL_UM = 0.33


def _domes(labels: np.ndarray) -> np.ndarray:
    """A smooth dome per object: height grows with the distance from the object's edge."""
    inside = ndimage.distance_transform_edt(labels > 0)
    return np.sqrt(np.clip(inside, 0, None))


def sample(rng: np.random.Generator, size: int = 128) -> PhantomSample:
    """One field of cells as DIC and as DAPI."""
    shape = (size, size)
    nuclei, _ = random_ellipses(shape, max(3, int(size * size / 800)), rng, radius=(4.5, 7.5), margin=8.0)
    cells = expand_labels(nuclei, distance=6)
    optical_path = 0.25 * _domes(cells) + 0.35 * _domes(nuclei)
    optical_path = blur(optical_path, 1.0)
    gy, gx = np.gradient(optical_path)
    dic = 0.5 + 1.5 * (gy + gx) / np.sqrt(2)
    dic = poisson_gaussian(np.clip(dic, 0, None), 800.0, 3.0, rng)
    dapi = poisson_gaussian(blur(fluorescent_objects(nuclei, rng, (0.5, 1.0), 0.2), 1.0) + 0.02, 400.0, 2.0, rng)
    spacing = {"X": PIXEL_UM, "Y": PIXEL_UM}
    labels = PhantomImage(nuclei.astype(np.uint16), "YX", spacing=spacing)
    return PhantomSample(
        a=PhantomImage(to_uint(dic, 30000.0), "YX", spacing=spacing),
        b=PhantomImage(to_uint(dapi, 20000.0), "YX", spacing=spacing),
        labels_a=labels,
        labels_b=labels,
    )
