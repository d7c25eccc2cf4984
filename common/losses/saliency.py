"""UTOM saliency consistency (Li et al. 2021): the soft foreground masks of input and translation should agree.

A mask is a steep sigmoid of the image around a threshold (per domain); the loss is the L1 distance between the
masks. It assumes a monotonic intensity relation between domains (bright stays bright), which holds for e.g.
label-free -> stain but not for calcium cytosolic -> nuclear (STABLE Fig. 1D).
"""

from __future__ import annotations

import torch

__all__ = ["soft_mask", "saliency_consistency_loss"]


def soft_mask(x: torch.Tensor, threshold: float, sharpness: float = 50.0) -> torch.Tensor:
    """``sigmoid(sharpness * (mean over channels - threshold))``: ``(N, 1, *S)`` in ``[0, 1]``."""
    return torch.sigmoid(sharpness * (x.mean(dim=1, keepdim=True) - threshold))


def saliency_consistency_loss(
    source: torch.Tensor,
    translated: torch.Tensor,
    threshold_source: float,
    threshold_translated: float,
    sharpness: float = 50.0,
) -> torch.Tensor:
    """L1 between the soft masks of ``source`` and ``translated`` (each thresholded in its own domain)."""
    return (
        (soft_mask(source, threshold_source, sharpness) - soft_mask(translated, threshold_translated, sharpness))
        .abs()
        .mean()
    )
