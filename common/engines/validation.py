"""Validation: held-out ``testA`` slices (with the aligned ``testB`` when present) and the metrics to track.

With ground truth, the evaluator translates A and compares it with B (PSNR and SSIM, MONAI metrics, on the
normalised scale). Without it, it cycles A -> B -> A and reports the reconstruction error (MAE), which needs a
two-sided method.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from monai.data import MetaTensor
from monai.handlers import IgniteMetricHandler, MeanAbsoluteError, PeakSignalToNoiseRatio, from_engine
from monai.metrics import SSIMMetric
from monai.transforms import CenterSpatialCrop, SpatialPad
from torch import nn

from common.data.channels import mix_channels
from common.data.layout import paired_test_items
from common.data.pipeline import normalization_transform
from common.data.slicing import axes_to_slice, take_slice
from common.errors import InputDataError
from common.io.load import load_image
from common.methods.base import TranslationMethod

__all__ = [
    "CycleNetwork",
    "has_ground_truth",
    "lower_is_better",
    "validation_items",
    "validation_metrics",
    "validation_network",
]


def has_ground_truth(dataset_dir: str | os.PathLike) -> bool:
    """Whether every ``testA`` image has an aligned ``testB`` image."""
    items = paired_test_items(dataset_dir)
    return bool(items) and all(i.B is not None for i in items)


def _normalise(image: MetaTensor, normalization: Mapping | None) -> torch.Tensor:
    return normalization_transform("image", **dict(normalization or {}))({"image": image})["image"]


def _slices(image: torch.Tensor, spatial_dims: int, count: int) -> list[torch.Tensor]:
    axes = axes_to_slice(image, spatial_dims)
    if not axes:
        return [image]
    sizes = [image.shape[a + 1] for a in axes]
    flat = int(np.prod(sizes))
    picks = np.unique(np.linspace(0, flat - 1, min(count, flat)).round().astype(int))
    return [take_slice(image, axes, list(np.unravel_index(p, sizes))) for p in picks]


def validation_items(
    dataset_dir: str | os.PathLike,
    spatial_dims: int = 2,
    size: Sequence[int] | None = None,
    slices_per_image: int = 4,
    max_images: int = 8,
    normalization_a: Mapping | None = None,
    normalization_b: Mapping | None = None,
    channel_mix_a: Sequence[Sequence[float]] | None = None,
) -> list[dict]:
    """Deterministic validation samples ``{"image": A, "label": B or A}`` from ``testA``/``testB``.

    Args:
        dataset_dir: data set folder.
        spatial_dims: 2 or 3.
        size: centre-crop (and pad) every sample to this size (``None``: keep).
        slices_per_image: evenly spaced frames / slices taken from each stack or movie.
        max_images: use at most this many test images.
        normalization_a, normalization_b: as for training.
        channel_mix_a: as for training.

    Raises:
        InputDataError: no ``testA`` images.
    """
    items = paired_test_items(dataset_dir)[: int(max_images)]
    if not items:
        raise InputDataError(dataset_dir, "testA holds no images for validation")
    out = []
    for item in items:
        a = _normalise(load_image(item.A), normalization_a)
        if channel_mix_a is not None:
            a = mix_channels(a, channel_mix_a)
        b = _normalise(load_image(item.B), normalization_b) if item.B is not None else None
        a_slices = _slices(a, spatial_dims, slices_per_image)
        b_slices = _slices(b, spatial_dims, slices_per_image) if b is not None else a_slices
        for sa, sb in zip(a_slices, b_slices, strict=True):
            sa, sb = torch.as_tensor(sa).float(), torch.as_tensor(sb).float()
            if size is not None:
                crop, pad = CenterSpatialCrop(tuple(size)), SpatialPad(tuple(size))
                sa, sb = pad(crop(sa)), pad(crop(sb))
            out.append({"image": torch.as_tensor(sa), "label": torch.as_tensor(sb)})
    return out


class CycleNetwork(nn.Module):
    """``A -> B -> A`` through a method's two generators (validation without ground truth)."""

    def __init__(self, method: TranslationMethod):
        super().__init__()
        if method.generator_ba is None:
            raise ValueError(f"method {method.name!r} is one-sided: validation needs testB ground truth")
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.method.cycle(x)


def validation_network(method: TranslationMethod, ground_truth: bool, generator: nn.Module | None = None) -> nn.Module:
    """The network the evaluator runs: the A -> B generator (given, e.g. its EMA copy) or the cycle."""
    if ground_truth:
        return generator if generator is not None else method.generator_ab
    return CycleNetwork(method)


def validation_metrics(ground_truth: bool, spatial_dims: int = 2, data_range: float = 1.0) -> tuple[dict, dict]:
    """``(key_val_metric, additional_metrics)`` for MONAI's ``SupervisedEvaluator``.

    With ground truth: ``val_psnr`` (key) and ``val_ssim``; without: ``val_cycle_mae`` (lower is better: use
    :func:`lower_is_better` as ``metric_cmp_fn``).
    """
    transform = from_engine(["pred", "label"])
    if ground_truth:
        key = {"val_psnr": PeakSignalToNoiseRatio(max_val=data_range, output_transform=transform)}
        ssim = SSIMMetric(spatial_dims=spatial_dims, data_range=data_range, win_size=7)
        return key, {"val_ssim": IgniteMetricHandler(metric_fn=ssim, output_transform=transform)}
    return {"val_cycle_mae": MeanAbsoluteError(output_transform=transform)}, {}


def lower_is_better(current: float, previous: float) -> bool:
    """``metric_cmp_fn`` for error metrics."""
    return current < previous
