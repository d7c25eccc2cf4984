"""Which training and validation handlers a process of a distributed run attaches.

Every rank steps its learning-rate schedulers and runs validation (MONAI's metrics gather across ranks, so every
rank must take part), and writes its own :class:`~common.engines.RankReport`; what writes the run's files - model
and checkpoint files, logs, sample grids, the report, MLflow, the progress bar - runs on rank 0 alone, so that
nothing is written twice. A single-process run keeps every handler.
"""

from __future__ import annotations

from collections.abc import Sequence

import ignite.distributed as idist
from monai.handlers import LrScheduleHandler, ValidationHandler

from common.engines.rank_report import RankReport

__all__ = ["EVERY_RANK", "rank_handlers"]

#: the handler types every rank attaches
EVERY_RANK = (LrScheduleHandler, ValidationHandler, RankReport)


def rank_handlers(handlers: Sequence | None, first: Sequence = ()) -> list:
    """``first`` then ``handlers``, keeping on ranks above 0 only those of the :data:`EVERY_RANK` types.

    Args:
        handlers: the run's handlers (``None``: none).
        first: handlers attached before them on every rank (e.g. the rank report).
    """
    chosen = [*first, *(handlers or [])]
    if idist.get_rank() == 0:
        return chosen
    return [h for h in chosen if isinstance(h, EVERY_RANK)]
