"""The pre- and post-processing of a translation as MONAI transform chains: the bundles' ``preprocessing`` and
``postprocessing`` config ids, read by MONAI Label and MONAI Deploy, and applied by ``translate_files``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monai.transforms import Compose, Lambdad

from common.data.channels import MixChannelsd
from common.data.normalization import Normalization
from common.io.load import LoadImageFiled

__all__ = ["preprocessing", "postprocessing"]


def preprocessing(
    normalization: Mapping | None = None,
    axes: str | None = None,
    channel_mix: Sequence[Sequence[float]] | None = None,
    keys: str = "image",
    *,
    spec: Mapping | None = None,
) -> Compose:
    """``{"image": path}`` -> normalised channel-first ``MetaTensor``: a MONAI ``LoadImaged`` with the project's
    readers and one-line errors naming a bad file (MONAI Label swaps it for its own loader wrapper), the A-domain
    normalisation of training and its optional channel mixing.

    ``spec`` (a :class:`~common.methods.ModelSpec` or ``model.json``'s mapping) gives what is not given: its
    ``normalization_a``, ``axes_a`` and ``channel_mix_a``."""
    if spec is not None:
        normalization = normalization if normalization is not None else spec.get("normalization_a")
        axes = axes if axes is not None else spec.get("axes_a")
        channel_mix = channel_mix if channel_mix is not None else spec.get("channel_mix_a")
    steps = [LoadImageFiled(keys, axes=axes), Normalization.from_config(normalization).transform(keys)]
    if channel_mix is not None:
        steps.append(MixChannelsd(keys, channel_mix))
    return Compose(steps)


def postprocessing(normalization: Mapping | None = None, keys: str = "pred", *, spec: Mapping | None = None) -> Compose:
    """Map the translation back to B's units where B's normalisation is invertible
    (:meth:`~common.data.normalization.Normalization.inverse`): a fixed-range domain (8-bit RGB) comes back
    within its range (0..255), as the bundle's inference writes it. ``spec`` gives its ``normalization_b`` when
    ``normalization`` is not given."""
    if spec is not None and normalization is None:
        normalization = spec.get("normalization_b")
    norm = Normalization.from_config(normalization)
    if norm.mode == "range":
        return Compose([Lambdad(keys, lambda x: norm.inverse(x).clamp(norm.a_min, norm.a_max))])
    return Compose([Lambdad(keys, norm.inverse)])
