"""Run a bundle's inference from code: what the MONAI Deploy application (``deploy/app.py``) calls, and what it
does with a DICOM series (a volume in memory -> a NIfTI file in a scratch folder -> the bundle's inference)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from monai.bundle import ConfigWorkflow

from common.errors import InputDataError
from common.io.nifti_writer import write_nifti

__all__ = ["translate_with_bundle", "volume_to_nifti"]


def translate_with_bundle(
    bundle_dir: str | os.PathLike,
    inputs: str | os.PathLike | Sequence[str],
    output_dir: str | os.PathLike,
    checkpoint: str | os.PathLike | None = None,
    overrides: Mapping | None = None,
) -> list[Path]:
    """Translate ``inputs`` (folder, glob or files) with the bundle's ``configs/inference.json``, exactly as
    ``python -m monai.bundle run --config_file .../inference.json`` would.

    Args:
        bundle_dir: the bundle folder (``configs/``, ``models/``).
        inputs: images to translate.
        output_dir: destination (created; existing outputs are never overwritten).
        checkpoint: the trained ``model.pt`` (default the bundle's ``models/model.pt``).
        overrides: further config overrides (e.g. ``{"device": "cuda:0", "batch_size": 16}``).

    Returns:
        The written files.
    """
    bundle = Path(bundle_dir)
    config = bundle / "configs" / "inference.json"
    if not config.is_file():
        raise InputDataError(bundle, "not a bundle: configs/inference.json is missing")
    model = Path(checkpoint) if checkpoint is not None else bundle / "models" / "model.pt"
    if not model.is_file():
        raise InputDataError(model, "no trained model here (train the bundle, or pass the model file)")
    settings = {
        "bundle_root": str(bundle),
        "checkpoint": str(model),
        "dataset_dir": inputs if isinstance(inputs, (str, os.PathLike)) else list(inputs),
        "output_dir": str(output_dir),
    }
    settings = {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in settings.items()}
    workflow = ConfigWorkflow(config_file=str(config), workflow_type="infer", **(settings | dict(overrides or {})))
    workflow.initialize()
    try:
        (written,) = workflow.run()
    finally:
        workflow.finalize()
    return [Path(p) for p in written]


def volume_to_nifti(volume: np.ndarray, affine: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a DICOM-series volume as NIfTI: ``volume`` ``(slices, rows, columns)`` as MONAI Deploy's
    ``DICOMSeriesToVolumeOperator`` gives it, ``affine`` its ``nifti_affine_transform`` (RAS, for the array
    transposed to ``(columns, rows, slices)``)."""
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"a DICOM series volume must have 3 axes (slices, rows, columns), got {volume.shape}")
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4):
        raise ValueError(f"affine must be 4x4, got {affine.shape}")
    write_nifti(path, np.transpose(volume, (2, 1, 0)).astype(np.float32), affine=affine)
    return Path(path)
