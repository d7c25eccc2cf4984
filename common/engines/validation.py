"""Validation and model selection on the validation split, never on the test set.

The items come from ``valA`` (with ``valB`` as ground truth where names match); a data set without ``valA``
validates on ``trainA`` images instead, with the unsupervised criterion only (no ground truth is used, so this is
no test leakage). Criteria (:mod:`common.metrics.selection`):

* with ground truth: ``val_psnr`` (after one least-squares intensity fit for all channels; higher is better) and
  ``val_pcc``;
* without: ``val_selection`` (lower is better) = realism of the translations against real B patches (``valB``,
  else ``trainB``) + the cycle error through the DCT low-pass (methods that train a cycle) + the disagreement of
  coarse structure with the input (``1 - polarity * r`` of 8-px block means, where the task states a polarity),
  reported apart as ``val_realism``, ``val_cycle`` and ``val_structure``. Steganography, near-identity, inverted,
  displaced and collapsed outputs each score badly on one of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import ignite.distributed as idist
import numpy as np
import torch
from ignite.metrics import Metric
from monai.handlers import from_engine
from monai.transforms import CenterSpatialCrop, SpatialPad
from torch import nn

from common.data.channels import mix_channels
from common.data.layout import list_images, paired_items
from common.data.normalization import Normalization
from common.data.slicing import axes_to_slice, take_slice
from common.errors import InputDataError
from common.io.load import load_image
from common.losses.polarity import low_resolution_correlation
from common.methods.base import TranslationMethod
from common.metrics.selection import RealismReference, cycle_error, fitted_pcc, fitted_psnr

__all__ = [
    "ImageMean",
    "SelectionNetwork",
    "has_ground_truth",
    "reference_images",
    "validation_items",
    "validation_metrics",
    "validation_network",
    "validation_source",
]


def validation_source(dataset_dir: str | os.PathLike) -> str:
    """``"val"`` when the data set has a ``valA`` folder with images, else ``"train"`` (unsupervised selection on
    training A images)."""
    return "val" if list_images(Path(dataset_dir) / "valA", required=False) else "train"


def has_ground_truth(dataset_dir: str | os.PathLike) -> bool:
    """Whether every ``valA`` image has an aligned ``valB`` image (supervised selection)."""
    if validation_source(dataset_dir) != "val":
        return False
    items = paired_items(dataset_dir, "val")
    return bool(items) and all(i.B is not None for i in items)


def _normalise(image, normalization: Mapping | None) -> torch.Tensor:
    return Normalization.from_config(normalization)(image)


def _slices(image: torch.Tensor, spatial_dims: int, count: int) -> list[torch.Tensor]:
    axes = axes_to_slice(image, spatial_dims)
    if not axes:
        return [image]
    sizes = [image.shape[a + 1] for a in axes]
    flat = int(np.prod(sizes))
    picks = np.unique(np.linspace(0, flat - 1, min(count, flat)).round().astype(int))
    return [take_slice(image, axes, list(np.unravel_index(p, sizes))) for p in picks]


def _fit_size(x: torch.Tensor, size: Sequence[int] | None) -> torch.Tensor:
    x = torch.as_tensor(x).float()
    if size is None:
        return x
    return torch.as_tensor(SpatialPad(tuple(size))(CenterSpatialCrop(tuple(size))(x)))


def validation_items(
    dataset_dir: str | os.PathLike,
    spatial_dims: int = 2,
    *,
    size: Sequence[int] | None = None,
    slices_per_image: int = 4,
    max_images: int = 8,
    normalization_a: Mapping | None = None,
    normalization_b: Mapping | None = None,
    channel_mix_a: Sequence[Sequence[float]] | None = None,
) -> list[dict]:
    """Deterministic validation samples ``{"image": A, "label": B or A}`` from ``valA``/``valB`` (or ``trainA``).

    Args:
        dataset_dir: data set folder.
        spatial_dims: 2 or 3.
        size: centre-crop (and pad) every sample to this size (``None``: keep).
        slices_per_image: evenly spaced frames / slices taken from each stack or movie.
        max_images: use at most this many images.
        normalization_a, normalization_b: as for training.
        channel_mix_a: as for training.

    Raises:
        InputDataError: no validation (or training) A images.
    """
    if validation_source(dataset_dir) == "val":
        items = [(i.A, i.B) for i in paired_items(dataset_dir, "val")]
    else:
        items = [(a, None) for a in list_images(Path(dataset_dir) / "trainA")]
    if not items:
        raise InputDataError(dataset_dir, "no valA (or trainA) images for validation")
    out = []
    for path_a, path_b in items[: int(max_images)]:
        a = _normalise(load_image(path_a), normalization_a)
        if channel_mix_a is not None:
            a = mix_channels(a, channel_mix_a)
        b = _normalise(load_image(path_b), normalization_b) if path_b is not None else None
        a_slices = _slices(a, spatial_dims, slices_per_image)
        b_slices = _slices(b, spatial_dims, slices_per_image) if b is not None else a_slices
        for sa, sb in zip(a_slices, b_slices, strict=True):
            out.append({"image": _fit_size(sa, size), "label": _fit_size(sb, size)})
    return out


def reference_images(
    dataset_dir: str | os.PathLike,
    spatial_dims: int = 2,
    size: Sequence[int] | None = None,
    normalization_b: Mapping | None = None,
    max_images: int = 8,
    slices_per_image: int = 4,
) -> list[torch.Tensor]:
    """Real B images for the realism criterion: ``valB`` when present, else ``trainB`` (normalised as in training,
    cropped like the validation items)."""
    root = Path(dataset_dir)
    files = list_images(root / "valB", required=False) or list_images(root / "trainB")
    out = []
    for path in files[: int(max_images)]:
        b = _normalise(load_image(path), normalization_b)
        out += [_fit_size(s, size) for s in _slices(b, spatial_dims, slices_per_image)]
    return out


class SelectionNetwork(nn.Module):
    """What the unsupervised criterion looks at: the translation ``G_AB(a)`` and, for methods that train a cycle
    (:attr:`~common.methods.base.TranslationMethod.trains_cycle`), the cycle ``G_BA(low_pass(G_AB(a)))`` after it
    along the channels (low-pass: the method's DCT cutoff, else 0.5)."""

    def __init__(self, method: TranslationMethod, cutoff: float = 0.5, generator: nn.Module | None = None):
        super().__init__()
        self.method, self.cutoff = method, float(cutoff)
        self.generator = generator if generator is not None else method.generator_ab

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fake = self.generator(x)
        if not self.method.trains_cycle:
            return fake
        from common.ops.dct import dct_lowpass

        cutoff = self.method.dct_cutoff if self.method.dct_cutoff < 1 else self.cutoff
        return torch.cat([fake, self.method.generator_ba(dct_lowpass(fake, cutoff, self.method.spatial_dims))], dim=1)


def validation_network(method: TranslationMethod, ground_truth: bool, generator: nn.Module | None = None) -> nn.Module:
    """The network the evaluator runs: the A -> B generator (given, e.g. its EMA copy) with ground truth, else
    :class:`SelectionNetwork`."""
    if ground_truth:
        return generator if generator is not None else method.generator_ab
    return SelectionNetwork(method, generator=generator)


class ImageMean(Metric):
    """Mean over validation items of ``fn(pred, label)`` (each ``(C, *S)``), summed across processes.

    Args:
        fn: per-item score.
        output_transform: engine output -> ``(preds, labels)`` (MONAI's decollated ``pred``/``label``).
    """

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor], float], output_transform=None):
        self.fn = fn
        super().__init__(output_transform=output_transform or from_engine(["pred", "label"]))

    def reset(self) -> None:
        self._sum, self._count = 0.0, 0

    def update(self, output) -> None:
        preds, labels = output
        for pred, label in zip(preds, labels, strict=True):
            self._sum += float(self.fn(torch.as_tensor(pred).detach().float().cpu(), torch.as_tensor(label).cpu()))
            self._count += 1

    def compute(self) -> float:
        totals = torch.tensor([self._sum, float(self._count)], dtype=torch.float64)
        if idist.get_world_size() > 1:
            totals = idist.all_reduce(totals)
        return float(totals[0] / totals[1]) if totals[1] > 0 else float("nan")


