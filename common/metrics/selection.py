"""Model-selection criteria: what a checkpoint is judged by during training, on the validation split.

* With ground truth (``valB`` aligned with ``valA``): :func:`fitted_psnr` and :func:`fitted_pcc`, the translation
  first fitted to the truth by least squares, one gain and offset for all channels (an unpaired translation's
  intensity scale is arbitrary: a merely rescaled output read -6.6 dB without the fit; its sign is not, so the gain
  is kept non-negative, where the review scores let it go negative), PSNR over the truth's 0.1-99.9 percentile
  range, as reviews score.
* Without: :func:`realism` (the sliced Wasserstein distance between local patches of the translation and of real
  B images, relative to that of a flat image at B's mean) plus, for methods that train a cycle, the cycle error
  through the DCT low-pass relative to the input's own variation (and, in :mod:`common.engines.validation`, the
  disagreement of coarse structure with the input). An identity (near-input) output is far from B's patches, an
  inverted or collapsed one too, and a generator hiding its input in high frequencies (steganography) cannot
  reconstruct it after the low-pass: none of them can look good on both terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "affine_fit",
    "fitted_psnr",
    "fitted_pcc",
    "patch_descriptors",
    "sliced_wasserstein",
    "RealismReference",
    "cycle_error",
]


def _fit(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``a * pred + b`` with one gain ``a >= 0`` and one offset for all channels, least squares against ``target``
    (``(C, *S)`` each), as the review tool fits. One fit for all channels, because the balance between channels is
    part of the translation (an H&E colour, two markers' relative brightness): a fit per channel forgave a Ui2i
    snapshot's wrong colours (validation 21.9 dB, test 16.7) and selection picked it over snapshots of 21 dB.
    Non-negative, because a contrast inversion is wrong: an inverted translation fits as its mean only (a free
    slope scored a Ui2i snapshot whose nuclear channel was inverted, PCC -0.88, above its upright snapshots)."""
    return affine_fit(pred.double()[None], target.double()[None], non_negative=True)[0]


def affine_fit(pred: torch.Tensor, target: torch.Tensor, non_negative: bool = False) -> torch.Tensor:
    """``a * pred + b`` with one least-squares gain and offset per sample over all its values (``(N, ...)`` each;
    ``non_negative``: the gain clamped at 0). A constant ``pred`` fits as the target's mean. No host sync."""
    p, t = pred.flatten(1), target.flatten(1)
    dp, tm = p - p.mean(1, keepdim=True), t.mean(1, keepdim=True)
    var = dp.pow(2).mean(1, keepdim=True)
    cov = (dp * (t - tm)).mean(1, keepdim=True)
    a = torch.where(var > 0, cov / var.clamp_min(torch.finfo(var.dtype).tiny), torch.zeros_like(var))
    if non_negative:
        a = a.clamp_min(0.0)
    return (a * dp + tm).reshape(target.shape)


def fitted_psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR of ``pred`` fitted to ``target`` (one non-negative gain and offset for all channels), on the target's
    0.1-99.9 percentile range.

    Args:
        pred, target: ``(C, *S)`` tensors of the same shape.
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} differs from target shape {tuple(target.shape)}")
    t = target.double()
    lo, hi = np.percentile(t.cpu().numpy(), [0.1, 99.9])
    rng = max(float(hi - lo), 1e-8)
    mse = float(((_fit(pred, t) - t) / rng).pow(2).mean())
    return 10.0 * float(np.log10(1.0 / max(mse, 1e-12)))


