"""The option groups of :func:`~common.evaluation.evaluate`: how translations are scored, what the reports hold,
and where the MLflow run goes."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from torch import nn

from common.flags import as_bool

__all__ = ["Reports", "RunTracking", "Scoring"]


@dataclass(frozen=True)
class Scoring:
    """How translations are scored beyond the pixel metrics.

    Args:
        segmenter: callable ``(C, *S) image -> labels`` for translations (default: no object metrics).
        segmenter_input: the same for inputs without ``testA_labels``.
        baselines: no-network baselines evaluated the same way beside the translation
            (:data:`~common.evaluation.trivial.BASELINES`: ``input``, ``histogram``, ``histogram_inverted``,
            ``blur``), each under ``output_dir/baselines/NAME`` and as its own MLflow run (method ``baseline:NAME``).
            The summary then holds each baseline's metrics (``baselines``), the best by ``headline``
            (``best_baseline``) and the translation's margins over it (``headline_over_baseline``,
            ``pcc_over_baseline``).
        headline: the task's headline metric, higher is better (``psnr``; ``f1`` or ``pq`` for object tasks).
        probe_method: the whole two-sided method (e.g. from :func:`~common.engines.load_method`): adds the
            steganography probe (cycle error with and without a DCT low-pass on the translation) per image.
        probe_cutoff: the probe's DCT cutoff.
    """

    segmenter: Callable | None = None
    segmenter_input: Callable | None = None
    baselines: Sequence[str] | None = None
    headline: str = "psnr"
    probe_method: nn.Module | None = None
    probe_cutoff: float = 0.5

    def __post_init__(self):
        if not 0 < float(self.probe_cutoff) <= 1:
            raise ValueError(f"probe_cutoff must be in (0, 1], got {self.probe_cutoff}")


@dataclass(frozen=True)
class Reports:
    """What the written reports hold.

    Args:
        checkpoint: the evaluated model file, named in the report with the validation model selection picked.
        images: images shown in ``report.html`` (the fidelity report: input / translation / uncertainty / error
            panels, the metrics, the probe's verdict, the selected checkpoint; logged to MLflow too).
        overwrite: replace earlier reports (and translations) in the output folder.
    """

    checkpoint: str | os.PathLike | None = None
    images: int = 3
    overwrite: bool = False

    def __post_init__(self):  # "--overwrite false" reaches a bundle config as the (truthy) string "false"
        object.__setattr__(self, "overwrite", as_bool(self.overwrite, "overwrite"))
        if int(self.images) < 0:
            raise ValueError(f"images must be non-negative, got {self.images}")


@dataclass(frozen=True)
class RunTracking:
    """The MLflow run of an evaluation.

    Args:
        uri: the tracking URI (``None``, or ``null`` / ``none`` from the command line: no tracking).
        experiment_name: the run's experiment.
        run_name: the run's name.
        params: the run's parameters.
    """

    uri: str | None = None
    experiment_name: str = "evaluation"
    run_name: str | None = None
    params: Mapping | None = None
