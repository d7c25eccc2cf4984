"""STABLE's encoder/decoder U-Nets and the translator built from them.

Each U-Net has a contracting path (two 3x3 convolutions + ReLU per level, 2x2 max-pooling between levels) and an
expansive path (DySample dynamic upsampling, concatenation with the skip, two 3x3 convolutions + ReLU), then a
1x1 convolution. Convolutions can be weight-demodulated (StyleGAN2) and batch norm is optional (STABLE: off
for calcium imaging, on for the other tasks).

An **encoder** maps an image to a full-resolution feature map with ``n_info`` channels (the shared information
space); a **decoder** maps such a map to an image. The generator ``A -> B`` is ``decoder_B(encoder_A(x))``
(:class:`EncoderDecoder`), and the information-consistency loss compares ``encoder_A(x)`` with
``encoder_B(G_AB(x))``.
"""

from __future__ import annotations

import torch
from monai.networks.layers.factories import Conv, Norm, Pool
from torch import nn

from common.networks.demod_conv import DemodulatedConv
from common.ops.dysample import DySample
from common.ops.padding import crop_to, pad_to_multiple

__all__ = ["StableUNet", "EncoderDecoder"]


def _conv_block(spatial_dims: int, c_in: int, c_out: int, demod: bool, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        layers.append(
            DemodulatedConv(spatial_dims, a, b, 3) if demod else Conv[Conv.CONV, spatial_dims](a, b, 3, padding=1)
        )
        if batch_norm:
            layers.append(Norm[Norm.BATCH, spatial_dims](b))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class StableUNet(nn.Module):
    """U-Net with DySample upsampling and (optionally) demodulated convolutions.

    Args:
        spatial_dims: 2 or 3.
        in_channels: input channels (image channels for an encoder, ``n_info`` for a decoder).
        out_channels: output channels (``n_info`` for an encoder, image channels for a decoder).
        channels: channels per level (calcium: ``(8, 16, 32)``; other tasks ``(32, 64, 128, 256)``).
        batch_norm: batch norm after each convolution.
        demodulate: weight-demodulated convolutions.
        upsample: ``"dysample"`` (STABLE) or ``"bilinear"`` (the ablation).
        dysample_groups: offset groups of DySample.
        output_act: ``None`` (linear), ``"sigmoid"`` or ``"tanh"``.

    Shapes:
        ``(N, in_channels, *S)`` -> ``(N, out_channels, *S)``: full resolution, any ``S``.
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        out_channels: int = 8,
        channels: tuple[int, ...] = (8, 16, 32),
        batch_norm: bool = False,
        demodulate: bool = True,
        upsample: str = "dysample",
        dysample_groups: int = 4,
        output_act: str | None = None,
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        channels = tuple(int(c) for c in channels)
        if len(channels) < 2 or min(channels) < 1:
            raise ValueError(f"channels needs at least two positive values, got {channels}")
        if upsample not in ("dysample", "bilinear"):
            raise ValueError(f"upsample must be 'dysample' or 'bilinear', got {upsample!r}")
        if output_act not in (None, "none", "sigmoid", "tanh"):
            raise ValueError(f"output_act must be None, 'sigmoid' or 'tanh', got {output_act!r}")
        self.contract = nn.ModuleList()
        c_prev = in_channels
        for c in channels:
            self.contract.append(_conv_block(spatial_dims, c_prev, c, demodulate, batch_norm))
            c_prev = c
        self.pool = Pool[Pool.MAX, spatial_dims](2)
        self.up = nn.ModuleList()
        self.expand = nn.ModuleList()
        for c_deep, c in zip(channels[:0:-1], channels[-2::-1], strict=True):
            if upsample == "dysample":
                self.up.append(DySample(spatial_dims, c_deep, 2, groups=_groups(c_deep, dysample_groups)))
            else:
                self.up.append(nn.Upsample(scale_factor=2.0, mode="bilinear" if spatial_dims == 2 else "trilinear"))
            self.expand.append(_conv_block(spatial_dims, c_deep + c, c, demodulate, batch_norm))
        self.head = Conv[Conv.CONV, spatial_dims](channels[0], out_channels, 1)
        self.output_act: str = "none" if output_act is None else output_act
        self.multiple = 2 ** (len(channels) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, sizes = pad_to_multiple(x, self.multiple)
        skips: list[torch.Tensor] = []
        h = padded
        n = len(self.contract)
        for i, block in enumerate(self.contract):
            h = block(h)
            if i < n - 1:
                skips.append(h)
                h = self.pool(h)
        for i, (up, block) in enumerate(zip(self.up, self.expand)):  # noqa: B905 (TorchScript)
            h = block(torch.cat([up(h), skips[n - 2 - i]], dim=1))
        out = self.head(h)
        if self.output_act == "sigmoid":
            out = torch.sigmoid(out)
        elif self.output_act == "tanh":
            out = torch.tanh(out)
        return crop_to(out, sizes)


def _groups(channels: int, wanted: int) -> int:
    g = max(1, min(wanted, channels))
    while channels % g:
        g -= 1
    return g


class EncoderDecoder(nn.Module):
    """A STABLE generator: ``decoder(encoder(x))``; :meth:`encode` exposes the information features."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
