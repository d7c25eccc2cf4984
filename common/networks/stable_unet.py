"""STABLE's encoder/decoder U-Nets and the translator built from them, laid out as the STABLE reference code.

Each U-Net has a contracting path (two 3x3 convolutions + ReLU per level, 2x2 max-pooling between levels) and an
expansive path (DySample dynamic upsampling, a 3x3 convolution halving the channels to the skip's, concatenation
with the skip, two 3x3 convolutions + ReLU), then an output block (3x3 convolution + ReLU + 1x1 convolution).
The level convolutions can be weight-demodulated (StyleGAN2, no bias) and normalised (``norm``: none for calcium
imaging, batch norm in the paper's other tasks, instance norm as the batch-1 equivalent that behaves the same in
training and inference). Only DySample's offset convolutions and the final 1x1 convolution have biases.

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
from common.networks.options import FeatureNorm, OutputActivation, Upsampling, choose
from common.ops.dysample import DySample
from common.ops.padding import crop_to, pad_to_multiple

__all__ = ["StableUNet", "EncoderDecoder", "STABLE_NORMS", "check_norm", "zero_head"]

#: feature normalisations of the STABLE U-Nets
STABLE_NORMS = tuple(m.value for m in FeatureNorm)


def _norm(spatial_dims: int, norm: str, channels: int) -> list[nn.Module]:
    if norm == "batch":
        return [Norm[Norm.BATCH, spatial_dims](channels)]
    if norm == "instance":  # affine, like batch norm at batch size 1, but the same in training and inference
        return [Norm[Norm.INSTANCE, spatial_dims](channels, affine=True)]
    return []


def _conv3(spatial_dims: int, c_in: int, c_out: int, demod: bool, gain: float, padding_mode: str) -> nn.Module:
    if demod:
        return DemodulatedConv(spatial_dims, c_in, c_out, 3, gain=gain, padding_mode=padding_mode)
    return Conv[Conv.CONV, spatial_dims](c_in, c_out, 3, padding=1, bias=False, padding_mode=padding_mode)


def _conv_block(
    spatial_dims: int, c_in: int, c_out: int, demod: bool, norm: str, gain: float, padding_mode: str
) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        conv = _conv3(spatial_dims, a, b, demod, gain, padding_mode)
        layers += [conv, *_norm(spatial_dims, norm, b), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def check_norm(norm: str | None) -> str:
    """``None`` -> ``"none"``; anything outside :data:`STABLE_NORMS` is refused."""
    return choose(norm, FeatureNorm, "norm").value


class StableUNet(nn.Module):
    """U-Net with DySample upsampling and (optionally) demodulated convolutions.

    Args:
        spatial_dims: 2 or 3.
        in_channels: input channels (image channels for an encoder, ``n_info`` for a decoder).
        out_channels: output channels (``n_info`` for an encoder, image channels for a decoder).
        channels: channels per level (calcium: ``(8, 16, 32)``; other tasks ``(32, 64, 128, 256)``).
        norm: ``"none"`` (or ``None``), ``"batch"`` or ``"instance"`` after each level convolution.
        demodulate: weight-demodulated level convolutions.
        upsample: ``"dysample"`` (STABLE) or ``"bilinear"`` (the ablation).
        dysample_groups: offset groups of DySample.
        output_act: ``None`` (linear), ``"sigmoid"`` or ``"tanh"``.
        demod_gain: gain of the demodulated filters (:class:`~common.networks.demod_conv.DemodulatedConv`):
            1 as in the reference; ``sqrt(2)`` keeps the signal's scale through the ReLUs.
        padding_mode: border padding of every 3x3 convolution: ``"zeros"`` (the reference) or ``"replicate"``
            (and torch's others). Zeros are a dark frame around each feature map; on a bright background
            (brightfield) or a noisy one the outer pixels then differ from the inside.

    Shapes:
        ``(N, in_channels, *S)`` -> ``(N, out_channels, *S)``: full resolution, any ``S``.
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        out_channels: int = 8,
        channels: tuple[int, ...] = (8, 16, 32),
        norm: str | None = None,
        demodulate: bool = True,
        upsample: str = "dysample",
        dysample_groups: int = 4,
        output_act: str | None = None,
        demod_gain: float = 1.0,
        padding_mode: str = "zeros",
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        channels = tuple(int(c) for c in channels)
        if len(channels) < 2 or min(channels) < 1:
            raise ValueError(f"channels needs at least two positive values, got {channels}")
        upsample = choose(upsample, Upsampling, "upsample", allowed=("dysample", "bilinear"))
        output_act = choose(output_act, OutputActivation, "output_act")
        norm = check_norm(norm)
        conv = Conv[Conv.CONV, spatial_dims]
        self.contract = nn.ModuleList()
        c_prev = in_channels
        for c in channels:
            self.contract.append(_conv_block(spatial_dims, c_prev, c, demodulate, norm, demod_gain, padding_mode))
            c_prev = c
        self.pool = Pool[Pool.MAX, spatial_dims](2)
        self.up = nn.ModuleList()
        self.expand = nn.ModuleList()
        for c_deep, c in zip(channels[:0:-1], channels[-2::-1], strict=True):
            if upsample == "dysample":
                resample: nn.Module = DySample(spatial_dims, c_deep, 2, groups=_groups(c_deep, dysample_groups))
            else:
                resample = nn.Upsample(scale_factor=2.0, mode="bilinear" if spatial_dims == 2 else "trilinear")
            halve = conv(c_deep, c, 3, padding=1, bias=False, padding_mode=padding_mode)
            self.up.append(nn.Sequential(resample, halve))
            self.expand.append(_conv_block(spatial_dims, 2 * c, c, demodulate, norm, demod_gain, padding_mode))
        c0 = channels[0]
        self.head = nn.Sequential(
            conv(c0, c0, 3, padding=1, bias=False, padding_mode=padding_mode),
            nn.ReLU(inplace=True),
            conv(c0, out_channels, 1),
        )
        self.output_act: str = output_act.value
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
            h = block(torch.cat([skips[n - 2 - i], up(h)], dim=1))
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
    """A STABLE generator: ``decoder(encoder(x))``, or ``x + decoder(encoder(x))`` with ``residual`` (same channels
    in and out); :meth:`encode` exposes the information features and :meth:`decode` maps them back.

    Args:
        encoder: image -> information features.
        decoder: information features -> image (or, with ``residual``, the change to add to the input).
        residual: add the input to the decoder's output. A network learns the identity slowly (measured on W2S,
            ``scripts/benchmark.py identity``: the 3-level STABLE generator reproduces its input at about 18 dB
            after 100 L1 iterations, 25 dB after 1,000), so a plain generator starts as a blur; a residual one
            whose decoder head is zeroed (:func:`zero_head`) starts
            as the exact identity and keeps the input's edges while it learns the translation.

    Shapes:
        ``(N, C_in, *S)`` -> ``(N, C_out, *S)``.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, residual: bool = False):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.residual = bool(residual)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, info: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The translation of ``x`` from its information features ``info = encode(x)``."""
        out = self.decoder(info)
        return x + out if self.residual else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encoder(x), x)


def zero_head(unet: StableUNet) -> None:
    """Zero the last (1x1) convolution of ``unet``, so that it outputs 0 at initialisation."""
    last = unet.head[-1]
    nn.init.zeros_(last.weight)
    if last.bias is not None:
        nn.init.zeros_(last.bias)
