"""Fixed 2x upsampling with a Lanczos-2 kernel (Ui2i's decoder): 4 taps per output phase, no checkerboard.

For a 2x upsampling each output sample sits 0.25 input pixels from its nearest input sample; its 4 taps are at
distances 0.25, 0.75, 1.25 and 1.75 and weigh ``L(d) = sinc(d) sinc(d / 2)``. Both output phases use the same four
weights (mirrored), normalised to sum to one, so a constant image is reproduced exactly and there is no
checkerboard. The kernel is applied as a depthwise transposed convolution (8 taps per axis, stride 2) on an
edge-replicated input, separable over 2 or 3 spatial dimensions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["lanczos2_taps", "LanczosUpsample"]


def lanczos2_taps() -> torch.Tensor:
    """The 8-tap transposed-convolution kernel (both phases interleaved), each phase summing to 1."""

    def lanczos(d: float) -> float:
        if d == 0:
            return 1.0
        return math.sin(math.pi * d) / (math.pi * d) * math.sin(math.pi * d / 2) / (math.pi * d / 2)

    distances = [1.75, 1.25, 0.75, 0.25, 0.25, 0.75, 1.25, 1.75]
    taps = torch.tensor([lanczos(d) for d in distances], dtype=torch.float64)
    return taps / taps[0::2].sum()  # even and odd taps (the two phases) hold the same values


class LanczosUpsample(nn.Module):
    """Upsample ``(N, C, *spatial)`` by 2 in every spatial dimension with a fixed Lanczos-2 kernel.

    Args:
        spatial_dims: 2 or 3.
        channels: number of channels (the kernel is applied per channel).
    """

    def __init__(self, spatial_dims: int, channels: int):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        taps = lanczos2_taps()
        kernel = taps
        for _ in range(spatial_dims - 1):
            kernel = kernel.unsqueeze(-1) * taps
        weight = kernel.expand(channels, 1, *([8] * spatial_dims)).contiguous().float()
        self.register_buffer("weight", weight, persistent=False)
        self.spatial_dims = spatial_dims
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, *S)`` -> ``(N, C, *2S)``."""
        pad = [2] * (2 * self.spatial_dims)
        padded = F.pad(x, pad, mode="replicate")
        weight = self.weight.to(dtype=x.dtype)
        if self.spatial_dims == 2:
            out = F.conv_transpose2d(padded, weight, stride=2, padding=3, groups=self.channels)
            return out[:, :, 4:-4, 4:-4]
        out = F.conv_transpose3d(padded, weight, stride=2, padding=3, groups=self.channels)
        return out[:, :, 4:-4, 4:-4, 4:-4]
