"""Object metrics between label images: instance matching (Hungarian on IoU >= a threshold) with counts,
precision, recall, F1, segmentation quality and panoptic quality (as Ui2i's tables), and STABLE's analysis of
each input object's nearest translated object (centroid distance and IoU)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

__all__ = ["iou_matrix", "match_instances", "instance_metrics", "nearest_object_analysis", "Matching"]


def iou_matrix(reference: np.ndarray, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU between every reference and predicted object: ``(iou[n_ref, n_pred], ref_ids, pred_ids)``."""
    ref = np.asarray(reference).astype(np.int64).ravel()
    pred = np.asarray(prediction).astype(np.int64).ravel()
    ref_ids, ref_idx = np.unique(ref, return_inverse=True)
    pred_ids, pred_idx = np.unique(pred, return_inverse=True)
    overlap = np.zeros((ref_ids.size, pred_ids.size), dtype=np.int64)
    np.add.at(overlap, (ref_idx, pred_idx), 1)
    ref_keep, pred_keep = ref_ids != 0, pred_ids != 0
    area_ref, area_pred = overlap.sum(1), overlap.sum(0)
    inter = overlap[np.ix_(ref_keep, pred_keep)].astype(np.float64)
    union = area_ref[ref_keep, None] + area_pred[None, pred_keep] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0), ref_ids[ref_keep], pred_ids[pred_keep]


@dataclass
class Matching:
    """Matched pairs (reference id, predicted id, IoU) and the unmatched counts."""

    pairs: list[tuple[int, int, float]]
    n_reference: int
    n_prediction: int

    @property
    def tp(self) -> int:
        return len(self.pairs)

    @property
    def fp(self) -> int:
        return self.n_prediction - self.tp

    @property
    def fn(self) -> int:
        return self.n_reference - self.tp


def match_instances(reference: np.ndarray, prediction: np.ndarray, threshold: float = 0.5) -> Matching:
    """One-to-one matching maximising total IoU among pairs with IoU >= ``threshold`` (Hungarian algorithm)."""
    iou, ref_ids, pred_ids = iou_matrix(reference, prediction)
    pairs = []
    if iou.size:
        rows, cols = linear_sum_assignment(-np.where(iou >= threshold, iou, 0.0))
        pairs = [
            (int(ref_ids[r]), int(pred_ids[c]), float(iou[r, c]))
            for r, c in zip(rows, cols, strict=True)
            if iou[r, c] >= threshold
        ]
    return Matching(pairs, int(ref_ids.size), int(pred_ids.size))


def instance_metrics(reference: np.ndarray, prediction: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Counts, precision, recall, F1, segmentation quality (mean IoU of matches) and panoptic quality
    ``sum(IoU) / (TP + FP/2 + FN/2)``."""
    m = match_instances(reference, prediction, threshold)
    tp, fp, fn = m.tp, m.fp, m.fn
    iou_sum = sum(p[2] for p in m.pairs)
    return {
        "n_reference": m.n_reference,
        "n_prediction": m.n_prediction,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else math.nan,
        "recall": tp / (tp + fn) if tp + fn else math.nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan,
        "sq": iou_sum / tp if tp else 0.0,
        "pq": iou_sum / (tp + 0.5 * fp + 0.5 * fn) if tp + fp + fn else math.nan,
    }


def _centroids(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = np.unique(labels)
    ids = ids[ids != 0]
    if ids.size == 0:
        return ids, np.zeros((0, labels.ndim))
    return ids, np.asarray(ndimage.center_of_mass(np.ones_like(labels), labels, ids)).reshape(ids.size, labels.ndim)


def nearest_object_analysis(input_labels: np.ndarray, translated_labels: np.ndarray, spacing=None) -> list[dict]:
    """For every input object: the nearest translated object by centroid, the distance between the centroids
    (pixels, or physical units with ``spacing``), and the IoU of the two objects (STABLE Fig. 2D/E).

    Returns:
        one dict per input object: ``input_id``, ``translated_id`` (0 if there is none), ``distance``, ``iou``.
    """
    in_ids, in_c = _centroids(np.asarray(input_labels))
    tr_ids, tr_c = _centroids(np.asarray(translated_labels))
    scale = np.ones(in_c.shape[1]) if spacing is None else np.asarray(spacing, dtype=np.float64)
    iou, ref_ids, pred_ids = iou_matrix(input_labels, translated_labels)
    rows = []
    for i, (obj, c) in enumerate(zip(in_ids, in_c, strict=True)):
        if tr_ids.size == 0:
            rows.append({"input_id": int(obj), "translated_id": 0, "distance": math.inf, "iou": 0.0})
            continue
        d = np.sqrt((((tr_c - c) * scale) ** 2).sum(1))
        j = int(np.argmin(d))
        r = int(np.flatnonzero(ref_ids == obj)[0])
        k = int(np.flatnonzero(pred_ids == tr_ids[j])[0])
        rows.append(
            {"input_id": int(obj), "translated_id": int(tr_ids[j]), "distance": float(d[j]), "iou": float(iou[r, k])}
        )
        del i
    return rows
