"""Train a Cellpose model from label images (no pretrained weights are needed or downloaded).

Usage::

    python scripts/train_cellpose.py --images DIR --labels DIR --out DIR [--channel C] [--n_epochs 60]
    python scripts/train_cellpose.py --phantoms TASK --out DIR [--n 12] [--size 128] [--n_epochs 60]

The first form takes images and label images matched by file name (user annotations). The second writes phantom
images of TASK's B domain with their ground-truth nuclei, trains on all but two, and reports the F1 and panoptic
quality of the model on the two held out. The model file goes to ``OUT/models/``; use it with
``common.segmentation.CellposeSegmenter(model=PATH)`` (e.g. as the ``segmenter`` of a bundle's evaluate.json).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import fire
import numpy as np

from common.errors import InputDataError
from common.metrics import instance_metrics
from common.phantoms import task_sampler
from common.segmentation import CellposeSegmenter, load_pairs, train_cellpose


def main(
    out: str,
    images: str | None = None,
    labels: str | None = None,
    phantoms: str | None = None,
    channel: int | None = None,
    n: int = 12,
    size: int = 128,
    n_epochs: int = 60,
    seed: int = 0,
    diameter: float = 15.0,
) -> dict:
    """Train and (for phantoms) score a Cellpose model; print and return the record."""
    held_out: list = []
    try:
        if phantoms:
            sampler = task_sampler(phantoms)
            samples = [sampler(np.random.default_rng([seed, 9, i]), size=size) for i in range(int(n))]
            data = [s.b.data.astype(np.float32) for s in samples]
            data = [d[channel or 0] if d.ndim == 3 else d for d in data]
            masks = [s.labels_b.data.astype(np.int32) for s in samples]
            held_out = list(zip(data[-2:], masks[-2:], strict=True))
            data, masks = data[:-2], masks[:-2]
        elif images and labels:
            data, masks = load_pairs(images, labels, channel)
        else:
            sys.exit("train_cellpose: give --images and --labels, or --phantoms TASK")
        path, record = train_cellpose(data, masks, out, n_epochs=n_epochs, diameter=diameter)
    except (InputDataError, ValueError) as e:
        sys.exit(f"train_cellpose: {e}")
    record["model"] = str(path)
    if held_out:
        segment = CellposeSegmenter(str(path))
        scores = [instance_metrics(m, segment(x, channel_first=False)) for x, m in held_out]
        record["held_out_f1"] = [round(s["f1"], 3) for s in scores]
        record["held_out_pq"] = [round(s["pq"], 3) for s in scores]
    print(json.dumps(record, indent=2))
    (Path(out) / "training_record.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    fire.Fire(main)
