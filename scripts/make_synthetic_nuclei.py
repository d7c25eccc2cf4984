"""Write a synthetic labelled training set for a nucleus segmenter with a trained ``mask_to_nuclei`` model.

Usage::

    python scripts/make_synthetic_nuclei.py --checkpoint O/model.pt --out DIR [--n 100] [--size 256] [--seed 0]
        [--device cpu]

Random non-overlapping ellipse masks (Boehland et al., ``common.phantoms.nuclei``) are translated into
fluorescence images by the model; ``DIR/images/NNNN.tif`` (float32) and ``DIR/labels/NNNN.tif`` (uint16 instance
labels) are written in pairs, ready for Cellpose or StarDist training. Existing files are never overwritten.
"""

from __future__ import annotations

import sys
from pathlib import Path

import fire
import numpy as np
import torch

from common.engines import load_model_weights
from common.errors import InputDataError
from common.inference import denormalize, translate_image
from common.io import write_tiff
from common.methods import ModelSpec
from common.phantoms.nuclei import random_ellipses


def main(
    checkpoint: str,
    out: str,
    n: int = 100,
    size: int = 256,
    seed: int = 0,
    device: str = "cpu",
    nuclei: int | None = None,
) -> None:
    """Write N image/label pairs of SIZE x SIZE pixels translated by the model at CHECKPOINT into OUT."""
    if not Path(checkpoint).is_file():
        sys.exit(f"make_synthetic_nuclei: {checkpoint}: file not found")
    if not Path(checkpoint).with_suffix(".json").is_file():
        sys.exit(f"make_synthetic_nuclei: {checkpoint}: no model.json beside it; train with the mask_to_nuclei bundle")
    spec = ModelSpec.load(checkpoint)
    network = load_model_weights(spec.build_generator(), checkpoint).to(device).eval()
    images, labels = Path(out) / "images", Path(out) / "labels"
    rng = np.random.default_rng(seed)
    count = int(nuclei or size * size / 400)
    try:
        for i in range(int(n)):
            mask, _ = random_ellipses((size, size), count, rng, radius=(4.0, 8.0), margin=2.0)
            binary = torch.as_tensor((mask > 0)[None], dtype=torch.float32)
            image = denormalize(translate_image(network, binary, 2, device=device), spec.get("normalization_b"))
            write_tiff(images / f"{i:04d}.tif", image.numpy()[0].astype(np.float32), "YX")
            write_tiff(labels / f"{i:04d}.tif", mask.astype(np.uint16), "YX")
    except (FileExistsError, InputDataError, ValueError) as e:
        sys.exit(f"make_synthetic_nuclei: {e}")
    print(f"wrote {n} image/label pairs of {size}x{size} to {out}")


if __name__ == "__main__":
    fire.Fire(main)
