"""Demodulated convolution (StyleGAN2 weight demodulation without a style), used by STABLE against droplet
artifacts.

Each output filter is divided by its L2 norm before the convolution, so outputs keep unit expected scale without
normalising the features themselves (no dependence on other samples or on the image's own statistics, unlike
batch or instance norm). As in the STABLE reference code, the weight is static (no per-sample modulation), there
is no bias, and the raw weights start from N(0, 1): the filters' direction is what the optimiser moves, and with
raw weights of norm ~sqrt(fan_in) Adam's step changes that direction as slowly as in the reference.

Without a bias the layer is linear in its input, so a U-Net of such layers and ReLUs maps ``s * x`` to ``s * G(x)``
for ``s > 0`` (up to the heads' biases and DySample's offsets): the intensity equivariance STABLE relies on to keep
quantitative information.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DemodulatedConv", "demodulate", "PADDING_MODES"]

#: border paddings of the convolutions (those of :class:`torch.nn.Conv2d`)
PADDING_MODES = ("zeros", "replicate", "reflect", "circular")


def demodulate(weight: torch.Tensor, spatial_dims: int, eps: float = 1e-8) -> torch.Tensor:
    """Divide each output filter of ``weight`` (``(..., out, in, *k)``) by its L2 norm over ``in`` and ``k``."""
    dims = list(range(weight.ndim - 1 - spatial_dims, weight.ndim))
    return weight * torch.rsqrt(weight.pow(2).sum(dim=dims, keepdim=True) + eps)


class DemodulatedConv(nn.Module):
    """Convolution with unit-norm (demodulated) filters; ``same`` padding, stride 1.

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: channels.
        kernel_size: odd kernel size.
        bias: add a learned bias after the convolution (the reference has none).
        gain: scale of the unit-norm filters. 1 (the reference) keeps the output's second moment equal to the
            input's for white inputs, so each following ReLU halves it and a deep U-Net's signal fades; ``sqrt(2)``
            (He's gain for ReLU, as StyleGAN2 applies after its demodulated convolutions) keeps it.
        padding_mode: how the border is padded: ``"zeros"`` (the reference), ``"replicate"``, ``"reflect"`` or
            ``"circular"``, as :class:`torch.nn.Conv2d`'s.

    Shapes:
        ``(N, in_channels, *S)`` -> ``(N, out_channels, *S)``.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        bias: bool = False,
        gain: float = 1.0,
        padding_mode: str = "zeros",
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        if not gain > 0:
            raise ValueError(f"gain must be positive, got {gain}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}")
        shape = (out_channels, in_channels) + (kernel_size,) * spatial_dims
        self.weight = nn.Parameter(torch.randn(shape))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.spatial_dims, self.in_channels, self.out_channels = spatial_dims, in_channels, out_channels
        self.padding = kernel_size // 2
        self.gain = float(gain)
        self.padding_mode = padding_mode

    def effective_weight(self) -> torch.Tensor:
        """The demodulated filters ``(out, in, *k)``."""
        weight = demodulate(self.weight, self.spatial_dims)
        return weight * self.gain if self.gain != 1.0 else weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in, *S)`` -> ``(N, out, *S)``."""
        weight = self.effective_weight()
        padding = self.padding
        if self.padding_mode != "zeros" and padding > 0:
            x = F.pad(x, [padding] * (2 * self.spatial_dims), mode=self.padding_mode)
            padding = 0
        if self.spatial_dims == 2:
            return F.conv2d(x, weight, self.bias, padding=padding)
        return F.conv3d(x, weight, self.bias, padding=padding)