def validation_metrics(
    ground_truth: bool,
    spatial_dims: int = 2,
    reference: Sequence[torch.Tensor] | None = None,
    channels_b: int | None = None,
    polarity: int = 0,
) -> tuple[dict, dict]:
    """``(key_val_metric, additional_metrics)`` for MONAI's ``SupervisedEvaluator``.

    With ground truth: ``val_psnr`` (key, higher is better) and ``val_pcc``. Without: ``val_selection`` (key, lower
    is better: :class:`~common.engines.Selection` compares accordingly), ``val_realism``, ``val_cycle`` and, with a
    ``polarity`` (+1 the modalities keep their brightness relation, -1 reverse it; 0: none), ``val_structure``
    (``1 - polarity * r``, ``r`` the correlation of the 8-px block means of input and translation: realism and
    cycle alone picked a STABLE denoising snapshot 5.5 dB under the best, PCC 0.36). Needs the real B
    ``reference`` images and ``channels_b`` (to split the translation from the cycle in the network's output).
    """
    del spatial_dims  # the criteria work in 2D and 3D alike
    if ground_truth:
        return {"val_psnr": ImageMean(fitted_psnr)}, {"val_pcc": ImageMean(fitted_pcc)}
    if not reference or channels_b is None:
        raise ValueError("the unsupervised criterion needs real B reference images and channels_b")
    if polarity not in (-1, 0, 1):
        raise ValueError(f"polarity must be -1, 0 or 1, got {polarity}")
    real = RealismReference(list(reference))
    c = int(channels_b)

    def realism(pred, _label):
        return real.realism(pred[:c])

    def cycle(pred, label):
        return cycle_error(pred[c:], label) if pred.shape[0] > c else 0.0

    def structure(pred, label):
        if not polarity:
            return 0.0
        return 1.0 - polarity * float(low_resolution_correlation(label[None], pred[None, :c]))

    def selection(pred, label):
        return realism(pred, label) + cycle(pred, label) + structure(pred, label)

    key = {"val_selection": ImageMean(selection)}
    others = {"val_realism": ImageMean(realism), "val_cycle": ImageMean(cycle)}
    return key, others | ({"val_structure": ImageMean(structure)} if polarity else {})
