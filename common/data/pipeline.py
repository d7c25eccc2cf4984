"""Build the unpaired training data from a dataset folder or file lists, with MONAI datasets and transforms.

Per domain: load (TIFF/NIfTI/PNG readers of :mod:`common.io`) -> channel checks -> intensity normalisation over
the whole image (so frames of a movie keep their relative brightness) -> cache -> random frame/slice
(:class:`RandSliced`) -> pad to the patch size when smaller -> random crop -> random 90-degree rotations and
flips in the image plane. Then :class:`UnpairedDataset` draws A and B independently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from monai.data import CacheDataset
from monai.transforms import (
    Compose,
    EnsureTyped,
    RandFlipd,
    RandRotate90d,
    RandSpatialCropd,
    RandZoomd,
    RepeatChanneld,
    SpatialPadd,
)

from common.data.channels import MixChannelsd
from common.data.checks import check_domain
from common.data.layout import list_images, resolve_files
from common.data.normalization import NORMALIZATIONS, Normalization
from common.data.slicing import RandSliced
from common.data.unpaired import UnpairedDataset
from common.errors import InputDataError, find_input_error
from common.io.load import LoadImageFiled

__all__ = ["NORMALIZATIONS", "domain_transforms", "normalization_transform", "make_unpaired_dataset"]


def normalization_transform(keys: str | Sequence[str] = "image", **normalization):
    """The MONAI transform of one domain's intensity normalisation (:class:`~common.data.normalization.Normalization`,
    whose keyword arguments these are).

    Raises:
        ValueError: an unknown mode, key or inconsistent bounds.
    """
    return Normalization.from_config(normalization).transform(keys)


def domain_transforms(
    patch_size: Sequence[int],
    spatial_dims: int = 2,
    *,
    normalization: Mapping | None = None,
    augment: bool = True,
    slice_axis: int | None = None,
    axes: str | None = None,
    gray_to_rgb: bool = False,
    plane_axes: tuple[int, int] | None = None,
    channel_mix: Sequence[Sequence[float]] | None = None,
    scale_range: Sequence[float] | None = None,
    keys: str = "image",
) -> Compose:
    """Transforms turning ``{"image": path}`` into a random normalised patch ``(C, *patch_size)``.

    Args:
        patch_size: patch size, ``spatial_dims`` values.
        spatial_dims: 2 (frames/slices of stacks and movies) or 3 (sub-volumes).
        normalization: a :class:`~common.data.normalization.Normalization` or its keyword arguments (default
            percentile 0.1/99.9 to 0..1).
        augment: random 90-degree rotations and flips in the image plane (the last two axes).
        slice_axis: slice axis for NIfTI volumes in 2D (see :func:`~common.data.slicing.axes_to_slice`).
        axes: TIFF axes override.
        gray_to_rgb: repeat a single channel three times (grayscale tiles in an RGB domain).
        plane_axes: the two image-plane axes of 3D patches, for rotations and flips (default the last two, as in
            TIFF ``Z Y X``; NIfTI ``X Y Z`` volumes use ``(0, 1)``). 90-degree rotations are used only when the
            patch is square in that plane; flips of both axes still give the 180-degree rotation.
        channel_mix: a matrix mixing the normalised channels into new ones (rows = output channels), e.g.
            :data:`~common.data.channels.FLUORESCENCE_TO_RGB`.
        scale_range: ``(low, high)``: rescale each sampled frame, slice or volume by a random factor in this range
            (bilinear / trilinear, the same factor on every spatial axis) before the patch is cut, so that a model
            meets its structures at other pixel sizes than its training data's; ``None``: no rescaling.
    """
    patch = tuple(int(p) for p in patch_size)
    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
    if len(patch) != spatial_dims or min(patch) < 1:
        raise ValueError(f"patch_size must have {spatial_dims} positive values, got {patch_size}")
    norm = Normalization.from_config(normalization)
    pad_value = norm.b_min
    zoom = []
    if scale_range is not None:
        low, high = (float(v) for v in scale_range)
        if not 0 < low <= high:
            raise ValueError(f"scale_range must be (low, high) with 0 < low <= high, got {scale_range}")
        mode = "bilinear" if spatial_dims == 2 else "trilinear"
        zoom = [RandZoomd(keys, prob=1.0, min_zoom=low, max_zoom=high, mode=mode, keep_size=False)]
    steps: list = [LoadImageFiled(keys, axes=axes)]
    if gray_to_rgb:
        steps.append(_GrayToRGBd(keys))
    steps += [
        norm.transform(keys),
        *([MixChannelsd(keys, channel_mix)] if channel_mix is not None else []),
        RandSliced(keys, spatial_dims=spatial_dims, slice_axis=slice_axis),
        *zoom,
        SpatialPadd(keys, spatial_size=patch, mode="constant", value=pad_value),
        RandSpatialCropd(keys, roi_size=patch, random_size=False),
    ]
    if augment:
        plane = tuple(plane_axes) if plane_axes is not None else (spatial_dims - 2, spatial_dims - 1)
        if len(plane) != 2 or len(set(plane)) != 2 or not all(0 <= p < spatial_dims for p in plane):
            raise ValueError(f"plane_axes must be two distinct axes below {spatial_dims}, got {plane_axes}")
        if patch[plane[0]] == patch[plane[1]]:  # a quarter turn keeps the patch shape only when square
            steps.append(RandRotate90d(keys, prob=0.75, max_k=3, spatial_axes=plane))  # k = 0..3 equally likely
        steps += [RandFlipd(keys, prob=0.5, spatial_axis=plane[0]), RandFlipd(keys, prob=0.5, spatial_axis=plane[1])]
    steps.append(EnsureTyped(keys, track_meta=True))
    return Compose(steps)


class _GrayToRGBd(RepeatChanneld):
    """Repeat single-channel images to three channels; leave others unchanged."""

    def __init__(self, keys):
        super().__init__(keys, repeats=3)

    def __call__(self, data):
        d = dict(data)
        for key in self.key_iterator(d):
            if d[key].shape[0] == 1:
                d[key] = self.repeater(d[key])
        return d


def make_unpaired_dataset(
    dataset_dir: str | os.PathLike | None = None,
    *,
    files_a: str | Sequence[str] | None = None,
    files_b: str | Sequence[str] | None = None,
    patch_size: Sequence[int] = (256, 256),
    spatial_dims: int = 2,
    channels_a: int | None = None,
    channels_b: int | None = None,
    normalization_a: Mapping | None = None,
    normalization_b: Mapping | None = None,
    augment: bool = True,
    slice_axis: int | None = None,
    axes_a: str | None = None,
    axes_b: str | None = None,
    gray_to_rgb: bool = False,
    length: int | None = None,
    cache_rate: float = 1.0,
    num_workers: int = 0,
    split: str = "train",
    seed: int | None = None,
    channel_mix_a: Sequence[Sequence[float]] | None = None,
    scale_range: Sequence[float] | None = None,
) -> UnpairedDataset:
    """The unpaired training dataset of a task, checked before anything is loaded.

    Give either ``dataset_dir`` (using ``{split}A`` and ``{split}B``) or ``files_a`` and ``files_b`` (folders,
    glob patterns or lists of files; they override the folders).

    Args:
        dataset_dir: folder with the ``trainA/trainB/testA/testB`` layout.
        files_a, files_b: explicit domain files.
        patch_size: patch size per item.
        spatial_dims: 2 or 3.
        channels_a, channels_b: channel counts the task needs (``None``: any, consistent within the domain).
        normalization_a, normalization_b: see :class:`~common.data.normalization.Normalization`.
        augment: random rotations/flips.
        slice_axis: NIfTI slice axis for 2D.
        axes_a, axes_b: TIFF axes overrides.
        gray_to_rgb: accept and repeat single-channel images in 3-channel domains.
        length: samples per epoch (default: the larger domain's file count).
        cache_rate: share of each domain's normalised images kept in memory (MONAI ``CacheDataset``).
        num_workers: threads used to fill the cache.
        split: ``"train"`` or ``"test"`` folders of ``dataset_dir``.
        seed: make every item a pure function of ``(seed, index)`` (exact resumption; see ``UnpairedDataset``).
        channel_mix_a: mix domain A's channels after normalisation (``channels_a`` counts the file's channels).
        scale_range: random rescaling of both domains' frames before cropping (see :func:`domain_transforms`).

    Raises:
        InputDataError: a missing/empty folder, an unreadable file, wrong or mixed channel counts, NaN/Inf values;
            the message names the file.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if files_a is None or files_b is None:
        if dataset_dir is None:
            raise ValueError("give dataset_dir or both files_a and files_b")
        root = Path(dataset_dir)
        files_a = list_images(root / f"{split}A") if files_a is None else files_a
        files_b = list_images(root / f"{split}B") if files_b is None else files_b
    domains = {}
    for name, spec, channels, norm, axes, mix in (
        ("A", files_a, channels_a, normalization_a, axes_a, channel_mix_a),
        ("B", files_b, channels_b, normalization_b, axes_b, None),
    ):
        files = resolve_files(spec, name=f"domain {name}")
        headers = check_domain(
            files,
            f"domain {name}",
            channels=channels,
            spatial_dims=spatial_dims,
            axes=axes,
            allow_gray_to_rgb=gray_to_rgb,
        )
        plane = _plane_axes(headers, spatial_dims)
        transform = domain_transforms(
            patch_size,
            spatial_dims,
            normalization=norm,
            augment=augment,
            slice_axis=slice_axis,
            axes=axes,
            gray_to_rgb=gray_to_rgb,
            plane_axes=plane,
            channel_mix=mix,
            scale_range=scale_range,
        )
        domains[name] = _cached_domain(files, transform, cache_rate, num_workers)
    return UnpairedDataset(domains["A"], domains["B"], length=length, seed=seed)


def _plane_axes(headers: Sequence, spatial_dims: int) -> tuple[int, int]:
    """Image-plane axes of a domain's patches: TIFF/PNG ``... Y X`` -> the last two, NIfTI ``X Y Z`` -> (0, 1)."""
    if spatial_dims == 2:
        return (0, 1)
    planes = {(0, 1) if h.kind == "nifti" else (spatial_dims - 2, spatial_dims - 1) for h in headers}
    if len(planes) > 1:
        raise InputDataError(headers[0].path, "a domain mixes NIfTI and TIFF volumes, whose axis orders differ")
    return planes.pop()


def _cached_domain(files: list[str], transform: Compose, cache_rate: float, num_workers: int) -> CacheDataset:
    """Cache the deterministic head of ``transform``; raise the loader's one-line error on bad files."""
    data = [{"image": f} for f in files]
    try:
        dataset = CacheDataset(data, transform, cache_rate=cache_rate, num_workers=num_workers, progress=False)
    except Exception as e:  # MONAI wraps transform errors in RuntimeError; surface the InputDataError inside
        raise (find_input_error(e) or e) from None
    return dataset
