"""N-pair contrastive loss on bottleneck features (Ui2i): the feature of a location in the input should match
the feature of the same location in its translation more than any other location's (or sample's)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["npair_contrastive_loss"]


def npair_contrastive_loss(
    z: torch.Tensor, z_translated: torch.Tensor, temperature: float = 0.1, max_pairs: int = 256, generator=None
) -> torch.Tensor:
    """InfoNCE over ``N`` pairs: row ``i`` of ``z`` should pick row ``i`` of ``z_translated``.

    Args:
        z, z_translated: features ``(B, C, *S)`` of the inputs and of their translations (same shape). Each
            spatial location of each sample is one pair (so batch size 1 still has negatives).
        temperature: softmax temperature.
        max_pairs: use at most this many random pairs (memory grows with their square).
        generator: random generator for the subset.

    Returns:
        the mean cross-entropy (a scalar).
    """
    if z.shape != z_translated.shape:
        raise ValueError(f"feature shapes differ: {tuple(z.shape)} vs {tuple(z_translated.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    a = z.flatten(2).transpose(1, 2).reshape(-1, z.shape[1])
    b = z_translated.flatten(2).transpose(1, 2).reshape(-1, z.shape[1])
    if a.shape[0] > max_pairs:
        keep = torch.randperm(a.shape[0], generator=generator, device="cpu")[:max_pairs].to(a.device)
        a, b = a[keep], b[keep]
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).t() / temperature
    return F.cross_entropy(logits, torch.arange(a.shape[0], device=a.device))
