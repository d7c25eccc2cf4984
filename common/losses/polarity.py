"""Polarity loss: the translation must keep the input's contrast polarity at low resolution.

Unpaired translation has a sign ambiguity: an inverted translation (dark cells on a bright background where the
target has bright cells on dark) satisfies cycle and information consistency just as well, and a discriminator
that wins early gives no signal against it. Measured: STABLE's reference code inverted the W2S denoising output
on 2 of 3 seeds, ours too. The relation of brightness between two modalities is usually known (fluorescence
denoising, T2 -> PD MRI, IHC -> H&E and calcium indicators keep it; fluorescence -> brightfield H&E reverses it),
so a task states it as ``polarity`` (+1 keep, -1 reverse, 0 unknown) and this hinge penalises only a correlation of
the wrong sign between the block-averaged (8 px) channel means of input and translation. Within a block anything
goes (a cytosolic rim may become a filled nucleus); a translation of the right polarity pays nothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["polarity_loss", "low_resolution_correlation"]


def low_resolution_correlation(x: torch.Tensor, y: torch.Tensor, block: int = 8) -> torch.Tensor:
    """Per-sample Pearson correlation of the ``block``-averaged channel means of ``x`` and ``y``.

    Args:
        x, y: ``(N, C_x, *S)`` and ``(N, C_y, *S)``, 2D or 3D, the same spatial size.

    Returns:
        ``(N,)`` correlations (0 where either is constant).
    """
    pool = F.avg_pool2d if x.ndim == 4 else F.avg_pool3d
    size = min(x.shape[2:])
    k = max(1, min(int(block), size // 2 or 1))
    a = pool(x.float().mean(dim=1, keepdim=True), k).flatten(1)
    b = pool(y.float().mean(dim=1, keepdim=True), k).flatten(1)
    a, b = a - a.mean(dim=1, keepdim=True), b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1) + 1e-8)


def polarity_loss(
    source: torch.Tensor,
    translation: torch.Tensor,
    polarity: int = 1,
    block: int = 8,
    margin: float = 0.0,
    per_channel: bool = False,
) -> torch.Tensor:
    """``mean(relu(margin - polarity * corr))``: zero when the low-resolution correlation has the expected sign
    (and, with ``margin`` > 0, at least that strength).

    Args:
        source: the input ``(N, C_a, *S)``.
        translation: its translation ``(N, C_b, *S)``.
        polarity: +1 (brightness kept) or -1 (reversed).
        block: side of the averaging blocks, in pixels (1: pixel-wise).
        margin: the correlation, in [0, 1), under which the hinge charges (0: only a wrong sign pays).
        per_channel: also hinge each translated channel's own correlation with the input on its sign (margin 0,
            averaged over the channels), so that one inverted channel of several (a marker of an unmixing) pays too,
            while the margin applies to the channels' mean only: one marker of a mixture need not follow the whole
            mixture closely, but a marker that is part of it does not anti-correlate with it.

    Returns:
        A scalar in ``[0, 1 + margin]`` (``[0, 2 + margin]`` with ``per_channel``).
    """
    if polarity not in (1, -1):
        raise ValueError(f"polarity must be 1 or -1, got {polarity}")
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be in [0, 1), got {margin}")
    if int(block) < 1:
        raise ValueError(f"block must be at least 1 pixel, got {block}")
    anchor = F.relu(float(margin) - float(polarity) * low_resolution_correlation(source, translation, block)).mean()
    if not per_channel or translation.shape[1] == 1:
        return anchor
    signs = [
        F.relu(-float(polarity) * low_resolution_correlation(source, translation[:, c : c + 1], block))
        for c in range(translation.shape[1])
    ]
    return anchor + torch.stack(signs).mean()
