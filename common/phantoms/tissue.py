"""A 2D tissue model (nuclei, cytoplasm, stroma) and its Beer-Lambert rendering as brightfield stains.

Stain concentrations (optical densities) are mixed into RGB with ``skimage.color.hed2rgb``: hematoxylin
(nuclei, blue-purple), eosin (cytoplasm and stroma, pink) and DAB (IHC positive nuclei, brown).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.color import hed2rgb
from skimage.segmentation import expand_labels

from common.phantoms.nuclei import Ellipse, random_ellipses
from common.phantoms.render import blur, smooth_field

__all__ = ["STAIN_OD", "Tissue", "random_tissue", "stain_rgb"]


@dataclass
class Tissue:
    """Densities in ``[0, 1]`` on one ``(Y, X)`` grid, and the nucleus instance labels."""

    nuclei: np.ndarray  # int32 instance labels
    cells: np.ndarray  # int32 cell labels (nucleus expanded), same ids
    nuclear: np.ndarray  # chromatin density
    cytoplasm: np.ndarray
    stroma: np.ndarray
    positive: np.ndarray  # bool per label id (index 0 unused): marker-positive nuclei
    ellipses: list[Ellipse]


def random_tissue(size: int, rng: np.random.Generator, positive_fraction: float = 0.4) -> Tissue:
    """A field of cells with nuclei, cytoplasm rims and fibrous stroma between them."""
    shape = (size, size)
    n = max(4, int(size * size / 420))
    nuclei, ellipses = random_ellipses(shape, n, rng, radius=(3.5, 7.0), aspect=(1.0, 1.8), margin=3.0)
    cells = expand_labels(nuclei, distance=4)
    texture = np.clip(1.0 + 0.25 * smooth_field(shape, 1.2, rng), 0.3, None)
    nuclear = blur((nuclei > 0) * texture * rng.uniform(0.8, 1.0), 0.7)
    cytoplasm = blur(((cells > 0) & (nuclei == 0)) * 0.6, 0.8)
    fibres = np.abs(smooth_field(shape, (1.0, 4.0), rng)) + np.abs(smooth_field(shape, (4.0, 1.0), rng))
    stroma = blur(np.clip(0.25 * fibres, 0, 0.7) * (cells == 0), 0.6)
    positive = np.concatenate([[False], rng.random(len(ellipses)) < positive_fraction])
    return Tissue(nuclei, cells, np.clip(nuclear, 0, 1), cytoplasm, stroma, positive, ellipses)


# optical density of each stain at full density, calibrated on skimage.color.rgb2hed of real IHC and H&E tiles
STAIN_OD = {"hematoxylin": 0.10, "eosin": 0.06, "dab": 0.08}


def stain_rgb(hematoxylin: np.ndarray, eosin: np.ndarray, dab: np.ndarray) -> np.ndarray:
    """Beer-Lambert mix of stain densities (0..1, 1 = a dense nucleus) into 8-bit RGB, channel first ``(3, Y, X)``."""
    hed = np.stack([hematoxylin * STAIN_OD["hematoxylin"], eosin * STAIN_OD["eosin"], dab * STAIN_OD["dab"]], axis=-1)
    rgb = np.clip(hed2rgb(hed), 0, 1)
    return np.moveaxis(np.rint(rgb * 255).astype(np.uint8), -1, 0)
