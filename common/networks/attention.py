"""Channel-spatial attention (Ui2i's encoder blocks): efficient channel attention then spatial attention, with a
residual connection so content passes through unchanged when the attention is uninformative."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ChannelAttention", "SpatialAttention", "ChannelSpatialAttention"]


class ChannelAttention(nn.Module):
    """Efficient channel attention (ECA): a 1D convolution across the pooled channel descriptor, sigmoid gate.

    Args:
        channels: number of channels; sets the adaptive kernel size ``|log2(C) / 2 + 1/2|`` (odd).
    """

    def __init__(self, channels: int, gamma: float = 2.0, b: float = 1.0):
        super().__init__()
        k = int(abs(math.log2(max(channels, 2)) / gamma + b / gamma))
        k = k if k % 2 else k + 1
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, *S)`` -> the same, channels reweighted."""
        pooled = x.mean(dim=list(range(2, x.ndim)))  # (N, C)
        gate = torch.sigmoid(self.conv(pooled.unsqueeze(1))).squeeze(1)
        return x * gate.reshape(gate.shape + (1,) * (x.ndim - 2))


class SpatialAttention(nn.Module):
    """Spatial attention: a convolution over the channel-wise mean and max maps (borders padded by
    ``padding_mode``), sigmoid gate."""

    def __init__(self, spatial_dims: int, kernel_size: int = 7, padding_mode: str = "zeros"):
        super().__init__()
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        self.conv = conv(2, 1, kernel_size, padding=kernel_size // 2, bias=False, padding_mode=padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        descriptor = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(descriptor))


class ChannelSpatialAttention(nn.Module):
    """``x + spatial(channel(x))``: attention in series with a residual connection."""

    def __init__(self, spatial_dims: int, channels: int, kernel_size: int = 7, padding_mode: str = "zeros"):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        self.channel = ChannelAttention(channels)
        self.spatial = SpatialAttention(spatial_dims, kernel_size, padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.spatial(self.channel(x))
