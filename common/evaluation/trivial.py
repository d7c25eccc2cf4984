"""What a user can do without any network, as "generators" a translation must beat.

Each baseline is a small ``nn.Module`` from A's normalised units to B's, so that it runs through the very
inference, writing and scoring path a trained generator does (:func:`~common.inference.files.translate_files`,
:func:`~common.evaluation.evaluate`): its rows sit beside the methods' in every report and MLflow comparison.
None of them sees a truth: the histogram is B's training pool, the blur's width is chosen on the validation pairs.

* ``input``: the untranslated input (where the channel counts differ, the input's channel mean repeated to every B
  channel: the do-nothing answer of an unmixing task);
* ``histogram``: histogram matching of each input image, channel by channel, to the pooled histogram of the B
  training images (the one-line remap of ``skimage.exposure.match_histograms`` against a whole training pool);
* ``histogram_inverted``: the same of the inverted input, for tasks whose modalities reverse the brightness;
* ``blur``: a Gaussian blur of the input, the width of best validation PSNR (denoising tasks).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from monai.networks.layers import GaussianFilter
from torch import nn

from common.data.layout import list_images
from common.data.normalization import Normalization
from common.errors import InputDataError
from common.evaluation.baseline import SIGMAS, blur_width
from common.io.load import load_image

__all__ = [
    "BASELINES",
    "Blur",
    "HistogramMatch",
    "Untranslated",
    "b_quantiles",
    "default_baselines",
    "make_baseline",
]

#: the names :func:`make_baseline` knows
BASELINES = ("input", "histogram", "histogram_inverted", "blur")

#: quantile levels kept of B's training pool (enough for 16-bit images; matching interpolates between them)
LEVELS = 4096

#: values sampled per B training image and channel when pooling the histogram
POOL_SAMPLES = 1_000_000


def _fit_channels(x: torch.Tensor, channels_b: int) -> torch.Tensor:
    """``(N, C_a, *S)`` -> ``(N, channels_b, *S)``: equal counts kept, else the channel mean repeated to each of
    B's channels (a one-channel input as it is: the do-nothing answer of an unmixing task)."""
    if x.shape[1] == channels_b:
        return x
    return x.mean(dim=1, keepdim=True).expand(-1, channels_b, *x.shape[2:])


