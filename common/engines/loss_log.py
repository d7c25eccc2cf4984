"""A CSV record of every iteration's loss terms and learning rates (``O/losses.csv``), kept consistent across
resumptions: rows written after the checkpoint a run resumes from are dropped first."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from ignite.engine import Engine, Events

from common.io.atomic import atomic_path

__all__ = ["LossLogger", "read_loss_log"]


class LossLogger:
    """Append ``iteration, <term>...`` rows to ``path`` (header from the first iteration's terms)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.columns: list[str] | None = None

    def attach(self, engine: Engine) -> None:
        # at this process's first iteration: any checkpoint has been loaded by then, whatever the order in
        # which handlers were attached
        engine.add_event_handler(Events.ITERATION_STARTED, self._first_iteration)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)
        self._started = False

    def _first_iteration(self, engine: Engine) -> None:
        if not self._started:
            self._started = True
            self.truncate(engine)

    def truncate(self, engine: Engine) -> None:
        """Keep only rows before the iteration about to run."""
        if not self.path.exists():
            return
        rows = read_loss_log(self.path)
        keep = [r for r in rows if int(float(r["iteration"])) < engine.state.iteration]
        if len(keep) == len(rows):
            self.columns = list(rows[0]) if rows else None
            return
        with atomic_path(self.path, overwrite=True) as tmp, open(tmp, "w", newline="") as fh:
            if rows:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(keep)
        self.columns = list(rows[0]) if rows else None

    def __call__(self, engine: Engine) -> None:
        output = engine.state.output
        losses = output[0]["loss"] if isinstance(output, list) else output["loss"]
        row = {"iteration": engine.state.iteration, **losses}
        new = not self.path.exists() or self.columns is None
        if new:
            self.columns = list(row)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)


def read_loss_log(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a loss log as dicts."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
