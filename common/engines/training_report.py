"""The fidelity report at the end of training (``O/report/report.html``), from the validation split.

The same page as ``evaluate.json`` writes (:mod:`common.evaluation.report`), made from what training has: for the
first validation items, the input, the translation of the model the run ends with (the mean over the 8 test-time
flips/rotations), its uncertainty (their spread, or the learned error head's map where the bundle's
``uncertainty_source`` takes the head and the run trained one) and, where ``valB`` is the ground truth, the error;
the last validation's metrics (those of the steganography and object-count watch included), the watch's verdicts
over the run, and the validation that model selection picked. ``RunLogger`` logs the page and its figures to MLflow.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from ignite.engine import Engine, Events

from common.engines.error_head_trainer import ErrorHeadTrainer
from common.engines.selection import Selection
from common.evaluation.report import item_panels, panel_figure, selection_note, write_report
from common.inference.ensemble import EnsembleTranslator, split_uncertainty
from common.inference.error_head import UNCERTAINTY_SOURCES, ErrorHeadTranslator

__all__ = ["TrainingReport", "report_files"]


def report_files(output_dir: str | os.PathLike, images: int = 3) -> list[str]:
    """The files a :class:`TrainingReport` writes under ``output_dir`` (for ``RunLogger``'s artifacts)."""
    folder = Path(output_dir) / "report"
    return [str(folder / "report.html")] + [str(folder / f"report_{i}.png") for i in range(int(images))]


class TrainingReport:
    """Write the fidelity report when the trainer completes.

    Args:
        output_dir: the run's output folder (the page goes to ``output_dir/report``).
        evaluator: the validation engine (its last metrics are reported).
        items: validation items ``{"image", "label"}``.
        ground_truth: whether the labels are the truth (``valB``) rather than the inputs, or the run's
            :class:`~common.engines.Selection` (which knows).
        watch: the run's :class:`~common.engines.translation_watch.TranslationWatch` (its verdicts), or ``None``.
        images: how many items get panels.
        spatial_dims: 2 or 3.
        error_head: the run's learned error head (:class:`~common.networks.ErrorHead`, or the
            :class:`~common.engines.ErrorHeadTrainer` training it), or ``None``.
        uncertainty_source: as inference's: ``spread``, or ``error_head`` / ``auto`` for the head's map (the spread
            where the run has no head).

    Raises:
        ValueError: an unknown ``uncertainty_source``.
    """

    def __init__(
        self,
        output_dir: str | os.PathLike,
        evaluator: Engine,
        items: Sequence[dict],
        ground_truth: bool | Selection,
        watch=None,
        images: int = 3,
        spatial_dims: int = 2,
        error_head: torch.nn.Module | ErrorHeadTrainer | None = None,
        uncertainty_source: str = "spread",
    ):
        if isinstance(error_head, ErrorHeadTrainer):
            error_head = error_head.saved().get("error_head")
        if uncertainty_source not in UNCERTAINTY_SOURCES:
            raise ValueError(
                f"uncertainty_source must be one of {', '.join(UNCERTAINTY_SOURCES)}, got {uncertainty_source!r}"
            )
        self.folder, self.evaluator = Path(output_dir) / "report", evaluator
        if isinstance(ground_truth, Selection):
            ground_truth = ground_truth.ground_truth
        self.items, self.ground_truth, self.watch = list(items)[: int(images)], bool(ground_truth), watch
        self.spatial_dims = int(spatial_dims)
        self.head = error_head if uncertainty_source != "spread" else None

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        generator = engine.deployable_generator()
        networks = [generator] + ([self.head] if self.head is not None else [])
        modes = [network.training for network in networks]
        device = next(generator.parameters()).device
        if self.head is not None:
            self.head.to(device)  # in place: its optimiser keeps its parameters
            translator = ErrorHeadTranslator(generator, self.head, self.spatial_dims, augment=True)
        else:
            translator = EnsembleTranslator([generator], self.spatial_dims)
        self.folder.mkdir(parents=True, exist_ok=True)
        figures = []
        try:
            for network in networks:
                network.eval()
            with torch.no_grad():
                for i, item in enumerate(self.items):
                    x = torch.as_tensor(item["image"]).float()
                    mean, spread = split_uncertainty(translator(x[None].to(device))[0].cpu())
                    truth = torch.as_tensor(item["label"]).float() if self.ground_truth else None
                    panels = item_panels(x, mean, truth, spread)
                    figures.append(panel_figure(panels, f"validation item {i}", self.folder / f"report_{i}.png"))
        finally:
            for network, mode in zip(networks, modes, strict=True):
                network.train(mode)
        metrics = {"iteration": int(engine.state.iteration)} | dict(self.evaluator.state.metrics or {})
        notes = [
            f"Panels: the generator at the end of training (iteration {engine.state.iteration}).",
            selection_note(self.folder.parent / "best_model.pt", "Selected model"),
        ]
        warnings = []
        tripped = [h for h in getattr(self.watch, "history", []) if h.get("val_hides_input")]
        if self.watch is not None and self.watch.history:
            text = f"Steganography watch: {len(tripped)} of {len(self.watch.history)} validations tripped."
            (warnings if tripped else notes).append(
                text + (" The cycle decoded a hidden copy of its input; do not trust it." if tripped else "")
            )
        if not self.ground_truth:
            notes.append("No valB ground truth: the error panels are empty and selection was unsupervised.")
        notes.append(translator.description)
        write_report(self.folder / "report.html", "Fidelity report: end of training", figures, metrics, notes, warnings)
