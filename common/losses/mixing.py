"""Mixing consistency: an unmixing translation must explain its input as a non-negative mix of its channels.

In signal unmixing (one immunofluorescence channel holding a nuclear and a membrane marker, to be split into two
channels) the input is, up to noise and an offset, a weighted sum of the markers with unknown positive weights
(crosstalk and gains). So whatever the translation draws in its channels must add up to the input: a channel that
invents structure the input lacks, or an inverted channel, cannot be combined with positive weights into the
input. This loss fits the input by non-negative least squares from the translated channels (plus an offset), per
sample, and returns the share of the input's variance left unexplained (``1 - R^2``). It leaves each channel's
scale and the split free (the adversarial terms decide which marker goes where).
"""

from __future__ import annotations

from itertools import combinations

import torch
import torch.nn.functional as F

__all__ = ["mixing_residual", "MAX_MIXING_CHANNELS"]

#: the non-negative fit tries every subset of channels (2^K - 1 small solves)
MAX_MIXING_CHANNELS = 4


def mixing_residual(mixture: torch.Tensor, components: torch.Tensor, block: int = 1, eps: float = 1e-6) -> torch.Tensor:
    """Mean over the batch of the unexplained variance share of ``mixture`` fitted as ``offset + sum_k w_k *
    components_k`` with every ``w_k >= 0``.

    Args:
        mixture: ``(N, C_m, *S)`` (its channel mean is fitted).
        components: ``(N, K, *S)``, ``K <= 4``, the same spatial size.
        block: average both over ``block``-pixel blocks first (1: pixel-wise).
        eps: ridge added to the normal equations of the unit-norm channels.

    Returns:
        A scalar in ``[0, 1]``: 0 when the mixture is an exact non-negative mix, 1 when no non-negative mix
        explains any of it (then it carries no gradient).
    """
    if mixture.shape[0] != components.shape[0] or mixture.shape[2:] != components.shape[2:]:
        raise ValueError(
            f"mixture {tuple(mixture.shape)} and components {tuple(components.shape)} need the same batch and size"
        )
    k = components.shape[1]
    if not 1 <= k <= MAX_MIXING_CHANNELS:
        raise ValueError(f"mixing consistency takes 1 to {MAX_MIXING_CHANNELS} component channels, got {k}")
    if int(block) < 1:
        raise ValueError(f"block must be at least 1 pixel, got {block}")
    y = mixture.float().mean(dim=1, keepdim=True)
    x = components.float()
    if block > 1:
        pool = F.avg_pool2d if x.ndim == 4 else F.avg_pool3d
        y, x = pool(y, int(block)), pool(x, int(block))
    y = y.flatten(2)[:, 0]  # (N, P)
    x = x.flatten(2)  # (N, K, P)
    y = y - y.mean(dim=1, keepdim=True)
    x = x - x.mean(dim=2, keepdim=True)
    total = y.pow(2).sum(dim=1)  # (N,)
    shares = []  # per subset of channels: the unexplained share where its fit is non-negative, else 1
    for size in range(1, k + 1):
        eye = eps * torch.eye(size, dtype=x.dtype, device=x.device)
        for subset in combinations(range(k), size):
            a = x[:, list(subset)]  # (N, s, P)
            a = a / a.norm(dim=2, keepdim=True).clamp_min(1e-12)  # unit columns: any channel scale fits alike
            w = torch.linalg.solve(a @ a.transpose(1, 2) + eye, (a @ y.unsqueeze(2)).squeeze(2))  # (N, s)
            residual = (y - (w.unsqueeze(1) @ a).squeeze(1)).pow(2).sum(dim=1)
            share = torch.where(total > 0, residual / total.clamp_min(1e-30), torch.zeros_like(total))
            shares.append(torch.where((w >= 0).all(dim=1), share, torch.ones_like(share)))
    # no host round trip: the best admissible subset per sample, its gradient only (a flat mixture scores 0)
    return torch.stack(shares).amin(dim=0).clamp(0.0, 1.0).mean()
