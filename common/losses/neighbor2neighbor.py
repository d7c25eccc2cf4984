"""Neighbor2Neighbor: a self-supervised denoising loss from noisy images alone (Huang et al., "Neighbor2Neighbor:
Self-Supervised Denoising from Single Noisy Images", CVPR 2021).

Two sub-images of a noisy image are drawn by taking, in every 2 x 2 cell, one pixel for the first and a different,
adjacent one for the second: they show the same scene with independent noise, so a network that maps the first to
the second learns to remove noise it cannot predict (Noise2Noise on one image). A regulariser binds the network's
output on the sub-image to the sub-sampled output on the whole image, where the two pixels differ only by the scene:

    L = |f(g1(y)) - g2(y)|^2 + gamma * |f(g1(y)) - g2(y) - (g1(f(y)) - g2(f(y)))|^2   (f(y) without gradient)

In an unpaired translation the network's output is in B's units and the sub-images in A's: before both terms the
output is mapped to A's units by a per-image, per-channel gain and offset (the least-squares fit, without gradient,
its gain taken positive), so the loss binds the structure of the translation and leaves its scale to the method,
but not its sign: an inverted translation is charged as such (with a free sign, the term let STABLE's W2S
translation start inverted).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["neighbor2neighbor_loss", "neighbor_subsample"]


def neighbor_subsample(
    x: torch.Tensor, index: torch.Tensor | None = None, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two neighbouring sub-images of ``x``: per 2 x 2 cell one pixel for each, never the same one.

    Args:
        x: ``(N, C, H, W)`` with even ``H`` and ``W``.
        index: ``(N, 2, H/2, W/2)`` the cells' picks (0-3 in the cell, row-major) to reuse; drawn when ``None``.
        generator: the random generator of the draw.

    Returns:
        ``(first, second, index)``, the sub-images ``(N, C, H/2, W/2)``; every channel takes the same pixels.
    """
    n, c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"neighbour sub-sampling needs an even height and width, got {h} x {w}")
    if index is None:
        first = torch.randint(0, 4, (n, 1, h // 2, w // 2), generator=generator, device=x.device)
        # a neighbour in the cell (sharing its row or column): flip the column bit or the row bit
        flip = 1 + torch.randint(0, 2, first.shape, generator=generator, device=x.device)
        index = torch.cat([first, first ^ flip], dim=1)
    cells = F.pixel_unshuffle(x, 2).reshape(n, c, 4, h // 2, w // 2)

    def pick(k: int) -> torch.Tensor:
        return torch.gather(cells, 2, index[:, k : k + 1, None].expand(n, c, 1, h // 2, w // 2))[:, :, 0]

    return pick(0), pick(1), index


def _fit(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sample and channel, a gain and offset (no gradient) taking ``pred`` close to ``target``: the least-squares
    gain's magnitude, so that an inverted translation is charged (and pushed back) instead of fitted by a negative
    gain, and the offset that goes with it."""
    p, t = pred.detach().flatten(2), target.detach().flatten(2)
    pc, tc = p - p.mean(-1, keepdim=True), t - t.mean(-1, keepdim=True)
    gain = (pc * tc).sum(-1).abs() / (pc * pc).sum(-1).clamp_min(1e-8)
    offset = t.mean(-1) - gain * p.mean(-1)
    return gain[..., None, None], offset[..., None, None]


def neighbor2neighbor_loss(
    network: nn.Module,
    noisy: torch.Tensor,
    gamma: float = 2.0,
    fit_intensity: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The Neighbor2Neighbor loss of ``network`` on a batch of noisy images (see the module docstring).

    Args:
        network: maps ``(N, C, H, W)`` to ``(N, C, H, W)`` (any size a multiple of its down-sampling).
        noisy: ``(N, C, H, W)``; an odd row or column at the end is dropped.
        gamma: the regulariser's weight (the paper: 2 for Poisson-like noise, 1 for Gaussian).
        fit_intensity: map the output to the input's units by a fitted gain and offset first (translations).
        generator: the random generator of the sub-sampling.

    Returns:
        the scalar loss.
    """
    h, w = noisy.shape[-2] // 2 * 2, noisy.shape[-1] // 2 * 2
    noisy = noisy[..., :h, :w]
    first, second, index = neighbor_subsample(noisy, generator=generator)
    out = network(first)
    with torch.no_grad():
        full_first, full_second, _ = neighbor_subsample(network(noisy), index)
    if out.shape != second.shape:
        raise ValueError(f"the network's output {tuple(out.shape)} must match its input {tuple(second.shape)}")
    gain, offset = _fit(out, second) if fit_intensity else (1.0, 0.0)
    mapped = gain * out + offset
    residual = mapped - second
    return F.mse_loss(mapped, second) + float(gamma) * F.mse_loss(residual, gain * (full_first - full_second))
