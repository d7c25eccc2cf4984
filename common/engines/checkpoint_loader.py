"""Resume from a training checkpoint that may predate an optional part of the training state.

MONAI's ``CheckpointLoader`` (Ignite's ``Checkpoint.load_objects``) stops with a ``ValueError`` ("Key ... is not
found") when the checkpoint lacks any object of its ``load_dict``. Most of a run's state cannot be missing without
the resume being wrong (networks, optimisers, schedulers, the trainer's counters, the random state), but some can:
the learned error head (:class:`~common.engines.ErrorHeadTrainer`), added after a run began, is an auxiliary network
that does not change the generators' training. :class:`ResumeLoader` names such parts ``optional``: a checkpoint
without them resumes everything else, with a warning that they start afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from ignite.engine import Engine
from monai.handlers import CheckpointLoader

__all__ = ["ResumeLoader"]

logger = logging.getLogger(__name__)


class ResumeLoader(CheckpointLoader):
    """MONAI's ``CheckpointLoader`` that lets the ``optional`` parts of ``load_dict`` be absent from the checkpoint.

    Args:
        load_path: the checkpoint file; ``None``: nothing to resume (a fresh run), and attaching does nothing.
        load_dict: name -> object with ``load_state_dict``, as MONAI's.
        optional: names of ``load_dict`` that may be missing from the file; they are then left as they are (with a
            warning) and everything else is restored.
        kwargs: MONAI's ``CheckpointLoader`` arguments (``map_location``, ``strict``, ...).

    Raises:
        ValueError: an ``optional`` name that is not in ``load_dict``.
    """

    def __init__(self, load_path: str | None, load_dict: dict, optional: Sequence[str] = (), **kwargs):
        super().__init__(load_path="" if load_path is None else load_path, load_dict=load_dict, **kwargs)
        self.fresh = load_path is None
        unknown = sorted(set(optional) - set(load_dict))
        if unknown:
            raise ValueError(f"optional names {unknown} are not in load_dict ({sorted(load_dict)})")
        self.optional = tuple(optional)

    def attach(self, engine: Engine) -> None:
        if not self.fresh:
            super().attach(engine)

    def __call__(self, engine: Engine) -> None:
        stored = torch.load(self.load_path, map_location="cpu", weights_only=True, mmap=True)
        missing = [name for name in self.optional if name not in stored]
        del stored
        if not missing:
            return super().__call__(engine)
        logger.warning(
            "%s has no %s (written before it was part of training): resuming everything else, %s starting afresh",
            self.load_path, ", ".join(missing), "they are" if len(missing) > 1 else "it is",
        )  # fmt: skip
        full = self.load_dict
        self.load_dict = {name: obj for name, obj in full.items() if name not in missing}
        try:
            super().__call__(engine)
        finally:
            self.load_dict = full
