"""Cellpose (3.x) segmentation behind the same interface as :class:`ClassicalSegmenter`.

No weights can be downloaded where this project runs its tests, and STABLE trained its own Cellpose model per
data set, so the model is a file given by the user (trained with Cellpose on their annotations or on phantom
labels); built-in model names work only where Cellpose already has its weights cached.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["CellposeSegmenter"]


class CellposeSegmenter:
    """Segment with a Cellpose model file.

    Args:
        model: path to a trained Cellpose model file (or a built-in name whose weights are cached locally).
        diameter: expected object diameter in pixels (``None``: the model's own estimate).
        channel: channel to segment (``None``: mean over channels, grey input).
        flow_threshold, cellprob_threshold: Cellpose settings (STABLE used 0.4 and 0.0).
        gpu: use a GPU when available.
    """

    name = "cellpose"

    def __init__(
        self,
        model: str,
        diameter: float | None = None,
        channel: int | None = None,
        flow_threshold: float = 0.4,
        cellprob_threshold: float = 0.0,
        gpu: bool = False,
    ):
        if not model:
            raise ValueError("a Cellpose model file is needed (no weights are downloaded)")
        if os.sep in model and not os.path.isfile(model):
            raise ValueError(f"{model}: Cellpose model file not found")
        self.model_name, self.diameter, self.channel = model, diameter, channel
        self.flow_threshold, self.cellprob_threshold, self.gpu = flow_threshold, cellprob_threshold, gpu
        self._model = None

    def _load(self):
        if self._model is None:
            from cellpose import models

            if os.path.isfile(self.model_name):
                self._model = models.CellposeModel(gpu=self.gpu, pretrained_model=self.model_name)
            else:
                self._model = models.CellposeModel(gpu=self.gpu, model_type=self.model_name)
        return self._model

    def __call__(self, image: np.ndarray, channel_first: bool = True) -> np.ndarray:
        x = np.asarray(image, dtype=np.float32)
        if channel_first:
            x = x[self.channel] if self.channel is not None else x.mean(axis=0)
        masks, *_ = self._load().eval(
            x,
            diameter=self.diameter,
            channels=[0, 0],
            flow_threshold=self.flow_threshold,
            cellprob_threshold=self.cellprob_threshold,
        )
        return np.asarray(masks, dtype=np.int32)
