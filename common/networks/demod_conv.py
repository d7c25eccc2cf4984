"""Modulated / demodulated convolution (StyleGAN2 weight demodulation), used by STABLE against droplet artifacts.

The weight is scaled per input channel by a style (``1 + affine(global mean of x)``, one per sample) and then
each output filter is divided by its L2 norm, so outputs keep unit expected scale without normalising the
features themselves (no dependence on other samples, unlike batch/instance norm, and no droplets).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DemodulatedConv", "demodulate"]


def demodulate(weight: torch.Tensor, spatial_dims: int, eps: float = 1e-8) -> torch.Tensor:
    """Divide each output filter of ``weight`` (``(..., out, in, *k)``) by its L2 norm over ``in`` and ``k``."""
    dims = list(range(weight.ndim - 1 - spatial_dims, weight.ndim))
    return weight * torch.rsqrt(weight.pow(2).sum(dim=dims, keepdim=True) + eps)


class DemodulatedConv(nn.Module):
    """Convolution with per-sample modulated, demodulated weights; ``same`` padding, stride 1.

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: channels.
        kernel_size: odd kernel size.
        modulate: derive a per-sample, per-input-channel style from the input's global mean (else style 1).
        bias: add a learned bias after the convolution.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        modulate: bool = True,
        bias: bool = True,
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        shape = (out_channels, in_channels) + (kernel_size,) * spatial_dims
        self.weight = nn.Parameter(torch.randn(shape) / math.sqrt(in_channels * kernel_size**spatial_dims))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.style = nn.Linear(in_channels, in_channels) if modulate else None
        if self.style is not None:
            nn.init.zeros_(self.style.weight)
            nn.init.zeros_(self.style.bias)
        self.spatial_dims, self.in_channels, self.out_channels = spatial_dims, in_channels, out_channels
        self.padding = kernel_size // 2

    def effective_weight(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample demodulated weights ``(N, out, in, *k)``."""
        n = x.shape[0]
        weight = self.weight.unsqueeze(0)
        if self.style is not None:
            style = 1.0 + self.style(x.mean(dim=list(range(2, x.ndim))))  # (N, in)
            weight = weight * style.reshape([n, 1, self.in_channels] + [1] * self.spatial_dims)
        else:
            weight = weight.expand([n] + list(self.weight.shape))
        return demodulate(weight, self.spatial_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in, *S)`` -> ``(N, out, *S)``."""
        n = x.shape[0]
        weight = self.effective_weight(x)
        weight = weight.reshape([n * self.out_channels, self.in_channels] + list(weight.shape[3:]))
        grouped = x.reshape([1, n * self.in_channels] + list(x.shape[2:]))
        if self.spatial_dims == 2:
            out = F.conv2d(grouped, weight, padding=self.padding, groups=n)
        else:
            out = F.conv3d(grouped, weight, padding=self.padding, groups=n)
        out = out.reshape([n, self.out_channels] + list(out.shape[2:]))
        if self.bias is not None:
            out = out + self.bias.reshape([1, -1] + [1] * self.spatial_dims)
        return out
