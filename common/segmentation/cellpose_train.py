"""Train a Cellpose (3.x) model from label images, on CPU or GPU, without any pretrained weights.

STABLE trained one Cellpose model per data set; here no weights can be downloaded, so models start from scratch.
Labels can be phantom ground truth (``testB`` + ``testB_labels`` of a phantom data set) or a user's annotations
(images and label images matched by file name).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common.data.layout import image_stem, list_images
from common.errors import InputDataError
from common.io.load import load_image

__all__ = ["load_pairs", "train_cellpose"]


def load_pairs(images_dir: str | os.PathLike, labels_dir: str | os.PathLike, channel: int | None = None):
    """2D images (channel ``channel``, or the channel mean) and their label images, matched by file name.

    Raises:
        InputDataError: an image without labels, or shapes that differ.
    """
    labels = {image_stem(p): p for p in list_images(labels_dir)}
    images, masks = [], []
    for path in list_images(images_dir):
        if image_stem(path) not in labels:
            raise InputDataError(path, f"no label image with this name in {labels_dir}")
        image = load_image(path).numpy()
        image = image[channel] if channel is not None else image.mean(axis=0)
        mask = load_image(labels[image_stem(path)], dtype=None)[0].numpy().astype(np.int32)
        if image.shape != mask.shape or image.ndim != 2:
            raise InputDataError(path, f"image {image.shape} and labels {mask.shape} must be 2D and of one shape")
        images.append(image.astype(np.float32))
        masks.append(mask)
    return images, masks


def train_cellpose(
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    out_dir: str | os.PathLike,
    *,
    model_name: str = "cellpose_model",
    n_epochs: int = 60,
    learning_rate: float = 0.01,
    weight_decay: float = 1e-4,
    diameter: float = 15.0,
    patch_size: int = 128,
    batch_size: int = 8,
    gpu: bool = False,
) -> tuple[Path, dict]:
    """Train from scratch; return the model file and a record (epochs, seconds, first and final training loss).

    Raises:
        ValueError: no images, or images and labels of different counts.
    """
    if not images or len(images) != len(labels):
        raise ValueError(f"need as many label images as images (got {len(images)} and {len(labels)})")
    from cellpose import models, train

    out = Path(out_dir)
    (out / "models").mkdir(parents=True, exist_ok=True)
    model = models.CellposeModel(gpu=gpu, pretrained_model=False, diam_mean=float(diameter), nchan=2)
    start = time.perf_counter()
    path, losses, _ = train.train_seg(
        model.net,
        train_data=list(images),
        train_labels=list(labels),
        channels=[0, 0],
        n_epochs=int(n_epochs),
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        batch_size=batch_size,
        bsize=int(patch_size),
        min_train_masks=1,
        save_path=str(out),
        model_name=model_name,
        rescale=False,
        normalize=True,
    )
    record = {
        "epochs": int(n_epochs),
        "seconds": time.perf_counter() - start,
        "first_loss": float(losses[0]),
        "final_loss": float(losses[-1]),
        "images": len(images),
    }
    return Path(path), record
