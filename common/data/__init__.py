"""Unpaired data: dataset layout, up-front checks, random slicing, and the A/B training dataset."""

from common.data.channels import FLUORESCENCE_TO_RGB, MixChannelsd, input_channels, mix_channels
from common.data.checks import check_domain
from common.data.layout import (
    SPLITS,
    PairedItem,
    image_stem,
    list_images,
    paired_items,
    paired_test_items,
    resolve_files,
)
from common.data.normalization import NORMALIZATIONS, Normalization
from common.data.pipeline import domain_transforms, make_unpaired_dataset, normalization_transform
from common.data.slicing import RandSliced, axes_to_slice, take_slice
from common.data.stream import StreamSampler
from common.data.unpaired import UnpairedDataset

__all__ = [
    "FLUORESCENCE_TO_RGB",
    "MixChannelsd",
    "input_channels",
    "mix_channels",
    "NORMALIZATIONS",
    "Normalization",
    "PairedItem",
    "RandSliced",
    "SPLITS",
    "StreamSampler",
    "UnpairedDataset",
    "axes_to_slice",
    "check_domain",
    "domain_transforms",
    "image_stem",
    "list_images",
    "make_unpaired_dataset",
    "normalization_transform",
    "paired_items",
    "paired_test_items",
    "resolve_files",
    "take_slice",
]
