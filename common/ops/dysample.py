"""DySample: dynamic upsampling by learned point sampling (Liu et al. 2023), STABLE's upsampling operator.

A 1x1 convolution predicts, for every low-resolution pixel, ``scale**d`` offset vectors (one per output pixel
it becomes); a pixel shuffle places them on the high-resolution grid, they are added to the regular sampling
grid of a plain ``scale`` x upsampling, and the input is resampled there with ``grid_sample``. Offsets start
near zero, so the operator starts as bilinear (trilinear) upsampling; the "static scope" multiplies offsets by
0.25, the "dynamic scope" by ``0.5 * sigmoid(scope(x))``. Channels are split into ``groups`` sharing offsets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DySample", "base_grid"]


def base_grid(sizes: list[int], scale: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Normalised sampling coordinates of a plain ``scale`` x upsampling (``align_corners=False``).

    Returns:
        ``(*out_sizes, d)`` with the last axis ordered x, y[, z] as ``grid_sample`` expects.
    """
    axes: list[torch.Tensor] = []
    for s in sizes:
        out = torch.arange(s * scale, device=device, dtype=dtype)
        source = (out + 0.5) / scale - 0.5  # output pixel centre in input pixel units
        axes.append((2.0 * source + 1.0) / s - 1.0)
    mesh = torch.meshgrid(axes, indexing="ij")
    ordered: list[torch.Tensor] = []
    for i in range(len(mesh) - 1, -1, -1):
        ordered.append(mesh[i])
    return torch.stack(ordered, dim=-1)


def _shuffle(x: torch.Tensor, scale: int, spatial_dims: int) -> torch.Tensor:
    """Pixel shuffle for 2D or 3D: ``(N, C * s**d, *S)`` -> ``(N, C, *(S * s))``."""
    if spatial_dims == 2:
        return F.pixel_shuffle(x, scale)
    n, c, d, h, w = x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    c_out = c // (scale * scale * scale)
    x = x.reshape(n, c_out, scale, scale, scale, d, h, w)
    x = x.permute(0, 1, 5, 2, 6, 3, 7, 4)
    return x.reshape(n, c_out, d * scale, h * scale, w * scale)


class DySample(nn.Module):
    """Learned ``scale`` x upsampling of ``(N, C, *spatial)`` feature maps.

    Args:
        spatial_dims: 2 or 3.
        channels: input channels (must be divisible by ``groups``).
        scale: upsampling factor.
        groups: channel groups with their own offsets.
        dynamic_scope: use the dynamic (input-dependent) offset scope instead of the static 0.25.
    """

    def __init__(self, spatial_dims: int, channels: int, scale: int = 2, groups: int = 4, dynamic_scope: bool = False):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if scale < 2:
            raise ValueError(f"scale must be at least 2, got {scale}")
        groups = min(groups, channels)
        if channels % groups:
            raise ValueError(f"channels ({channels}) must be divisible by groups ({groups})")
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        out = spatial_dims * groups * scale**spatial_dims
        self.offset = conv(channels, out, 1)
        nn.init.normal_(self.offset.weight, std=1e-3)
        nn.init.zeros_(self.offset.bias)
        self.dynamic_scope = dynamic_scope
        self.scope = conv(channels, out, 1) if dynamic_scope else nn.Identity()
        if dynamic_scope:
            nn.init.zeros_(self.scope.weight)
            nn.init.zeros_(self.scope.bias)
        self.spatial_dims, self.scale, self.groups = spatial_dims, scale, groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, *S)`` -> ``(N, C, *(scale * S))``."""
        offsets = self.offset(x)
        if self.dynamic_scope:
            offsets = offsets * torch.sigmoid(self.scope(x)) * 0.5
        else:
            offsets = offsets * 0.25
        return self.sample(x, offsets)

    def sampling_grid(self, x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Normalised sampling coordinates ``(N * groups, *out, d)`` for ``x`` and pixel ``offsets``, in at least
        fp32 whatever the features' dtype: under bf16 autocast a bf16 grid (8-bit mantissa) misplaced samples by up
        to 0.5 output pixels at 256 px and 2.5 at 512 px."""
        n = x.shape[0]
        d, g, s = self.spatial_dims, self.groups, self.scale
        sizes: list[int] = []
        out_sizes: list[int] = []
        scales: list[float] = []
        for i in range(2, x.dim()):
            sizes.append(x.shape[i])
            out_sizes.append(x.shape[i] * s)
        for i in range(len(sizes) - 1, -1, -1):  # x, y[, z] order, as grid_sample wants
            scales.append(2.0 / sizes[i])
        dtype = torch.promote_types(x.dtype, torch.float32)
        offsets = _shuffle(offsets.to(dtype), s, d)  # (N, g * d, *out)
        offsets = offsets.reshape([n * g, d] + out_sizes)
        # pixel offsets -> normalised coordinates
        norm = torch.tensor(scales, device=x.device, dtype=dtype)
        offsets = offsets.movedim(1, -1) * norm
        grid = base_grid(sizes, s, x.device, dtype).unsqueeze(0) + offsets
        # grid_sample's CPU backward crashes the process on NaN coordinates (torch 2.13): keep them finite
        return torch.nan_to_num(grid, nan=0.0, posinf=2.0, neginf=-2.0)

    def sample(self, x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Resample ``x`` at the regular grid plus ``offsets`` (low-resolution layout, in input pixels)."""
        n, c, g = x.shape[0], x.shape[1], self.groups
        grid = self.sampling_grid(x, offsets)
        sizes = list(x.shape[2:])
        features = x.reshape([n * g, c // g] + sizes).to(grid.dtype)
        out = F.grid_sample(features, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return out.reshape([n, c] + list(grid.shape[1:-1])).to(x.dtype)
