"""Translate one image with a trained A -> B generator: frame by frame / slice by slice, whole or in tiles.

Images with more spatial axes than the network (movies, z-stacks, volumes for a 2D network) are translated frame
by frame / slice by slice in batches (:func:`translate_image`); every 2D (or 3D) item is translated whole, or,
when larger than the tile (1024 px in 2D), through MONAI's ``SlidingWindowInferer`` with large Gaussian-blended
tiles (:class:`TileInferer`), so images come out without seams. Files are translated by
:func:`common.inference.files.translate_files`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from monai.inferers import Inferer, SlidingWindowInferer
from torch import nn

from common.data.normalization import Normalization
from common.data.slicing import axes_to_slice
from common.io.header import image_kind

__all__ = [
    "DEFAULT_TILE",
    "TileInferer",
    "blended_window",
    "translate_image",
    "output_path",
    "uncertainty_path",
    "UNCERTAINTY_DTYPE",
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
    *,
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


#: the storage type of uncertainty maps: a spread of a few grey levels would be rounded away in 8 bits
UNCERTAINTY_DTYPE = "float32"


def uncertainty_path(source: str | os.PathLike, uncertainty_dir: str | os.PathLike) -> Path:
    """Where the uncertainty map of ``source``'s translation goes: ``uncertainty_dir / basename(source)``, as a
    ``.tif`` where the source is a plain image (PNG, JPEG, ...: formats without floating-point pixels), since maps
    are stored as :data:`UNCERTAINTY_DTYPE`."""
    path = output_path(source, uncertainty_dir)
    return path.with_suffix(".tif") if image_kind(path) == "plain" else path
