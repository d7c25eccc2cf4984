"""Fixed spatially-correlative loss (FSeSim, Zheng et al. 2021): structure is kept when the self-similarity
pattern of features around each point is the same in input and output, whatever their appearance.

For sampled query points, the cosine similarity between the query's feature vector and every feature vector in
its ``window`` x ``window`` neighbourhood forms a map; the loss compares the maps of input and output features
by L1 or cosine distance. Features come from a fixed (frozen) extractor given by the caller.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["self_similarity", "fsesim_loss"]


def self_similarity(features: torch.Tensor, index: torch.Tensor, window: int) -> torch.Tensor:
    """Cosine similarity of each sampled location to its neighbourhood.

    Args:
        features: ``(B, C, H, W)``.
        index: flat indices of ``P`` query locations.
        window: odd neighbourhood side.

    Returns:
        ``(B, P, window * window)``.
    """
    if features.ndim != 4:
        raise ValueError(f"FSeSim works on 2D feature maps (B, C, H, W), got shape {tuple(features.shape)}")
    if window % 2 == 0:
        raise ValueError(f"window must be odd, got {window}")
    f = F.normalize(features, dim=1)
    b, c = f.shape[:2]
    neighbours = F.unfold(f, window, padding=window // 2)  # (B, C * w * w, H * W)
    neighbours = neighbours.reshape(b, c, window * window, -1)[..., index]  # (B, C, w*w, P)
    centre = f.flatten(2)[..., index].unsqueeze(2)  # (B, C, 1, P)
    return (neighbours * centre).sum(1).transpose(1, 2)


def fsesim_loss(
    source_features: torch.Tensor,
    output_features: torch.Tensor,
    num_points: int = 256,
    window: int = 7,
    distance: str = "l1",
    generator=None,
) -> torch.Tensor:
    """Distance between the self-similarity maps of ``source_features`` and ``output_features`` (same shape)."""
    if source_features.shape != output_features.shape:
        raise ValueError(f"feature shapes differ: {tuple(source_features.shape)} vs {tuple(output_features.shape)}")
    if distance not in ("l1", "cosine"):
        raise ValueError(f"distance must be 'l1' or 'cosine', got {distance!r}")
    locations = source_features.shape[2] * source_features.shape[3]
    index = torch.randperm(locations, generator=generator, device="cpu")[: min(num_points, locations)]
    index = index.to(source_features.device)
    a = self_similarity(source_features, index, window)
    b = self_similarity(output_features, index, window)
    if distance == "l1":
        return (a - b).abs().mean()
    return (1.0 - F.cosine_similarity(a, b, dim=-1)).mean()
