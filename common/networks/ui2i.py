"""Ui2i's generator pair (U-Nets without feature normalisation, ABSN on every weight, channel-spatial attention
in the encoder, Lanczos upsampling, one bottleneck shared by both directions) and its content discriminator."""

from __future__ import annotations

from monai.networks.layers.factories import Conv
from torch import nn

from common.networks.absn import apply_absn
from common.networks.unet_generator import UNetGenerator, double_conv

__all__ = ["make_ui2i_generators", "ContentDiscriminator"]


def make_ui2i_generators(
    spatial_dims: int = 2,
    channels_a: int = 3,
    channels_b: int = 3,
    features: tuple[int, ...] = (64, 128, 256, 512),
    *,
    output_act: str | None = "tanh",
    absn: bool = True,
    attention: bool = True,
    padding_mode: str = "replicate",
) -> tuple[UNetGenerator, UNetGenerator]:
    """``(G_AB, G_BA)`` sharing one bottleneck module (and so its weights); ``padding_mode`` pads every convolution's
    border (replicated edges by default: zero padding drew a dark frame around brightfield translations)."""
    shared = double_conv(spatial_dims, features[-2], features[-1], None, 0.2, padding_mode)
    generators = []
    for c_in, c_out in ((channels_a, channels_b), (channels_b, channels_a)):
        g = UNetGenerator(
            spatial_dims,
            c_in,
            c_out,
            features,
            norm=None,
            upsample="lanczos",
            attention=attention,
            output_act=output_act,
            bottleneck=shared,
            padding_mode=padding_mode,
        )
        generators.append(apply_absn(g) if absn else g)
    return generators[0], generators[1]


class ContentDiscriminator(nn.Module):
    """Classify bottleneck features by domain (one logit map; A vs B) so that generators learn domain-invariant
    content. Two stride-2 3x3 convolutions and a 1x1 convolution, LeakyReLU, ABSN.

    Shapes:
        ``(N, C, *S)`` -> ``(N, 1, *S / 4)``.
    """

    def __init__(self, spatial_dims: int, channels: int, hidden: int = 256, absn: bool = True):
        super().__init__()
        conv = Conv[Conv.CONV, spatial_dims]
        self.net = nn.Sequential(
            conv(channels, hidden, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            conv(hidden, hidden, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            conv(hidden, 1, 1),
        )
        if absn:
            apply_absn(self)

    def forward(self, z):
        return self.net(z)
