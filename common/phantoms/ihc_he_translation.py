"""IHC -> H&E phantom: brightfield RGB tiles of one tissue stained with hematoxylin + DAB (A) and with
hematoxylin + eosin (B), rendered by Beer-Lambert stain mixing (:func:`~common.phantoms.tissue.stain_rgb`).

In A a random 40% of nuclei are marker-positive (nuclear DAB, as Ki67) and cytoplasm/stroma are nearly
unstained; in B all nuclei are hematoxylin-blue and cytoplasm/stroma eosin-pink. 8-bit RGB PNG, as tiles are
shared. ``testA_labels``/``testB_labels``: nuclei (uint16 TIFF); a good translation keeps every nucleus.
"""

from __future__ import annotations

import numpy as np

from common.phantoms.render import smooth_field
from common.phantoms.sample import PhantomImage, PhantomSample
from common.phantoms.tissue import random_tissue, stain_rgb

__all__ = ["sample"]


def sample(rng: np.random.Generator, size: int = 128) -> PhantomSample:
    """One tissue tile stained both ways."""
    tissue = random_tissue(size, rng)
    positive = tissue.positive[tissue.nuclei] * tissue.nuclear
    grain = 0.05 * np.abs(smooth_field((size, size), 0.8, rng))
    ihc = stain_rgb(
        hematoxylin=0.9 * tissue.nuclear + 0.06 * tissue.cytoplasm + 0.1 * tissue.stroma + grain,
        eosin=0.0 * tissue.nuclear,
        dab=1.1 * positive + 0.05 * tissue.cytoplasm,
    )
    he = stain_rgb(
        hematoxylin=1.0 * tissue.nuclear + 0.08 * tissue.cytoplasm + grain,
        eosin=0.25 * tissue.nuclear + 1.0 * tissue.cytoplasm + 0.9 * tissue.stroma + 0.05,
        dab=0.0 * tissue.nuclear,
    )
    labels = PhantomImage(tissue.nuclei.astype(np.uint16), "YX")
    return PhantomSample(
        a=PhantomImage(ihc, "CYX", fmt="png"),
        b=PhantomImage(he, "CYX", fmt="png"),
        labels_a=labels,
        labels_b=labels,
    )
