"""The pre- and post-processing of a translation as MONAI transform chains: the bundles' ``preprocessing`` and
``postprocessing`` config ids, read by MONAI Label and MONAI Deploy (``translate_files`` applies the same steps)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monai.transforms import Compose, Lambdad

from common.data.channels import MixChannelsd
from common.data.pipeline import normalization_transform
from common.inference.translate import denormalize
from common.io.load import image_loaderd

__all__ = ["preprocessing", "postprocessing"]


def preprocessing(
    normalization: Mapping | None = None,
    axes: str | None = None,
    channel_mix: Sequence[Sequence[float]] | None = None,
    keys: str = "image",
) -> Compose:
    """``{"image": path}`` -> normalised channel-first ``MetaTensor``: a MONAI ``LoadImaged`` with the project's
    readers (MONAI Label swaps it for its own loader wrapper), the A-domain normalisation of training and its
    optional channel mixing."""
    steps = [image_loaderd(keys, axes=axes), normalization_transform(keys, **dict(normalization or {}))]
    if channel_mix is not None:
        steps.append(MixChannelsd(keys, channel_mix))
    return Compose(steps)


def postprocessing(normalization: Mapping | None = None, keys: str = "pred") -> Compose:
    """Map the translation back to B's units where B's normalisation is invertible
    (:func:`~common.inference.translate.denormalize`): a fixed-range domain (8-bit RGB) comes back within its range
    (0..255), as the bundle's inference writes it."""
    norm = dict(normalization or {})
    if norm.get("mode") == "range":
        low, high = float(norm.get("a_min", 0.0)), float(norm.get("a_max", 255.0))
        return Compose([Lambdad(keys, lambda x: denormalize(x, norm).clamp(low, high))])
    return Compose([Lambdad(keys, lambda x: denormalize(x, norm))])
