"""A CSV record of every validation (``O/validation.csv``: the trainer's iteration and each validation metric),
and optionally the A -> B generator of every validation (``O/snapshots/model_iteration=N.pt``), so that the
checkpoint model selection picks can be compared with every other one afterwards."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import torch
from ignite.engine import Engine, Events

from common.engines.checkpoints import deployable_state_dict
from common.flags import as_bool
from common.io.atomic import atomic_path

__all__ = ["ValidationLogger", "read_validation_log"]


class ValidationLogger:
    """A training handler: at each completed run of ``evaluator``, append ``iteration, <metric>...`` to ``path``.

    Args:
        path: the CSV file.
        evaluator: the validation engine (the trainer's ``ValidationHandler`` runs it).
        snapshots: also save the generator of every validation in ``snapshots/`` beside ``path`` (a bool or a
            word such as ``"true"``).
        network: the network to snapshot (default the trainer's deployable generator).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        evaluator: Engine,
        snapshots: bool | str = False,
        network: torch.nn.Module | None = None,
    ):
        self.path, self.evaluator = Path(path), evaluator
        self.snapshot_dir = self.path.parent / "snapshots" if as_bool(snapshots, "snapshots") else None
        self.network = network
        self.trainer: Engine | None = None
        self._truncated = False

    def attach(self, trainer: Engine) -> None:
        self.trainer = trainer
        self.evaluator.add_event_handler(Events.COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        iteration = int(self.trainer.state.iteration)
        row = {"iteration": iteration} | {k: float(v) for k, v in engine.state.metrics.items()}
        rows = read_validation_log(self.path) if self.path.exists() else []
        if not self._truncated:  # a resumed run drops the rows of iterations it is about to redo
            rows = [r for r in rows if int(float(r["iteration"])) < iteration]
            self._truncated = True
        columns = list(dict.fromkeys([*(rows[0] if rows else {}), *row]))
        rows.append({k: str(v) for k, v in row.items()})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path, overwrite=True) as tmp, open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        if self.snapshot_dir is not None:
            network = self.network if self.network is not None else self.trainer.deployable_generator()
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)
            target = self.snapshot_dir / f"model_iteration={iteration}.pt"
            with atomic_path(target, overwrite=True) as tmp:
                torch.save({"model": deployable_state_dict(network)}, tmp)


def read_validation_log(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a validation log as dicts."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
