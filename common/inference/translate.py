"""Translate whole files with a trained A -> B generator, keeping their geometry.

Each input is loaded with the project's readers and normalised as in training; images with more spatial axes
than the network (movies, z-stacks, volumes for a 2D network) are translated frame by frame / slice by slice in
batches; every 2D (or 3D) item is translated whole, or, when larger than the tile (1024 px in 2D), through MONAI's
``SlidingWindowInferer`` with large Gaussian-blended tiles (:class:`TileInferer`), so images come out without
seams. The result is written next to no input: into ``output_dir``, with the input's base name, format and
geometry (TIFF axes and pixel size, NIfTI affine), never over an existing file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from monai.inferers import Inferer, SlidingWindowInferer
from torch import nn

from common.data.channels import mix_channels
from common.data.layout import resolve_files
from common.data.normalization import Normalization
from common.data.slicing import axes_to_slice
from common.errors import InputDataError
from common.inference.ensemble import EnsembleTranslator, split_uncertainty
from common.inference.streaming import can_stream, translate_nifti_streaming, translate_tiff_streaming
from common.io.header import image_kind, read_header
from common.io.load import load_image
from common.io.write import write_image

__all__ = [
    "DEFAULT_TILE",
    "TileInferer",
    "blended_window",
    "translate_image",
    "translate_files",
    "output_path",
    "denormalize",
]


def denormalize(x: torch.Tensor, normalization: Mapping | None) -> torch.Tensor:
    """Map network output back to the units of the B domain where its normalisation is invertible
    (:meth:`~common.data.normalization.Normalization.inverse`: a fixed range exactly; a percentile normalisation
    leaves the output in the normalised units of training)."""
    return Normalization.from_config(normalization).inverse(x)


def translate_image(
    network: nn.Module,
    image: torch.Tensor,
    spatial_dims: int = 2,
    inferer: Inferer | None = None,
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    slice_axis: int | None = None,
) -> torch.Tensor:
    """Translate a channel-first image ``(C, *S)`` -> ``(C_out, *S)`` frame/slice by slice in batches.

    Args:
        network: the generator (eval mode is set by the caller).
        image: normalised input; a ``MetaTensor``'s ``spatial_axes`` tells which axes are frames/slices.
        spatial_dims: the network's dimensionality.
        inferer: MONAI inferer (default: the whole item at once).
        batch_size: frames/slices per forward pass.
        device: where to run.
        slice_axis: NIfTI slice axis (see :func:`~common.data.slicing.axes_to_slice`).
    """
    inferer = inferer or SlidingWindowInferer(roi_size=[-1] * spatial_dims, sw_batch_size=1)
    axes = axes_to_slice(image, spatial_dims, slice_axis)
    data = image.as_tensor() if hasattr(image, "as_tensor") else torch.as_tensor(image)
    if not axes:
        with torch.no_grad():
            return inferer(data.unsqueeze(0).to(device), network)[0].cpu()
    # move the frame/slice axes right after the channel axis, flatten them into one, translate in batches
    order = [0] + [a + 1 for a in axes] + [i for i in range(1, data.ndim) if i - 1 not in axes]
    moved = data.permute(order)
    frame_shape = moved.shape[1 : 1 + len(axes)]
    stack = moved.reshape((data.shape[0], -1) + tuple(moved.shape[1 + len(axes) :])).transpose(0, 1)
    outputs = []
    with torch.no_grad():
        for start in range(0, stack.shape[0], batch_size):
            outputs.append(inferer(stack[start : start + batch_size].to(device), network).cpu())
    out = torch.cat(outputs).transpose(0, 1)  # (C_out, N, *plane)
    out = out.reshape((out.shape[0],) + tuple(frame_shape) + tuple(out.shape[2:]))
    inverse = list(np.argsort(order))
    return out.permute(inverse)


class TileInferer(Inferer):
    """Whole images when they fit in one ``tile``, else overlapping Gaussian-blended tiles of ``tile`` pixels.

    A fully convolutional translator gives the same output for a pixel wherever the image is cut only where the
    cut is farther than its receptive field: tiles the size of the training patch (96-256 px) are not, and their
    blend showed a grid of seams. So images are translated whole up to ``tile`` pixels per axis (the default, 1024
    in 2D, fits a 2D image in a few hundred MB), and larger ones in tiles of that size with ``overlap`` 0.5, where
    the Gaussian weights keep each tile's border out of the result. Inputs of any size, down to one pixel, work:
    an image smaller than ``min_size`` on an axis is padded (edge values repeated) to it, translated, and cropped
    back, as networks with instance norms or reflection padding cannot run on a few pixels.

    Args:
        spatial_dims: 2 or 3.
        tile: tile size per axis (one int or ``spatial_dims`` values); ``None``: always the whole image.
        sw_batch_size: tiles per forward pass.
        overlap: tile overlap (fraction of the tile).
        min_size: smallest size per axis the network is run on.
    """

    def __init__(
        self,
        spatial_dims: int,
        tile: int | Sequence[int] | None = None,
        sw_batch_size: int = 4,
        overlap: float = 0.5,
        min_size: int = 32,
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if tile is not None:
            tile = [int(tile)] * spatial_dims if isinstance(tile, (int, float)) else [int(t) for t in tile]
            if len(tile) != spatial_dims or min(tile) < 1:
                raise ValueError(f"tile must be {spatial_dims} positive sizes, got {tile}")
        if not 0 <= overlap < 1:
            raise ValueError(f"overlap must be in [0, 1), got {overlap}")
        self.spatial_dims, self.tile, self.sw_batch_size, self.overlap = spatial_dims, tile, sw_batch_size, overlap
        self.min_size = int(min_size)

    def __call__(self, inputs: torch.Tensor, network: nn.Module, *args, **kwargs) -> torch.Tensor:
        sizes = list(inputs.shape[2:])
        if min(sizes) < self.min_size:
            pads: list[int] = []
            for s in reversed(sizes):  # F.pad lists the last axis first
                pads += [0, max(0, self.min_size - s)]
            padded = torch.nn.functional.pad(inputs, pads, mode="replicate")
            out = self(padded, network)
            return out[(slice(None), slice(None)) + tuple(slice(0, s) for s in sizes)]
        if self.tile is None or all(s <= t for s, t in zip(sizes, self.tile, strict=True)):
            return network(inputs)
        window = SlidingWindowInferer(
            roi_size=[min(s, t) for s, t in zip(sizes, self.tile, strict=True)],
            sw_batch_size=self.sw_batch_size,
            overlap=self.overlap,
            mode="gaussian",
            padding_mode="reflect",
        )
        return window(inputs, network)


#: tile of whole-image inference per dimensionality (larger images go in tiles of this size)
DEFAULT_TILE = {2: 1024, 3: 128}


def blended_window(
    spatial_dims: int, roi_size: Sequence[int] | int | None = None, sw_batch_size: int = 4, overlap: float = 0.5
) -> TileInferer:
    """The tiling of every translation (:class:`TileInferer`): whole images up to ``roi_size`` per axis (default
    :data:`DEFAULT_TILE`), Gaussian-blended tiles of that size beyond."""
    tile = roi_size if roi_size is not None else DEFAULT_TILE[spatial_dims]
    return TileInferer(spatial_dims, tile, sw_batch_size, overlap)


def output_path(source: str | os.PathLike, output_dir: str | os.PathLike) -> Path:
    """``output_dir / basename(source)``."""
    return Path(output_dir) / Path(source).name


def translate_files(
    network: nn.Module,
    inputs: str | os.PathLike | Sequence[str],
    output_dir: str | os.PathLike,
    normalization: Mapping | None = None,
    spatial_dims: int = 2,
    roi_size: Sequence[int] | None = None,
    sw_batch_size: int = 4,
    overlap: float = 0.5,
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    axes: str | None = None,
    output_dtype: str | None = "float32",
    slice_axis: int | None = None,
    overwrite: bool = False,
    output_normalization: Mapping | None = None,
    channel_mix: Sequence[Sequence[float]] | None = None,
    channels: int | None = None,
    stream_above_bytes: int = 2 * 1024**3,
    uncertainty_dir: str | os.PathLike | None = None,
) -> list[Path]:
    """Translate every image of ``inputs`` (folder, glob or list) into ``output_dir``.

    Args:
        network: the A -> B generator (moved to ``device`` and set to eval mode here).
        inputs: image files.
        output_dir: destination folder; must not be an input's folder.
        normalization: the A-domain normalisation used in training.
        spatial_dims: network dimensionality.
        roi_size: tile size: images up to this size per axis are translated whole, larger ones in tiles of it
            (default :data:`DEFAULT_TILE`).
        sw_batch_size: tiles per forward pass; ``overlap``: tile overlap (Gaussian-blended).
        batch_size: frames/slices per batch.
        axes: TIFF axes override of the inputs.
        output_dtype: stored dtype (default float32; the translation is in normalised units); ``None``: the
            network's output dtype.
        slice_axis: NIfTI slice axis for 2D networks.
        overwrite: replace existing outputs.
        output_normalization: the B-domain normalisation of training, inverted where possible
            (:func:`denormalize`): RGB outputs come back as 0..255.
        channel_mix: the A-domain channel mixing of training.
        channels: the network's input channels; inputs with another count are refused before anything is written.
        stream_above_bytes: TIFF movies/stacks and NIfTI volumes (2D networks) whose pixel data exceed this are
            translated page by page / slice by slice (:mod:`common.inference.streaming`) instead of loaded whole.
        uncertainty_dir: with an :class:`~common.inference.ensemble.EnsembleTranslator` as ``network``: the mean
            over its passes goes to ``output_dir`` and the per-pixel spread (standard deviation over passes, in
            the translation's units, format and geometry) to this folder under the same name. Streamed inputs
            are translated twice (once per output), so they take twice the time.

    Returns:
        the written files (translations, then uncertainty maps).

    Raises:
        InputDataError: an unreadable input, or ``output_dir`` being an input's folder.
        FileExistsError: an output exists and ``overwrite`` is False (checked before anything is written).
    """
    files = resolve_files(inputs, name="inputs")
    ensemble = uncertainty_dir is not None
    if ensemble and not isinstance(network, EnsembleTranslator):
        raise ValueError("uncertainty_dir needs an EnsembleTranslator as network (mean and spread of its passes)")
    expected = len(channel_mix[0]) if channel_mix is not None else channels
    stream = set()
    for f in files:  # every input readable, with the right channels, before anything is written
        header = read_header(f, axes=axes)
        if spatial_dims == 2 and header.nbytes > stream_above_bytes and slice_axis in (None, 2, -1):
            if (header.kind == "tiff" and can_stream(f, axes)) or header.kind == "nifti":
                stream.add(f)
        if expected is not None and header.channels != int(expected):
            raise InputDataError(f, f"image has {header.channels} channel(s), the model takes {int(expected)}")
    out_dir = Path(output_dir).resolve()
    spread_dir = Path(uncertainty_dir).resolve() if ensemble else None
    for f in files:
        for folder in (out_dir, spread_dir):
            if folder is not None and Path(f).resolve().parent == folder:
                raise InputDataError(folder, "the output folder holds the inputs; choose another one")
    if spread_dir == out_dir:
        raise InputDataError(out_dir, "the uncertainty maps need a folder of their own (same names as translations)")
    targets = [output_path(f, out_dir) for f in files]
    spread_targets = [output_path(f, spread_dir) for f in files] if ensemble else [None] * len(files)
    if not overwrite:
        existing = [t for t in targets + spread_targets if t is not None and t.exists()]
        if existing:
            raise FileExistsError(f"{existing[0]}: already exists; refusing to overwrite ({len(existing)} such)")
    inferer = blended_window(spatial_dims, roi_size, sw_batch_size, overlap)
    network = network.to(device).eval()
    normalise = Normalization.from_config(normalization).transform("image")
    written: list[Path] = []
    spread_written: list[Path] = []
    output_norm = Normalization.from_config(output_normalization)
    spread_norm = output_norm.spread()
    try:
        for source, target, spread_target in zip(files, targets, spread_targets, strict=True):
            if source in stream and (image_kind(source) == "tiff" or channel_mix is None):
                passes = [(network, target, output_norm)]
                if ensemble:
                    passes = [(_Half(network, 0), target, output_norm), (_Half(network, 1), spread_target, spread_norm)]
                for net, path, norm in passes:
                    _translate_streaming(
                        net, source, path, normalization, inferer, batch_size, device, axes, output_dtype,
                        norm.as_dict(), channel_mix, overwrite,
                    )  # fmt: skip
                    (spread_written if path == spread_target else written).append(path)
                continue
            image = normalise({"image": load_image(source, axes=axes)})["image"]
            if channel_mix is not None:
                image = mix_channels(image, channel_mix)
            result = translate_image(network, image, spatial_dims, inferer, batch_size, device, slice_axis)
            if ensemble:
                mean, spread = split_uncertainty(result)
                outputs = [(target, output_norm.inverse(mean)), (spread_target, spread_norm.inverse(spread))]
            else:
                outputs = [(target, output_norm.inverse(result))]
            for path, data in outputs:
                dtype = output_dtype
                if image_kind(path) == "plain":  # PNG holds 8 bits
                    if output_norm.mode != "range":  # 0..1 to 8 bits
                        data = data.clamp(0, 1) * 255
                    dtype = "uint8"
                write_image(path, data, meta=dict(image.meta), dtype=dtype, overwrite=overwrite)
                (spread_written if path == spread_target else written).append(path)
    except BaseException:
        for path in written + spread_written:  # no partial output: this call's files go, the folder is as it was
            path.unlink(missing_ok=True)
        raise
    return written + spread_written


class _Half(nn.Module):
    """One half (0: mean, 1: spread) of an ensemble's output, for the streamed paths that write one file."""

    def __init__(self, ensemble: nn.Module, half: int):
        super().__init__()
        self.ensemble, self.half = ensemble, int(half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return split_uncertainty(self.ensemble(x), channel_dim=1)[self.half]


def _translate_streaming(
    network, source, target, normalization, inferer, batch_size, device, axes, output_dtype, output_norm,
    channel_mix, overwrite,
) -> None:  # fmt: skip
    if image_kind(source) == "nifti":
        translate_nifti_streaming(
            network, source, target, normalization, inferer, batch_size, device, output_dtype or "float32",
            output_norm, overwrite=overwrite,
        )  # fmt: skip
    else:
        translate_tiff_streaming(
            network, source, target, normalization, inferer, batch_size, device, axes, output_dtype or "float32",
            output_norm, channel_mix, overwrite=overwrite,
        )  # fmt: skip
