"""Translate whole files with a trained A -> B generator, keeping their geometry.

One pipeline, three MONAI pieces, as a bundle's ``inference.json`` declares them (``preprocessing``,
``inferer``, ``postprocessing``, the ids MONAI Label and MONAI Deploy read): each input is loaded with the
project's readers and normalised as in training (:func:`~common.inference.transforms.preprocessing`), translated
frame by frame / slice by slice, whole or in Gaussian-blended tiles (:class:`~common.inference.inferer.FrameInferer`),
and mapped back to B's units (:func:`~common.inference.transforms.postprocessing`). The result is written next to
no input: into ``output_dir``, with the input's base name, format and geometry (TIFF axes and pixel size, NIfTI
affine), never over an existing file, and no file of a failed call is left behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from common.data.layout import resolve_files
from common.data.normalization import Normalization
from common.errors import InputDataError, find_input_error
from common.flags import as_bool
from common.inference.domain_check import warn_unlike_training
from common.inference.ensemble import UncertaintyTranslator, split_uncertainty
from common.inference.inferer import FrameInferer, Tiling
from common.inference.streaming import can_stream, translate_nifti_streaming, translate_tiff_streaming
from common.inference.transforms import postprocessing as make_postprocessing
from common.inference.transforms import preprocessing as make_preprocessing
from common.inference.translate import UNCERTAINTY_DTYPE, blended_window, output_path, uncertainty_path
from common.io.header import image_kind, read_header
from common.io.write import write_image

__all__ = ["Outputs", "translate_files"]


@dataclass(frozen=True)
class Outputs:
    """Where and how translations are written.

    Args:
        dtype: stored dtype (default float32; ``None``: the network's output dtype). PNG outputs hold 8 bits.
        overwrite: replace existing outputs (otherwise any existing output stops the call before anything is
            written).
        uncertainty_dir: with an :class:`~common.inference.ensemble.UncertaintyTranslator` as the network (an
            ``EnsembleTranslator`` or an :class:`~common.inference.error_head.ErrorHeadTranslator`): the
            translation (the ensemble's mean over its passes) goes to the output folder and the per-pixel uncertainty
            (the spread over passes, or the learned error head's expected error; in the translation's units and
            geometry, stored as float32: a ``.tif`` where the translation is a PNG) to this folder under the same
            name (:func:`~common.inference.translate.uncertainty_path`). Streamed inputs are translated twice (once
            per output), so they take twice the time. Default with such a network: ``uncertainty/`` in the output
            folder.
    """

    dtype: str | None = "float32"
    overwrite: bool = False
    uncertainty_dir: str | os.PathLike | None = None

    def __post_init__(self):  # "--overwrite false" reaches a bundle config as the (truthy) string "false"
        object.__setattr__(self, "overwrite", as_bool(self.overwrite, "overwrite"))


def translate_files(
    network: nn.Module,
    inputs: str | os.PathLike | Sequence[str],
    output_dir: str | os.PathLike,
    *,
    spec: Mapping | None = None,
    steps: Sequence[Callable | None] | None = None,
    tiling: Tiling | None = None,
    outputs: Outputs | None = None,
    device: torch.device | str = "cpu",
) -> list[Path]:
    """Translate every image of ``inputs`` (folder, glob or list) into ``output_dir``.

    Args:
        network: the A -> B generator (moved to ``device`` and set to eval mode here).
        inputs: image files.
        output_dir: destination folder; must not be an input's folder.
        spec: the model's description (:class:`~common.methods.ModelSpec`, or a mapping with some of its keys):
            ``normalization_a`` (the A-domain normalisation of training, also that of streamed inputs),
            ``normalization_b`` (inverted where possible), ``axes_a`` (TIFF axes override of the inputs),
            ``channel_mix_a``, ``channels_a`` (inputs with another count are refused before anything is written),
            ``spatial_dims`` (default 2) and ``training_data`` (inputs whose intensities are far from its
            ``a_percentiles`` are named in one warning: :mod:`common.inference.domain_check`).
        steps: ``(preprocessing, inferer, postprocessing)`` as a bundle's ``inference.json`` declares them, any of
            them ``None`` for the default: :func:`~common.inference.transforms.preprocessing` of the spec's
            normalisation, axes and channel mixing (``{"image": path}`` -> ``{"image": (C, *S)}``); a
            :class:`~common.inference.inferer.FrameInferer` of ``tiling`` (``inferer(batch, network)`` on
            ``(1, C, *S)``); :func:`~common.inference.transforms.postprocessing` of B's normalisation
            (``{"pred": (C_out, *S)}`` -> B's units; RGB outputs come back as 0..255).
        tiling: tile size, overlap, batch sizes, slice axis and the size above which inputs are streamed
            (:class:`~common.inference.inferer.Tiling`); a given ``FrameInferer`` keeps its own tiles and batch.
        outputs: dtype, overwrite and the uncertainty folder (:class:`Outputs`).
        device: where the network runs.

    Returns:
        the written files (translations, then uncertainty maps).

    Raises:
        InputDataError: an unreadable input, or ``output_dir`` being an input's folder.
        FileExistsError: an output exists and ``overwrite`` is False (checked before anything is written).
    """
    spec, tiling, outputs = dict(spec or {}), tiling or Tiling(), outputs or Outputs()
    preprocessing, inferer, postprocessing = tuple(steps) if steps is not None else (None, None, None)
    normalization, output_normalization = spec.get("normalization_a"), spec.get("normalization_b")
    axes, channel_mix, spatial_dims = spec.get("axes_a"), spec.get("channel_mix_a"), int(spec.get("spatial_dims", 2))
    uncertainty_dir, overwrite, output_dtype = outputs.uncertainty_dir, bool(outputs.overwrite), outputs.dtype
    if uncertainty_dir is None and isinstance(network, UncertaintyTranslator):
        uncertainty_dir = Path(output_dir) / "uncertainty"
    channels, slice_axis, batch_size = spec.get("channels_a"), tiling.slice_axis, int(tiling.batch_size)
    files = resolve_files(inputs, name="inputs")
    ensemble = uncertainty_dir is not None
    if ensemble and not isinstance(network, UncertaintyTranslator):
        raise ValueError(
            "uncertainty_dir needs an UncertaintyTranslator as network (translation and uncertainty: the spread of an "
            "EnsembleTranslator's passes, or an ErrorHeadTranslator's learned error)"
        )
    expected = len(channel_mix[0]) if channel_mix is not None else channels
    stream = set()
    for f in files:  # every input readable, with the right channels, before anything is written
        header = read_header(f, axes=axes)
        if spatial_dims == 2 and header.nbytes > tiling.stream_above_bytes and slice_axis in (None, 2, -1):
            if (header.kind == "tiff" and can_stream(f, axes)) or header.kind == "nifti":
                stream.add(f)
        if expected is not None and header.channels != int(expected):
            raise InputDataError(f, f"image has {header.channels} channel(s), the model takes {int(expected)}")
    warn_unlike_training([f for f in files if f not in stream], spec.get("training_data"))
    out_dir = Path(output_dir).resolve()
    spread_dir = Path(uncertainty_dir).resolve() if ensemble else None
    for f in files:
        for folder in (out_dir, spread_dir):
            if folder is not None and Path(f).resolve().parent == folder:
                raise InputDataError(folder, "the output folder holds the inputs; choose another one")
    if spread_dir == out_dir:
        raise InputDataError(out_dir, "the uncertainty maps need a folder of their own (same names as translations)")
    targets = [output_path(f, out_dir) for f in files]
    spread_targets = [uncertainty_path(f, spread_dir) for f in files] if ensemble else [None] * len(files)
    if not overwrite:
        existing = [t for t in targets + spread_targets if t is not None and t.exists()]
        if existing:
            raise FileExistsError(f"{existing[0]}: already exists; refusing to overwrite ({len(existing)} such)")
    preprocessing = preprocessing or make_preprocessing(normalization, axes=axes, channel_mix=channel_mix)
    inferer = inferer or tiling.inferer(spatial_dims)
    postprocessing = postprocessing or make_postprocessing(output_normalization)
    # the tiling of inputs streamed page by page: the inferer's own, else the one the options describe
    if isinstance(inferer, FrameInferer):
        window, batch_size = inferer.window, inferer.batch_size
    else:
        window = blended_window(spatial_dims, tiling.roi_size, tiling.sw_batch_size, tiling.overlap)
    network = network.to(device).eval()
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
                    dtype = UNCERTAINTY_DTYPE if path == spread_target else output_dtype
                    _translate_streaming(
                        net, source, path, normalization, window, batch_size, device, axes, dtype,
                        norm.as_dict(), channel_mix, overwrite,
                    )  # fmt: skip
                    (spread_written if path == spread_target else written).append(path)
                continue
            image = _preprocess(preprocessing, source)
            with torch.no_grad():
                result = inferer(image[None].to(device), network)[0].cpu()
            if ensemble:
                mean, spread = split_uncertainty(result)
                mean = postprocessing({"pred": mean})["pred"]
                outputs = [(target, mean), (spread_target, spread_norm.inverse(spread))]
            else:
                outputs = [(target, postprocessing({"pred": result})["pred"])]
            eight_bits = image_kind(target) == "plain" and output_norm.mode != "range"  # 0..1 to PNG's 0..255
            for path, data in outputs:
                if path == spread_target:  # in the translation's units, never rounded to its storage type
                    data, dtype = data * 255 if eight_bits else data, UNCERTAINTY_DTYPE
                elif image_kind(path) == "plain":  # PNG holds 8 bits
                    data, dtype = data.clamp(0, 1) * 255 if eight_bits else data, "uint8"
                else:
                    dtype = output_dtype
                write_image(path, torch.as_tensor(data), meta=dict(image.meta), dtype=dtype, overwrite=overwrite)
                (spread_written if path == spread_target else written).append(path)
    except BaseException:
        for path in written + spread_written:  # no partial output: this call's files go, the folder is as it was
            path.unlink(missing_ok=True)
        raise
    return written + spread_written


def _preprocess(preprocessing: Callable[[dict], dict], source: str) -> torch.Tensor:
    """``preprocessing`` of one file, raising the loader's one-line error (MONAI's ``Compose`` wraps it)."""
    try:
        return preprocessing({"image": os.fspath(source)})["image"]
    except Exception as e:
        found = find_input_error(e)
        if found is None:
            raise
        raise found from None


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
    options = dict(
        normalization=normalization, inferer=inferer, batch_size=batch_size, device=device,
        output_dtype=output_dtype or "float32", output_normalization=output_norm, overwrite=overwrite,
    )  # fmt: skip
    if image_kind(source) == "nifti":
        translate_nifti_streaming(network, source, target, **options)
    else:
        translate_tiff_streaming(network, source, target, axes=axes, channel_mix=channel_mix, **options)
