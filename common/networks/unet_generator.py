"""A configurable U-Net translation generator: CycleGAN's U-Net variant and the Ui2i generator.

Encoder levels are two 3x3 convolutions (optionally followed by residual channel-spatial attention), joined by
stride-2 3x3 convolutions; a bottleneck of two 3x3 convolutions; decoder levels upsample (transposed convolution,
bilinear, or Ui2i's fixed Lanczos-2 kernel followed by a 3x3 convolution), concatenate the skip connection and apply
two 3x3 convolutions; a 1x1 convolution gives the output. ``padding_mode`` sets how every 3x3 convolution pads the
border: zeros (pix2pix's U-Net) or replicated edge pixels (Ui2i here: where the background is bright, as in
brightfield histology normalised to [0, 1], zero padding reads as a black frame around every feature map and the
translation's outer pixels come out dark). The bottleneck is
a separate module that two generators can share (Ui2i). :meth:`UNetGenerator.forward_with_bottleneck` also returns
the bottleneck features (for Ui2i's content discriminator and contrastive loss).
"""

from __future__ import annotations

import torch
from monai.networks.layers.factories import Conv
from torch import nn

from common.networks.attention import ChannelSpatialAttention
from common.networks.options import OutputActivation, Upsampling, choose
from common.networks.resnet_generator import _norm
from common.ops.lanczos import LanczosUpsample
from common.ops.padding import crop_to, pad_to_multiple

__all__ = ["UNetGenerator", "double_conv", "UPSAMPLERS"]

UPSAMPLERS = ("transpose", "bilinear", "lanczos")  # of common.networks.options.Upsampling


def double_conv(
    spatial_dims: int, c_in: int, c_out: int, norm: str | None, negative_slope: float, padding_mode: str = "zeros"
) -> nn.Sequential:
    """Two 3x3 convolutions (borders padded by ``padding_mode``), each followed by the norm (if any) and a (leaky)
    ReLU."""
    conv = Conv[Conv.CONV, spatial_dims]
    layers: list[nn.Module] = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        layers += [
            conv(a, b, 3, padding=1, padding_mode=padding_mode),
            _norm(norm, spatial_dims, b),
            _act(negative_slope),
        ]
    return nn.Sequential(*layers)


def _act(negative_slope: float) -> nn.Module:
    return nn.LeakyReLU(negative_slope, inplace=True) if negative_slope > 0 else nn.ReLU(inplace=True)


class _Up(nn.Module):
    def __init__(self, spatial_dims: int, c_in: int, c_out: int, mode: str, padding_mode: str = "zeros"):
        super().__init__()
        conv = Conv[Conv.CONV, spatial_dims]
        if mode == "transpose":
            self.up = nn.Sequential(Conv[Conv.CONVTRANS, spatial_dims](c_in, c_out, 2, stride=2))
        elif mode == "lanczos":
            self.up = nn.Sequential(
                LanczosUpsample(spatial_dims, c_in), conv(c_in, c_out, 3, padding=1, padding_mode=padding_mode)
            )
        elif mode == "bilinear":
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2.0, mode="bilinear" if spatial_dims == 2 else "trilinear"),
                conv(c_in, c_out, 3, padding=1, padding_mode=padding_mode),
            )
        else:
            raise ValueError(f"upsample must be one of {UPSAMPLERS}, got {mode!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x)


class UNetGenerator(nn.Module):
    """U-Net image translator.

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: image channels.
        features: channels per level, the last being the bottleneck (e.g. ``(64, 128, 256, 512)``).
        norm: ``"instance"``, ``"batch"`` or ``None`` (Ui2i: no feature normalisation).
        upsample: ``"transpose"``, ``"bilinear"`` or ``"lanczos"`` (Ui2i).
        attention: residual channel-spatial attention after each encoder level (Ui2i).
        negative_slope: LeakyReLU slope (0 for ReLU).
        output_act: ``"tanh"`` or ``None``.
        bottleneck: a bottleneck module to use (shared between two generators); default a new one.
        padding_mode: border padding of the 3x3 convolutions, any of torch's (``"zeros"``, ``"replicate"``,
            ``"reflect"``, ``"circular"``; torch refuses others); reflect needs every feature map 2 pixels wide.

    Shapes:
        ``(N, in_channels, *S)`` -> ``(N, out_channels, *S)`` for any ``S`` (padded internally to a multiple of
        ``2 ** (len(features) - 1)``).
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        out_channels: int = 1,
        features: tuple[int, ...] = (64, 128, 256, 512),
        norm: str | None = "instance",
        upsample: str = "transpose",
        attention: bool = False,
        negative_slope: float = 0.2,
        output_act: str | None = "tanh",
        bottleneck: nn.Module | None = None,
        padding_mode: str = "zeros",
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        features = tuple(int(f) for f in features)
        if len(features) < 2 or min(features) < 1:
            raise ValueError(f"features needs at least two positive values, got {features}")
        upsample = choose(upsample, Upsampling, "upsample", allowed=UPSAMPLERS)
        output_act = choose(output_act, OutputActivation, "output_act", allowed=("tanh", "none"))
        conv = Conv[Conv.CONV, spatial_dims]
        self.encoder = nn.ModuleList()
        self.down = nn.ModuleList()
        c_prev = in_channels
        for c in features[:-1]:
            level: list[nn.Module] = [double_conv(spatial_dims, c_prev, c, norm, negative_slope, padding_mode)]
            if attention:
                level.append(ChannelSpatialAttention(spatial_dims, c, padding_mode=padding_mode))
            self.encoder.append(nn.Sequential(*level))
            down = conv(c, c, 3, stride=2, padding=1, padding_mode=padding_mode)
            self.down.append(nn.Sequential(down, _act(negative_slope)))
            c_prev = c
        self.bottleneck = (
            bottleneck
            if bottleneck is not None
            else double_conv(spatial_dims, features[-2], features[-1], norm, negative_slope, padding_mode)
        )
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for c_deep, c in zip(features[:0:-1], features[-2::-1], strict=True):
            self.up.append(_Up(spatial_dims, c_deep, c, upsample, padding_mode))
            self.decoder.append(double_conv(spatial_dims, 2 * c, c, norm, negative_slope, padding_mode))
        self.head = conv(features[0], out_channels, 1)
        self.tanh = output_act == "tanh"
        self.multiple = 2 ** (len(features) - 1)

    def forward_with_bottleneck(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Translated image and bottleneck features ``(N, features[-1], *S / 2**(L-1))``."""
        padded, sizes = pad_to_multiple(x, self.multiple)
        skips: list[torch.Tensor] = []
        h = padded
        for enc, down in zip(self.encoder, self.down):  # noqa: B905 (TorchScript has no strict zip)
            h = enc(h)
            skips.append(h)
            h = down(h)
        z = self.bottleneck(h)
        h = z
        n = len(skips)
        for i, (up, dec) in enumerate(zip(self.up, self.decoder)):  # noqa: B905
            h = dec(torch.cat([up(h), skips[n - 1 - i]], dim=1))
        out = self.head(h)
        if self.tanh:
            out = torch.tanh(out)
        return crop_to(out, sizes), z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_bottleneck(x)[0]
