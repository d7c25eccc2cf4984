"""Networks of the seed methods: generators, discriminators and their building blocks."""

from common.networks.absn import BidirectionalSpectralNorm, absn_sigmas, apply_absn, reestimate_absn, remove_absn
from common.networks.attention import ChannelAttention, ChannelSpatialAttention, SpatialAttention
from common.networks.demod_conv import DemodulatedConv, demodulate
from common.networks.discriminators import (
    MultiScaleDiscriminator,
    final_output,
    lsgan_discriminator,
    patchgan,
    stacked_domain_discriminator,
)
from common.networks.error_head import DEFAULT_ERROR_HEAD_FEATURES, ErrorHead
from common.networks.resnet_generator import ResnetBlock, ResnetGenerator
from common.networks.stable_unet import EncoderDecoder, StableUNet
from common.networks.ui2i import ContentDiscriminator, make_ui2i_generators
from common.networks.unet_generator import UNetGenerator

__all__ = [
    "BidirectionalSpectralNorm",
    "ChannelAttention",
    "ChannelSpatialAttention",
    "ContentDiscriminator",
    "DemodulatedConv",
    "DEFAULT_ERROR_HEAD_FEATURES",
    "EncoderDecoder",
    "ErrorHead",
    "MultiScaleDiscriminator",
    "ResnetBlock",
    "ResnetGenerator",
    "SpatialAttention",
    "StableUNet",
    "UNetGenerator",
    "absn_sigmas",
    "apply_absn",
    "demodulate",
    "final_output",
    "lsgan_discriminator",
    "make_ui2i_generators",
    "patchgan",
    "reestimate_absn",
    "remove_absn",
    "stacked_domain_discriminator",
]
