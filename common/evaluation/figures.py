"""Evaluation figures: box plots of per-object metrics and an input / translation overlay with ROI outlines
(as STABLE Fig. 2B)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from skimage.segmentation import find_boundaries  # noqa: E402

from common.io.atomic import atomic_path  # noqa: E402

__all__ = ["box_plot", "overlay"]


def box_plot(rows: Sequence[dict], keys: Sequence[str], path: str | os.PathLike, overwrite: bool = False) -> Path:
    """One box per metric over the rows that have it."""
    present = [k for k in keys if any(k in r for r in rows)]
    fig, axes = plt.subplots(1, len(present), figsize=(3 * len(present), 3), squeeze=False)
    for ax, key in zip(axes[0], present, strict=True):
        values = [r[key] for r in rows if key in r and np.isfinite(r[key])]
        ax.boxplot(values)
        ax.set_title(key)
        ax.set_xticks([])
    fig.tight_layout()
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(path)


def _grey(image) -> np.ndarray:
    x = np.asarray(image.detach().cpu().numpy() if hasattr(image, "detach") else image, dtype=np.float64)
    x = x.mean(axis=0)
    while x.ndim > 2:
        x = x.mean(axis=0)
    lo, hi = np.percentile(x, [1, 99])
    return np.clip((x - lo) / (hi - lo if hi > lo else 1), 0, 1)


def overlay(source, translation, input_labels, output_labels, title: str, path, overwrite: bool = False) -> Path:
    """Input in red, translation in cyan, input ROI outlines in yellow and translated ones in white."""
    a, b = _grey(source), _grey(translation)
    rgb = np.stack([a, b, b], axis=-1)
    in_lab, out_lab = np.asarray(input_labels), np.asarray(output_labels)
    while in_lab.ndim > 2:
        in_lab = in_lab.max(axis=0)
    while out_lab.ndim > 2:
        out_lab = out_lab.max(axis=0)
    rgb[find_boundaries(in_lab, mode="inner")] = (1.0, 1.0, 0.0)
    rgb[find_boundaries(out_lab, mode="inner")] = (1.0, 1.0, 1.0)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(rgb)
    ax.set_title(f"{title}: input (red) / translation (cyan)", fontsize=8)
    ax.axis("off")
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return Path(path)
