"""Does an input look like what the model was trained on? A shipped model's ``model.json`` records its training
inputs' raw intensity percentiles (``training_data.a_percentiles``: 1st, 50th, 99th); inference warns once when
inputs are far from them (another bit depth, modality or exposure), and translates anyway."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["unlike_training", "warn_unlike_training"]

LOGGER = logging.getLogger(__name__)

#: how far an input's 99th percentile may lie from the training inputs' before inference warns (a factor)
TOLERANCE = 5.0


def unlike_training(
    files: Sequence[str | os.PathLike], training_data: Mapping, tolerance: float = TOLERANCE
) -> list[tuple[str, float]]:
    """The inputs whose 99th percentile of raw intensity lies more than ``tolerance`` times above or below the
    training inputs' (``training_data["a_percentiles"][2]``), with that percentile."""
    from common.io import load_image

    if tolerance <= 1:
        raise ValueError(f"tolerance must be above 1, got {tolerance}")
    reference = float(training_data["a_percentiles"][2])
    unlike = []
    for f in files:
        values = np.asarray(load_image(f)[0], np.float64).ravel()
        high = float(np.percentile(values[:: max(1, values.size // 200_000)], 99))
        if reference > 0 and not (reference / tolerance <= high <= reference * tolerance):
            unlike.append((os.fspath(f), high))
        elif reference <= 0 and high > 0:
            unlike.append((os.fspath(f), high))
    return unlike


def warn_unlike_training(files: Sequence[str | os.PathLike], training_data: Mapping | None) -> list[str]:
    """Log one warning naming the inputs unlike the model's training data (nothing without ``a_percentiles``);
    returns their paths."""
    if not training_data or "a_percentiles" not in training_data:
        return []
    unlike = unlike_training(files, training_data)
    if unlike:
        first, level = unlike[0]
        LOGGER.warning(
            "%d of %d input(s) have intensities unlike the model's training data (%s): e.g. %s, 99th percentile %.4g "
            "against %.4g in training; check the modality, bit depth and exposure",
            len(unlike), len(files), training_data.get("name", "unnamed"), first, level,
            float(training_data["a_percentiles"][2]),
        )  # fmt: skip
    return [f for f, _ in unlike]
