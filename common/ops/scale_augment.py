"""Differentiable scale augmentation (Ui2i): resize real and generated batches by one random factor before the
discriminator, so that it judges content at several scales and gradients still reach the generator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["rescale", "RandScaleAugment"]


def rescale(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Resize ``(N, C, *spatial)`` by ``factor`` (bilinear/trilinear, antialiased when shrinking 2D)."""
    if factor == 1.0:
        return x
    mode = "bilinear" if x.ndim == 4 else "trilinear"
    antialias = bool(factor < 1.0 and x.ndim == 4)
    # float32 inside: antialiased resizing has no bfloat16/half kernel on CPU (autocast runs)
    out = F.interpolate(x.float(), scale_factor=factor, mode=mode, align_corners=False, antialias=antialias)
    return out.to(x.dtype)


class RandScaleAugment(nn.Module):
    """Draw a factor in ``[low, high]`` per call and apply it to every tensor given.

    Args:
        low, high: factor range (Ui2i: 0.75, 1.5).
        prob: chance of rescaling at all.
        seed: seed of the module's own generator (for reproducible runs).
    """

    def __init__(self, low: float = 0.75, high: float = 1.5, prob: float = 1.0, seed: int = 0):
        super().__init__()
        if not 0 < low <= high:
            raise ValueError(f"need 0 < low <= high, got {low}, {high}")
        if not 0 <= prob <= 1:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        self.low, self.high, self.prob = float(low), float(high), float(prob)
        self.generator = torch.Generator().manual_seed(int(seed))

    def sample(self) -> float:
        if float(torch.rand((), generator=self.generator)) >= self.prob:
            return 1.0
        return float(self.low + (self.high - self.low) * torch.rand((), generator=self.generator))

    def forward(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """The same random factor applied to each tensor (e.g. real and fake batches)."""
        factor = self.sample() if self.training else 1.0
        return [rescale(t, factor) for t in tensors]
