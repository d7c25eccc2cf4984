"""Operators shared by the methods: padding, fixed and dynamic upsampling, DCT low-pass, image pool, schedules."""

from common.ops.dct import DCTLowPass, dct_lowpass, dct_matrix, high_frequency_fraction
from common.ops.dysample import DySample
from common.ops.image_pool import ImagePool
from common.ops.lanczos import LanczosUpsample, lanczos2_taps
from common.ops.padding import crop_to, pad_to_multiple
from common.ops.scale_augment import RandScaleAugment, rescale
from common.ops.schedules import ExponentialDecay, LinearDecay, SigmoidRamp, sigmoid_ramp

__all__ = [
    "DCTLowPass",
    "DySample",
    "ExponentialDecay",
    "ImagePool",
    "LanczosUpsample",
    "LinearDecay",
    "RandScaleAugment",
    "SigmoidRamp",
    "crop_to",
    "dct_lowpass",
    "dct_matrix",
    "high_frequency_fraction",
    "lanczos2_taps",
    "pad_to_multiple",
    "rescale",
    "sigmoid_ramp",
]
