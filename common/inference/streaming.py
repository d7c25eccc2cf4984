"""Translate TIFF movies and stacks too large for memory: pages are read one frame at a time and the output is
written page by page, so memory holds a batch of frames, not the file.

Used by :func:`~common.inference.files.translate_files` for TIFF inputs whose pixel data exceed a size
threshold (2D networks, files whose stored axes end in ``Y X`` without RGB samples). Percentile normalisation is
estimated from up to ``sample_frames`` evenly spaced frames per channel (exact when the file has no more frames
than that); the result otherwise equals the in-memory path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import tifffile
import torch
from torch import nn

from common.data.normalization import Normalization
from common.io.atomic import atomic_path
from common.io.dtype import cast_to_dtype
from common.io.tiff_reader import _physical_sizes, read_tiff_header
from common.io.tiff_writer import IMAGEJ_DTYPES, imagej_options

__all__ = ["can_stream", "translate_nifti_streaming", "translate_tiff_streaming"]


def can_stream(path: str | os.PathLike, axes: str | None = None) -> bool:
    """Whether a TIFF can be translated page by page (stored axes over ``TZC`` then ``Y X``)."""
    shape, _, named = read_tiff_header(path, axes)
    return named.endswith("YX") and set(named[:-2]) <= set("TZC") and len(shape) == len(named)


def translate_tiff_streaming(
    network: nn.Module,
    source: str | os.PathLike,
    target: str | os.PathLike,
    *,
    normalization: Mapping | None = None,
    inferer=None,
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    axes: str | None = None,
    output_dtype: str | None = "float32",
    output_normalization: Mapping | None = None,
    channel_mix: Sequence[Sequence[float]] | None = None,
    sample_frames: int = 64,
    overwrite: bool = False,
) -> Path:
    """Translate one TIFF page by page into ``target`` (ImageJ TIFF, same axes order, pixel size and interval)."""
    from common.data.channels import mix_channels

    shape, _, named = read_tiff_header(source, axes)
    lead_axes, lead_shape = named[:-2], shape[:-2]
    channels = lead_shape[lead_axes.index("C")] if "C" in lead_axes else 1
    frame_axes = "".join(a for a in lead_axes if a != "C")
    frame_shape = tuple(n for a, n in zip(lead_axes, lead_shape, strict=True) if a != "C")
    n_frames = int(np.prod(frame_shape)) if frame_shape else 1

    with tifffile.TiffFile(source) as tif:
        sizes = _physical_sizes(tif)

        def page(frame: int, channel: int) -> np.ndarray:
            index = dict(zip(frame_axes, np.unravel_index(frame, frame_shape) if frame_shape else (), strict=True))
            index["C"] = channel
            key = int(np.ravel_multi_index([index[a] for a in lead_axes], lead_shape)) if lead_axes else 0
            return tif.asarray(key=key, series=0).astype(np.float32)

        picks = np.unique(np.linspace(0, n_frames - 1, min(sample_frames, n_frames)).round().astype(int))
        norm = Normalization.from_config(normalization)
        scales = norm.scalers([np.stack([page(f, c) for f in picks]) for c in range(channels)])

        def translated_frames() -> Iterator[np.ndarray]:
            for start in range(0, n_frames, batch_size):
                frames = []
                for f in range(start, min(n_frames, start + batch_size)):
                    image = torch.as_tensor(np.stack([scales[c](page(f, c)) for c in range(channels)]))
                    frames.append(mix_channels(image, channel_mix) if channel_mix is not None else image)
                with torch.no_grad():
                    out = inferer(torch.stack(frames).float().to(device), network).cpu()
                out = Normalization.from_config(output_normalization).inverse(out)
                for frame in out.numpy():
                    yield cast_to_dtype(frame, output_dtype)

        frames = translated_frames()
        head = next(frames)
        out_channels = head.shape[0]
        out_axes = "".join(a for a in "TZ" if a in frame_axes) + ("C" if out_channels > 1 else "") + "YX"
        ordered_frame_shape = tuple(frame_shape[frame_axes.index(a)] for a in "TZ" if a in frame_axes)
        out_shape = ordered_frame_shape + ((out_channels,) if out_channels > 1 else ()) + tuple(shape[-2:])
        if tuple(a for a in "TZ" if a in frame_axes) != tuple(frame_axes):
            raise ValueError(f"{source}: streaming needs frames stored in T, Z order; stored axes are {named}")

        def pages_out() -> Iterator[np.ndarray]:
            yield from head
            for frame in frames:
                yield from frame

        dtype = np.dtype(head.dtype)
        if dtype not in IMAGEJ_DTYPES:
            raise ValueError(f"streamed output must be uint8, uint16, int16 or float32, got {dtype}")
        with atomic_path(target, overwrite=overwrite) as tmp:
            tifffile.imwrite(tmp, data=pages_out(), shape=out_shape, dtype=dtype, **imagej_options(out_axes, sizes))
    return Path(target)


def translate_nifti_streaming(
    network: nn.Module,
    source: str | os.PathLike,
    target: str | os.PathLike,
    *,
    normalization: Mapping | None = None,
    inferer=None,
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    output_dtype: str | None = "float32",
    output_normalization: Mapping | None = None,
    sample_slices: int = 64,
    overwrite: bool = False,
) -> Path:
    """Translate a NIfTI volume slice by slice along its last spatial axis: slices are read through nibabel's
    lazy array proxy (memory-mapped for ``.nii``) and the output is assembled in a memory-mapped file, so memory
    holds a batch of slices. Percentiles come from up to ``sample_slices`` slices per channel."""
    import tempfile

    import nibabel as nib

    image = nib.load(source)
    proxy, shape = image.dataobj, image.shape
    if len(shape) not in (3, 4):
        raise ValueError(f"{source}: streaming needs a 3D (or 3D + channels) volume, got shape {shape}")
    channels = shape[3] if len(shape) == 4 else 1
    depth = shape[2]

    def slab(z: int) -> np.ndarray:  # (C, X, Y)
        data = np.asarray(proxy[:, :, z], dtype=np.float32)
        return data[None] if data.ndim == 2 else np.moveaxis(data, -1, 0)

    picks = np.unique(np.linspace(0, depth - 1, min(sample_slices, depth)).round().astype(int))
    sample = np.stack([slab(z) for z in picks], axis=1)  # (C, n, X, Y)
    scales = Normalization.from_config(normalization).scalers(list(sample))
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as scratch:
        out = None
        for start in range(0, depth, batch_size):
            batch = [
                torch.as_tensor(np.stack([scales[c](s[c]) for c in range(channels)]))
                for s in (slab(z) for z in range(start, min(depth, start + batch_size)))
            ]
            with torch.no_grad():
                result = (
                    Normalization.from_config(output_normalization)
                    .inverse(inferer(torch.stack(batch).float().to(device), network).cpu())
                    .numpy()
                )  # (B, C_out, X, Y)
            result = cast_to_dtype(result, output_dtype)
            if out is None:
                c_out = result.shape[1]
                full = shape[:3] + ((c_out,) if c_out > 1 else ())
                out = np.lib.format.open_memmap(Path(scratch) / "out.npy", mode="w+", dtype=result.dtype, shape=full)
            for i, z in enumerate(range(start, start + result.shape[0])):
                out[:, :, z] = result[i, 0] if out.ndim == 3 else np.moveaxis(result[i], 0, -1)
        out.flush()
        volume = nib.Nifti1Image(out, image.affine)
        volume.set_sform(image.affine, code=1)
        volume.set_qform(image.affine, code=1)
        with atomic_path(target, overwrite=overwrite) as tmp:
            nib.save(volume, tmp)
        del out, volume
    return target
