"""Steganography and hallucination watch at every validation.

Attached to the validation evaluator, :class:`TranslationWatch` adds to ``engine.state.metrics`` (so that the
CSV log, the console and MLflow record them beside the selection metrics):

* the steganography probe (:func:`~common.metrics.steganography.steganography_probe`) of the two generators on
  the validation A images: ``val_probe_lowpass_gain``, ``val_probe_noise_gain`` (how far the reconstruction moves
  per unit of a low-pass or faint noise on the translation; ~1 or less for an honest cycle), ``val_probe_cycle``
  and ``val_hides_input`` (1 when :func:`~common.metrics.steganography.hides_input` says the cycle decodes a
  hidden copy of its input; a warning goes to the log);
* where the task has objects (a segmenter is given): the objects found in the translations and in their inputs
  by the classical segmenter, ``val_objects_translation``, ``val_objects_input`` and ``val_count_ratio`` (median
  per-image ratio); a ratio outside ``count_range`` is logged as a warning (objects invented or lost).

Every verdict is kept in :attr:`TranslationWatch.history` and in the ``val_hides_input`` column, for the report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from ignite.engine import Engine, Events

from common.methods.base import TranslationMethod
from common.metrics.steganography import STEGANOGRAPHY_GAIN, hides_input, steganography_probe
from common.segmentation import ClassicalSegmenter

__all__ = ["TranslationWatch"]

logger = logging.getLogger(__name__)


class TranslationWatch:
    """Probe and object counts of the current generators at each validation.

    Args:
        method: the translation method being trained.
        items: validation items ``{"image": (C, *S), ...}`` (normalised A images).
        spatial_dims: 2 or 3.
        segmenter: instance segmenter of translations, or the settings of a
            :class:`~common.segmentation.ClassicalSegmenter` (``None``: the task has no objects).
        segmenter_input: segmenter of inputs (default ``segmenter``; from settings, the same segmenter without
            their ``channel``, since the input has its own channels).
        max_items: at most this many items are probed and counted.
        cutoff: the probe's DCT cutoff (a share of the band the method's own cycle low-pass lets through).
        gain: the probe's verdict threshold.
        count_range: plausible ``(low, high)`` ratios of translation to input object counts.
        generator: the A -> B network to watch (the shipped one, e.g. its EMA copy); default
            ``method.generator_ab``.

    Raises:
        ValueError: no items, or ``max_items`` below 1.
    """

    def __init__(
        self,
        method: TranslationMethod,
        items: Sequence[dict],
        spatial_dims: int = 2,
        segmenter=None,
        segmenter_input=None,
        max_items: int = 4,
        cutoff: float = 0.5,
        gain: float = STEGANOGRAPHY_GAIN,
        count_range: tuple[float, float] = (0.5, 2.0),
        generator: torch.nn.Module | None = None,
    ):
        if not items:
            raise ValueError("TranslationWatch needs validation items")
        if int(max_items) < 1:
            raise ValueError(f"max_items must be positive, got {max_items}")
        self.method, self.spatial_dims = method, int(spatial_dims)
        self.generator = generator
        self.images = torch.stack([torch.as_tensor(i["image"]).float() for i in list(items)[: int(max_items)]])
        if isinstance(segmenter, Mapping):
            if segmenter_input is None:
                segmenter_input = ClassicalSegmenter(**{k: v for k, v in segmenter.items() if k != "channel"})
            segmenter = ClassicalSegmenter(**segmenter)
        self.segmenter = segmenter
        self.segmenter_input = segmenter_input if segmenter_input is not None else segmenter
        self.cutoff, self.gain, self.count_range = float(cutoff), float(gain), tuple(count_range)
        self.history: list[dict[str, float]] = []

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.EPOCH_COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        generator_ab = self.generator if self.generator is not None else self.method.generator_ab
        generators = [g for g in (generator_ab, self.method.generator_ba) if g is not None]
        modes = [g.training for g in generators]
        weight = next(iter(generator_ab.parameters()), None)
        device = weight.device if weight is not None else torch.device("cpu")
        x = self.images.to(device)
        metrics: dict[str, float] = {}
        try:
            for g in generators:
                g.eval()
            with torch.no_grad():
                fake = generator_ab(x)
            if self.method.generator_ba is not None:
                probe = steganography_probe(
                    generator_ab,
                    self.method.generator_ba,
                    x,
                    cutoff=self.cutoff,
                    spatial_dims=self.spatial_dims,
                    cycle_cutoff=float(getattr(self.method, "dct_cutoff", 1.0)),
                    fake_b=fake,
                )
                hides = hides_input(probe, self.gain)
                metrics |= {
                    "val_probe_lowpass_gain": probe["lowpass_gain"],
                    "val_probe_noise_gain": probe["noise_gain"],
                    "val_probe_cycle": probe["cycle_mae"],
                    "val_hides_input": float(hides),
                }
                if hides:
                    logger.warning(
                        "steganography probe: the cycle moves %.1fx (low-pass) / %.1fx (noise) the disturbance of "
                        "its translation (> %.1f): it decodes a hidden copy of its input, not the translation",
                        probe["lowpass_gain"],
                        probe["noise_gain"],
                        self.gain,
                    )
            if self.segmenter is not None:
                metrics |= self._counts(x.cpu(), fake.float().cpu())
        finally:
            for g, mode in zip(generators, modes, strict=True):
                g.train(mode)
        engine.state.metrics.update(metrics)
        self.history.append(dict(metrics))

    def _counts(self, inputs: torch.Tensor, fakes: torch.Tensor) -> dict[str, float]:
        found, given, ratios = [], [], []
        for a, b in zip(inputs.numpy(), fakes.numpy(), strict=True):
            n_b = _count(self.segmenter(b))
            n_a = _count(self.segmenter_input(a))
            found.append(n_b)
            given.append(n_a)
            ratios.append(n_b / max(n_a, 1))
        ratio = float(np.median(ratios))
        low, high = self.count_range
        if not low <= ratio <= high:
            logger.warning(
                "object counts: the translations hold %.2fx the objects of their inputs (median; plausible %.2f-"
                "%.2f): objects are invented or lost",
                ratio,
                low,
                high,
            )
        return {
            "val_objects_translation": float(np.mean(found)),
            "val_objects_input": float(np.mean(given)),
            "val_count_ratio": ratio,
        }


def _count(labels: np.ndarray) -> int:
    values = np.unique(np.asarray(labels))
    return int(np.count_nonzero(values))
