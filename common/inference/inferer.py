"""A MONAI ``Inferer`` translating batched images frame by frame / slice by slice with Gaussian-blended tiles:
what the bundles' ``inferer`` config id holds, for MONAI Label and MONAI Deploy, which call
``inferer(inputs, network)`` on a batch of preprocessed images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from monai.data import MetaTensor
from monai.inferers import Inferer
from torch import nn

from common.inference.translate import blended_window, translate_image

__all__ = ["FrameInferer", "Tiling"]


@dataclass(frozen=True)
class Tiling:
    """How inputs are cut for the network, as options that travel together.

    Args:
        roi_size: tile size: frames up to it are translated whole, larger ones in Gaussian-blended tiles of it
            (``None``: the default tile, 1024 px in 2D).
        sw_batch_size: tiles per forward pass.
        overlap: tile overlap.
        batch_size: frames/slices per batch.
        slice_axis: NIfTI slice axis override for 2D networks.
        stream_above_bytes: TIFF movies/stacks and NIfTI volumes (2D networks) whose pixel data exceed this are
            translated page by page / slice by slice instead of loaded whole.
    """

    roi_size: Sequence[int] | int | None = None
    sw_batch_size: int = 4
    overlap: float = 0.5
    batch_size: int = 8
    slice_axis: int | None = None
    stream_above_bytes: int = 2 * 1024**3

    def __post_init__(self):
        if int(self.batch_size) < 1 or int(self.sw_batch_size) < 1:
            raise ValueError(f"batch sizes must be positive, got {self.batch_size} and {self.sw_batch_size}")
        if not 0 <= float(self.overlap) < 1:
            raise ValueError(f"overlap must be in [0, 1), got {self.overlap}")

    def inferer(self, spatial_dims: int) -> FrameInferer:
        """The :class:`FrameInferer` of these options for a ``spatial_dims``-D network."""
        return FrameInferer(
            spatial_dims, self.roi_size, self.sw_batch_size, self.overlap, self.batch_size, self.slice_axis
        )


class FrameInferer(Inferer):
    """Translate ``(B, C, *S)`` -> ``(B, C_out, *S)``: items with more spatial axes than the network (movies,
    stacks, volumes for a 2D network) go frame/slice by frame/slice in batches (which axes, from a
    ``MetaTensor``'s ``spatial_axes``, as in :func:`~common.inference.translate.translate_image`), each frame
    whole or, beyond ``roi_size``, in Gaussian-blended tiles (:class:`~common.inference.translate.TileInferer`).

    Args:
        spatial_dims: the network's dimensionality.
        roi_size: tile size: frames up to it are translated whole, larger ones in tiles of it (``None``: the
            default tile, 1024 px in 2D).
        sw_batch_size: tiles per forward pass.
        overlap: tile overlap.
        batch_size: frames/slices per batch.
        slice_axis: NIfTI slice axis override.
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        roi_size: Sequence[int] | int | None = None,
        sw_batch_size: int = 4,
        overlap: float = 0.5,
        batch_size: int = 8,
        slice_axis: int | None = None,
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if isinstance(roi_size, (int, float)):
            roi_size = [int(roi_size)] * spatial_dims
        if roi_size is not None and len(roi_size) != spatial_dims:
            raise ValueError(f"roi_size must have {spatial_dims} values, got {roi_size}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.spatial_dims, self.batch_size, self.slice_axis = spatial_dims, int(batch_size), slice_axis
        self.window = blended_window(spatial_dims, roi_size, sw_batch_size, overlap)

    def __call__(self, inputs: torch.Tensor, network: nn.Module, *args, **kwargs) -> torch.Tensor:
        if inputs.ndim < self.spatial_dims + 2:
            raise ValueError(
                f"inputs must be (B, C, *spatial) with at least {self.spatial_dims} spatial axes, "
                f"got {tuple(inputs.shape)}"
            )
        outputs = []
        for b in range(inputs.shape[0]):
            item = inputs[b]
            if isinstance(inputs, MetaTensor) and not isinstance(item, MetaTensor):
                item = MetaTensor(item, meta=dict(inputs.meta))
            outputs.append(
                translate_image(
                    network,
                    item,
                    self.spatial_dims,
                    inferer=self.window,
                    batch_size=self.batch_size,
                    device=inputs.device,
                    slice_axis=self.slice_axis,
                ).to(inputs.device)
            )
        return torch.stack(outputs)