def fitted_pcc(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Pearson correlation of ``pred`` with ``target`` over all values (0 when either is constant)."""
    p, t = pred.flatten().double(), target.flatten().double()
    p, t = p - p.mean(), t - t.mean()
    denominator = float(p.norm() * t.norm())
    return float((p * t).sum()) / denominator if denominator > 0 else 0.0


def patch_descriptors(
    image: torch.Tensor, count: int = 256, size: int = 7, levels: int = 3, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    """Random ``size``-pixel neighbourhoods of ``image`` at ``levels`` scales of a Gaussian-like pyramid (2x average
    pooling per level), as ProGAN's sliced Wasserstein distance uses, in the image's own units (not normalised per
    patch: brightness and contrast are part of what must match).

    Args:
        image: ``(C, *S)``, 2D or 3D.
        count: patches per level (fewer when the level is small).

    Returns:
        one ``(n, C * size**d)`` tensor per level that is at least ``size`` pixels wide.
    """
    spatial = image.ndim - 1
    x = image.float().unsqueeze(0)
    pool = F.avg_pool2d if spatial == 2 else F.avg_pool3d
    out = []
    for level in range(levels):
        if level:
            if min(x.shape[2:]) < 2 * size:
                break
            x = pool(x, 2)
        if min(x.shape[2:]) < size:
            break
        view = x[0]
        for d in range(1, spatial + 1):
            view = view.unfold(d, size, 1)  # (C, *positions, *window)
        positions = view.shape[1 : 1 + spatial]
        flat = view.reshape(view.shape[0], int(np.prod(positions)), -1)
        n = min(count, flat.shape[1])
        picks = torch.randperm(flat.shape[1], generator=generator)[:n]
        out.append(flat[:, picks].permute(1, 0, 2).reshape(n, -1))
    return out


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, projections: torch.Tensor) -> float:
    """Mean over unit ``projections`` (``(D, P)``) of the 1-Wasserstein distance between the projected samples of
    ``x`` and ``y`` (``(N, D)`` each, the same ``N``)."""
    if x.shape != y.shape:
        raise ValueError(f"sample sets must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    px, _ = (x @ projections).sort(dim=0)
    py, _ = (y @ projections).sort(dim=0)
    return float((px - py).abs().mean())


class RealismReference:
    """Patches of real B images, and the distance of a translation's patches to them (:meth:`realism`).

    Args:
        images: real B images ``(C, *S)`` (validation or training B, normalised as in training).
        count: patches per level and image compared.
        projections: random directions of the sliced distance.
        seed: seed of the patch and projection draws (the criterion is deterministic for a given model).
    """

    def __init__(self, images: Sequence[torch.Tensor], count: int = 256, projections: int = 64, seed: int = 0):
        if not images:
            raise ValueError("need at least one real B image")
        self.count, self.seed = int(count), int(seed)
        generator = torch.Generator().manual_seed(self.seed)
        per_image = [patch_descriptors(torch.as_tensor(im), 4 * self.count, generator=generator) for im in images]
        levels = min(len(p) for p in per_image)
        if levels == 0:
            raise ValueError("real B images are smaller than the 7-pixel patches")
        self.reference = [torch.cat([p[level] for p in per_image]) for level in range(levels)]
        dims = self.reference[0].shape[1]
        directions = torch.randn(dims, int(projections), generator=generator)
        self.projections = directions / directions.norm(dim=0, keepdim=True)
        means = torch.cat([torch.as_tensor(im).float().flatten(1) for im in images], dim=1).mean(dim=1)
        shape = torch.as_tensor(images[0]).shape
        constant = means.reshape((-1,) + (1,) * (len(shape) - 1)).expand(shape).clone()
        self.scale = max(self._distance(constant), 1e-8)  # a flat image at B's mean scores 1

    def _distance(self, image: torch.Tensor) -> float:
        generator = torch.Generator().manual_seed(self.seed + 1)
        ours = patch_descriptors(image.detach().cpu(), self.count, generator=generator)
        values = []
        for level, mine in enumerate(ours[: len(self.reference)]):
            ref = self.reference[level]
            picks = torch.randperm(ref.shape[0], generator=generator)[: mine.shape[0]]
            if picks.numel() < mine.shape[0]:
                mine = mine[: picks.numel()]
            values.append(sliced_wasserstein(mine, ref[picks], self.projections))
        return float(np.mean(values))

    def realism(self, image: torch.Tensor) -> float:
        """Distance of a translation ``(C, *S)`` to real B patches, relative to a flat image at B's mean."""
        return self._distance(image) / self.scale


def cycle_error(reconstruction: torch.Tensor, source: torch.Tensor) -> float:
    """Mean absolute cycle error relative to the source's mean absolute deviation (0: perfect)."""
    spread = float((source - source.mean()).abs().mean())
    return float((reconstruction - source).abs().mean()) / max(spread, 1e-8)
