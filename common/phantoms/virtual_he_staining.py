"""Virtual H&E staining phantom: two-channel fluorescence (A) -> H&E brightfield RGB (B) of the same tissue.

Channel 0 is a nuclear stain (DAPI-like, nuclei), channel 1 tissue autofluorescence/eosin-like signal
(cytoplasm and stroma), as the C01/C02 channels of the light-sheet virtual staining paper; uint16 ``C Y X``
TIFF. B is the H&E rendering (8-bit RGB PNG). ``testA_labels``/``testB_labels``: nuclei.
"""

from __future__ import annotations

import numpy as np

from common.phantoms.render import blur, poisson_gaussian, to_uint
from common.phantoms.sample import PhantomImage, PhantomSample
from common.phantoms.tissue import random_tissue, stain_rgb

__all__ = ["sample"]

PIXEL_UM = 0.55


def sample(rng: np.random.Generator, size: int = 128) -> PhantomSample:
    """One tissue field as fluorescence and as H&E."""
    tissue = random_tissue(size, rng, positive_fraction=0.0)
    nuclear = blur(tissue.nuclear, 0.6)
    auto = blur(0.7 * tissue.cytoplasm + 0.8 * tissue.stroma + 0.15 * tissue.nuclear, 0.6)
    fluo = np.stack([poisson_gaussian(c + 0.02, 500.0, 2.0, rng) for c in (nuclear, auto)])
    he = stain_rgb(
        hematoxylin=1.0 * tissue.nuclear + 0.08 * tissue.cytoplasm,
        eosin=0.25 * tissue.nuclear + 1.0 * tissue.cytoplasm + 0.9 * tissue.stroma + 0.05,
        dab=0.0 * tissue.nuclear,
    )
    labels = PhantomImage(tissue.nuclei.astype(np.uint16), "YX")
    return PhantomSample(
        a=PhantomImage(to_uint(fluo, 20000.0), "CYX", spacing={"X": PIXEL_UM, "Y": PIXEL_UM}),
        b=PhantomImage(he, "CYX", fmt="png"),
        labels_a=labels,
        labels_b=labels,
    )
