"""Segmentation backends behind one interface (``segmenter(image) -> labels``): classical fallback and Cellpose."""

from common.segmentation.cellpose_backend import CellposeSegmenter
from common.segmentation.cellpose_train import load_pairs, train_cellpose
from common.segmentation.classical import ClassicalSegmenter

__all__ = [
    "CellposeSegmenter",
    "ClassicalSegmenter",
    "load_pairs",
    "make_segmenter",
    "task_segmenter",
    "train_cellpose",
]


def make_segmenter(backend: str = "classical", **kwargs):
    """``"classical"`` or ``"cellpose"`` (with ``model=`` a model file)."""
    if backend == "classical":
        return ClassicalSegmenter(**kwargs)
    if backend == "cellpose":
        return CellposeSegmenter(**kwargs)
    raise ValueError(f"backend must be 'classical' or 'cellpose', got {backend!r}")


def task_segmenter(settings: dict | None, cellpose_model: str | None = None):
    """A task's nucleus segmenter: ``None`` where the task has no objects (``settings`` ``None``), a Cellpose model
    on the settings' ``channel`` where ``cellpose_model`` names one, else the classical segmenter of ``settings``
    (``{}``: its defaults)."""
    if settings is None:
        return None
    if cellpose_model:
        return CellposeSegmenter(cellpose_model, channel=settings.get("channel"))
    return ClassicalSegmenter(**settings)