class Untranslated(nn.Module):
    """The input itself in B's channels. Shapes: ``(N, C_a, *S)`` -> ``(N, C_b, *S)``."""

    def __init__(self, channels_b: int = 1):
        super().__init__()
        self.channels_b = int(channels_b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _fit_channels(x, self.channels_b).clone()


class HistogramMatch(nn.Module):
    """Each channel of each image remapped so that its histogram becomes B's pooled training histogram.

    The image's own cumulative distribution (over its spatial axes, ties kept together as
    :func:`skimage.exposure.match_histograms` does) is looked up in B's quantile function: a monotone remap per
    image, so every edge and object stays where it is and only the grey levels change.

    Args:
        quantiles: ``(C_b, L)`` B's quantiles at ``L`` evenly spaced levels from 0 to 1 (:func:`b_quantiles`).
        invert: match the inverted input (for modalities that reverse the brightness relation).

    Shapes:
        ``(N, C_a, *S)`` -> ``(N, C_b, *S)`` (channels as in :class:`Untranslated`).
    """

    def __init__(self, quantiles: torch.Tensor, invert: bool = False):
        super().__init__()
        quantiles = torch.as_tensor(quantiles, dtype=torch.float32)
        if quantiles.ndim != 2 or quantiles.shape[1] < 2:
            raise ValueError(f"quantiles must be (channels, levels >= 2), got {tuple(quantiles.shape)}")
        self.register_buffer("quantiles", quantiles)
        self.invert = bool(invert)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _fit_channels(-x if self.invert else x, self.quantiles.shape[0])
        out = torch.empty(x.shape, dtype=torch.float32, device=x.device)
        levels = torch.linspace(0, 1, self.quantiles.shape[1], device=x.device)
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                values, inverse, counts = torch.unique(x[n, c].float(), return_inverse=True, return_counts=True)
                cdf = torch.cumsum(counts, 0).float() / counts.sum()
                out[n, c] = _interp(cdf, levels, self.quantiles[c])[inverse]
        return out.to(x.dtype)


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """``numpy.interp`` for increasing ``xp`` (values outside clamped to the ends)."""
    x = x.clamp(xp[0], xp[-1])
    right = torch.searchsorted(xp, x).clamp(1, xp.numel() - 1)
    left = right - 1
    weight = (x - xp[left]) / (xp[right] - xp[left]).clamp_min(1e-12)
    return fp[left] + weight * (fp[right] - fp[left])


class Blur(nn.Module):
    """A Gaussian blur of the input over its spatial axes (MONAI's separable ``GaussianFilter``).

    Args:
        sigma: the width in pixels.
        spatial_dims: 2 or 3.
        channels_b: B's channels (as in :class:`Untranslated`).

    Shapes:
        ``(N, C_a, *S)`` -> ``(N, C_b, *S)``.
    """

    def __init__(self, sigma: float, spatial_dims: int = 2, channels_b: int = 1):
        super().__init__()
        if float(sigma) <= 0:
            raise ValueError(f"sigma must be a positive width in pixels, got {sigma}")
        self.sigma, self.channels_b = float(sigma), int(channels_b)
        self.filter = GaussianFilter(spatial_dims, self.sigma, truncated=4.0, approx="sampled")  # as scipy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = [p for _ in range(x.ndim - 2) for p in (int(4 * self.sigma + 1),) * 2]
        blurred = self.filter(nn.functional.pad(x.float(), pad, mode="replicate"))
        crop = (slice(None), slice(None)) + tuple(slice(p, -p) for p in pad[::2])
        return _fit_channels(blurred[crop], self.channels_b).to(x.dtype)


def b_quantiles(
    folder: str | os.PathLike,
    normalization: Mapping | None,
    levels: int = LEVELS,
    axes: str | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """B's pooled quantiles: every image of ``folder`` normalised as in training, up to :data:`POOL_SAMPLES`
    values per image and channel (a fixed random draw), quantiles at ``levels`` evenly spaced levels.

    Returns:
        ``(C_b, levels)`` float32.

    Raises:
        InputDataError: no image in ``folder``, or images with different channel counts.
    """
    files = list_images(folder)
    if not files:
        raise InputDataError(folder, "no B training image to take a histogram from")
    norm = Normalization.from_config(normalization)
    rng = np.random.default_rng(seed)
    pools: list[list[np.ndarray]] = []
    for f in files:
        image = norm(load_image(f, axes=axes)).numpy()
        image = image.reshape(image.shape[0], -1)
        if pools and len(pools) != image.shape[0]:
            raise InputDataError(f, f"has {image.shape[0]} channel(s), the other B images {len(pools)}")
        pools = pools or [[] for _ in range(image.shape[0])]
        for c, values in enumerate(image):
            if values.size > POOL_SAMPLES:
                values = rng.choice(values, POOL_SAMPLES, replace=False)
            pools[c].append(values)
    grid = np.linspace(0, 1, int(levels))
    return torch.as_tensor(np.stack([np.quantile(np.concatenate(p), grid) for p in pools]), dtype=torch.float32)


def default_baselines(polarity: int = 1, denoising: bool = False) -> list[str]:
    """The baselines a task is reported against: the input and the histogram match always, the inverted match
    where the modalities reverse the brightness (``polarity`` -1), the validated blur for denoising tasks."""
    names = ["input", "histogram"]
    if int(polarity) == -1:
        names.append("histogram_inverted")
    if denoising:
        names.append("blur")
    return names


def make_baseline(
    name: str,
    dataset_dir: str | os.PathLike,
    spec: Mapping,
    sigmas: Sequence[float] | None = None,
) -> tuple[nn.Module, dict]:
    """Build baseline ``name`` for the data set and model spec (``normalization_b``, ``channels_b``,
    ``spatial_dims``, ``axes_b``).

    Returns:
        the module and what was chosen for it (``{"sigma": ..., "validation": {...}}`` for the blur; the B pool's
        size for the histograms).

    Raises:
        ValueError: an unknown name.
        InputDataError: no ``trainB`` images (histograms) or no validation pairs (blur).
    """
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
    channels_b, dims = int(spec.get("channels_b", 1)), int(spec.get("spatial_dims", 2))
    if name == "input":
        return Untranslated(channels_b), {}
    if name.startswith("histogram"):
        folder = Path(dataset_dir) / "trainB"
        quantiles = b_quantiles(folder, spec.get("normalization_b"), axes=spec.get("axes_b"))
        return HistogramMatch(quantiles, invert=name.endswith("inverted")), {"pool": len(list_images(folder))}
    sigma, validation = blur_width(dataset_dir, sigmas or SIGMAS)
    return Blur(sigma, dims, channels_b), {"sigma": sigma, "validation": validation}
