"""Atomic training checkpoints.

MONAI's ``CheckpointSaver`` passes ``atomic=False`` to Ignite's ``DiskSaver`` (to keep files readable by other
users), so a process killed while saving leaves a truncated checkpoint, which a restart would then try to load.
This saver writes each checkpoint to a temporary file beside its target, fsyncs it and renames it into place
(:func:`~common.io.atomic.atomic_path`), and deletes older interval checkpoints only after the new one is
complete, so the last good checkpoint always survives. Files are named as MONAI's (``checkpoint_iteration=N.pt``,
``checkpoint_final_iteration=N.pt``) and hold ``{name: state_dict}``, as MONAI's ``CheckpointLoader`` reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from ignite.engine import Engine, Events

from common.io.atomic import atomic_path, remove_stale_temporaries

__all__ = ["AtomicCheckpointSaver"]


class AtomicCheckpointSaver:
    """Save ``save_dict`` objects' states every ``save_interval`` iterations and when training completes.

    Args:
        save_dir: checkpoint folder.
        save_dict: name -> object with ``state_dict()`` (networks, optimisers, schedulers, trainer, RNG state).
        save_interval: iterations between checkpoints (0: only the final one).
        n_saved: interval checkpoints kept (the newest ones).
        save_final: also save when the run completes (or stops early).
    """

    def __init__(
        self,
        save_dir: str | os.PathLike,
        save_dict: Mapping,
        save_interval: int = 0,
        n_saved: int = 2,
        save_final: bool = True,
    ):
        if n_saved < 1:
            raise ValueError(f"n_saved must be at least 1, got {n_saved}")
        self.save_dir, self.save_dict = Path(save_dir), dict(save_dict)
        self.save_interval, self.n_saved, self.save_final = int(save_interval), int(n_saved), bool(save_final)

    def attach(self, engine: Engine) -> None:
        remove_stale_temporaries(self.save_dir, "checkpoint_*.pt")  # left by a process killed while saving
        if self.save_interval > 0:
            engine.add_event_handler(
                Events.ITERATION_COMPLETED(every=self.save_interval), self.save_interval_checkpoint
            )
        if self.save_final:
            engine.add_event_handler(Events.COMPLETED, self.save_final_checkpoint)
        engine.add_event_handler(Events.EXCEPTION_RAISED, self.save_on_nonfinite_loss)

    def save_on_nonfinite_loss(self, engine: Engine, error: BaseException) -> None:
        """A NaN/Inf loss stops the run after saving the last good state (the trainer checks losses before any
        update, so the weights are still finite); the error is raised again. A rerun resumes from this state."""
        from common.engines.unpaired_trainer import NonFiniteLossError

        if isinstance(error, NonFiniteLossError):
            self._write(f"checkpoint_nonfinite_iteration={engine.state.iteration}.pt")
        raise error

    def _write(self, name: str) -> Path:
        path = self.save_dir / name
        state = {key: obj.state_dict() for key, obj in self.save_dict.items()}
        with atomic_path(path, overwrite=True) as tmp:
            torch.save(state, tmp)
        return path

    def save_interval_checkpoint(self, engine: Engine) -> Path:
        path = self._write(f"checkpoint_iteration={engine.state.iteration}.pt")
        kept = sorted(self.save_dir.glob("checkpoint_iteration=*.pt"), key=lambda p: int(p.stem.split("=")[-1]))
        for old in kept[: -self.n_saved]:
            old.unlink(missing_ok=True)
        return path

    def save_final_checkpoint(self, engine: Engine) -> Path:
        return self._write(f"checkpoint_final_iteration={engine.state.iteration}.pt")
