"""Classical nucleus segmentation - Gaussian smoothing, Otsu threshold, distance-transform watershed - the
fallback segmenter where no trained Cellpose model is available. Reports name it as such."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.filters import threshold_otsu
from skimage.morphology import remove_small_objects
from skimage.segmentation import watershed

__all__ = ["ClassicalSegmenter"]


class ClassicalSegmenter:
    """Bright-object instance segmentation of 2D or 3D images.

    Args:
        sigma: Gaussian smoothing (pixels).
        min_size: objects smaller than this (pixels) are removed.
        min_distance: minimum distance between object centres (watershed seeds).
        channel: channel to segment in channel-first input (``None``: mean over channels).
        invert: segment dark objects (e.g. hematoxylin nuclei in brightfield RGB).
    """

    name = "classical (Otsu + watershed)"

    def __init__(
        self,
        sigma: float = 1.0,
        min_size: int = 8,
        min_distance: int = 3,
        channel: int | None = None,
        invert: bool = False,
    ):
        if sigma < 0 or min_size < 0 or min_distance < 1:
            raise ValueError("sigma and min_size must be non-negative, min_distance positive")
        self.sigma, self.min_size, self.min_distance = float(sigma), int(min_size), int(min_distance)
        self.channel, self.invert = channel, bool(invert)

    def __call__(self, image: np.ndarray, channel_first: bool = True) -> np.ndarray:
        """Instance labels (int32) of ``image`` (``(C, *S)`` when ``channel_first``, else ``(*S)``)."""
        x = np.asarray(image, dtype=np.float64)
        if channel_first:
            x = x[self.channel] if self.channel is not None else x.mean(axis=0)
        if self.invert:
            x = -x
        smooth = ndimage.gaussian_filter(x, self.sigma) if self.sigma > 0 else x
        if float(smooth.max() - smooth.min()) == 0:
            return np.zeros(x.shape, dtype=np.int32)
        mask = remove_small_objects(smooth > threshold_otsu(smooth), max_size=self.min_size)
        distance = ndimage.distance_transform_edt(mask)
        peaks = peak_local_max(
            distance, min_distance=self.min_distance, labels=ndimage.label(mask)[0], exclude_border=False
        )
        markers = np.zeros(x.shape, dtype=np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        return watershed(-distance, markers, mask=mask).astype(np.int32)
