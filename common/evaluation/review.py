"""Score a folder of translations as the project's reviews do (:func:`common.metrics.review.review_scores` per
file, against ``testB`` of a data set, medians over the files), and the untranslated input the same way."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from common.data.layout import paired_test_items
from common.errors import InputDataError
from common.inference.translate import uncertainty_path
from common.metrics.artefacts import ARTEFACTS, artefact_scores
from common.metrics.review import review_scores
from common.metrics.uncertainty import uncertainty_scores

__all__ = [
    "fit_to_truth",
    "planes",
    "read_raw",
    "review_artefacts",
    "review_folder",
    "review_input",
    "review_uncertainty",
]


def read_raw(path: str | os.PathLike) -> np.ndarray:
    """A file's pixel array as stored, squeezed of length-1 axes (no axis reordering, no normalisation)."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        import nibabel as nib

        return np.asarray(nib.load(path).dataobj, dtype=np.float64).squeeze()
    if name.endswith((".tif", ".tiff")):
        import tifffile

        return tifffile.imread(path).astype(np.float64).squeeze()
    from skimage.io import imread

    return imread(path).astype(np.float64).squeeze()


def fit_to_truth(pred: np.ndarray, ref: np.ndarray, source: str | os.PathLike, truth: str | os.PathLike) -> np.ndarray:
    """``pred`` shaped as ``ref``: a one-channel prediction of a several-channel truth (the untranslated input of an
    unmixing task) is repeated to every channel, the do-nothing answer.

    Raises:
        InputDataError: the sizes do not fit (naming ``source`` and ``truth``).
    """
    if pred.size != ref.size and pred.size and ref.size % pred.size == 0:
        pred = np.stack([pred] * (ref.size // pred.size))
    if pred.size != ref.size:
        raise InputDataError(source, f"has {pred.shape}, the truth {Path(truth).name} {ref.shape}")
    return pred


def _translated_pairs(predictions: str | os.PathLike, dataset_dir: str | os.PathLike) -> list[tuple[Path, str]]:
    """``(translation, truth)`` for every test image with a truth; a missing translation is refused by name."""
    pairs = []
    for item in paired_test_items(dataset_dir):
        if item.B is None:
            continue
        source = Path(predictions) / Path(item.A).name
        if not source.is_file():
            raise InputDataError(source, "no translation of this test image")
        pairs.append((source, item.B))
    return pairs


def review_folder(predictions: str | os.PathLike, dataset_dir: str | os.PathLike) -> dict[str, float]:
    """Median ``psnr``, ``ssim``, ``pcc`` of the files in ``predictions`` (named as ``testA``'s) against ``testB``.

    A one-channel prediction of a several-channel truth (the untranslated input of an unmixing task) is repeated
    to every channel: the do-nothing answer.

    Raises:
        InputDataError: a prediction is missing, or its size does not fit the truth.
    """
    rows = []
    for source, truth in _translated_pairs(predictions, dataset_dir):
        ref = read_raw(truth)
        rows.append(review_scores(fit_to_truth(read_raw(source), ref, source, truth), ref))
    if not rows:
        raise InputDataError(dataset_dir, "no testA image has an aligned testB truth")
    return {k: float(np.median([r[k] for r in rows])) for k in rows[0]} | {"n": len(rows)}


def planes(image: np.ndarray, path: str | os.PathLike) -> list[np.ndarray]:
    """The 2D planes of a raw array (:func:`read_raw`) to judge by eye: an RGB(A) picture's channel mean, each frame
    of a TIFF stack or movie (``... Y X``), each slice of a NIfTI volume (``X Y Z``)."""
    name = Path(path).name.lower()
    if image.ndim == 2:
        return [image]
    if name.endswith((".nii", ".nii.gz")):
        return [image[..., k] for k in range(image.shape[-1])] if image.ndim == 3 else []
    if image.ndim == 3 and image.shape[-1] in (3, 4) and not name.endswith((".tif", ".tiff")):
        return [image[..., :3].mean(axis=-1)]
    return list(image.reshape(-1, *image.shape[-2:]))


def review_artefacts(predictions: str | os.PathLike, dataset_dir: str | os.PathLike) -> dict[str, float]:
    """Median :func:`~common.metrics.artefacts.artefact_scores` of the translations in ``predictions`` against
    ``testB`` (each image's planes averaged; a one-channel prediction of a several-channel truth is scored against
    the truth's channel mean). Empty where no plane is 16 pixels a side.

    Raises:
        InputDataError: a prediction is missing.
    """
    rows = []
    for source, truth in _translated_pairs(predictions, dataset_dir):
        pred, ref = read_raw(source), read_raw(truth)
        if pred.size != ref.size and ref.ndim == pred.ndim + 1:  # several channels, first (TIFF) or last (RGB)
            ref = ref.mean(axis=0 if ref.shape[0] <= 4 else -1)
        scores = [
            artefact_scores(p, r)
            for p, r in zip(planes(pred, source), planes(ref, truth), strict=False)
            if p.shape == r.shape and min(p.shape) >= 16
        ]
        if scores:
            rows.append({k: float(np.nanmean([s[k] for s in scores])) for k in ARTEFACTS})
    return {k: float(np.median([r[k] for r in rows])) for k in ARTEFACTS} if rows else {}


def review_input(dataset_dir: str | os.PathLike) -> dict[str, float]:
    """The untranslated ``testA`` images scored as translations (the baseline to beat)."""
    return review_folder(Path(paired_test_items(dataset_dir)[0].A).parent, dataset_dir)


def _layout_of(spread: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """``spread`` in ``pred``'s layout: the map of an RGB PNG translation is a channel-first float TIFF."""
    channel_last = spread.shape[1:] + spread.shape[:1]
    if spread.shape != pred.shape and spread.ndim == pred.ndim == 3 and channel_last == pred.shape:
        return np.moveaxis(spread, 0, -1)
    return spread


def review_uncertainty(
    predictions: str | os.PathLike, uncertainty: str | os.PathLike, dataset_dir: str | os.PathLike
) -> dict[str, float]:
    """Median :func:`~common.metrics.uncertainty.uncertainty_scores` (``spearman``, ``top_ratio``) of the maps in
    ``uncertainty`` for the translations in ``predictions`` against ``testB``, with the per-image values.

    Raises:
        InputDataError: a translation or map is missing, or no test image has a truth.
    """
    rows = []
    for item in paired_test_items(dataset_dir):
        if item.B is None:
            continue
        name = Path(item.A).name
        mapped = uncertainty_path(name, uncertainty)
        if not mapped.is_file():  # a map stored under the translation's own name (the brightness control)
            mapped = Path(uncertainty) / name
        files = [Path(predictions) / name, mapped]
        for f in files:
            if not f.is_file():
                raise InputDataError(f, "missing (translate with the uncertainty option first)")
        pred = read_raw(files[0])
        rows.append(uncertainty_scores(_layout_of(read_raw(files[1]), pred), pred, read_raw(item.B)))
    if not rows:
        raise InputDataError(dataset_dir, "no testA image has an aligned testB truth")
    summary = {k: float(np.median([r[k] for r in rows])) for k in rows[0]}
    return summary | {"n": len(rows), "per_image": rows}
