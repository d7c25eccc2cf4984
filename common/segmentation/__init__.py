"""Segmentation backends behind one interface (``segmenter(image) -> labels``): classical fallback and Cellpose."""

from common.segmentation.cellpose_backend import CellposeSegmenter
from common.segmentation.cellpose_train import load_pairs, train_cellpose
from common.segmentation.classical import ClassicalSegmenter

__all__ = ["CellposeSegmenter", "ClassicalSegmenter", "load_pairs", "make_segmenter", "train_cellpose"]


def make_segmenter(backend: str = "classical", **kwargs):
    """``"classical"`` or ``"cellpose"`` (with ``model=`` a model file)."""
    if backend == "classical":
        return ClassicalSegmenter(**kwargs)
    if backend == "cellpose":
        return CellposeSegmenter(**kwargs)
    raise ValueError(f"backend must be 'classical' or 'cellpose', got {backend!r}")
