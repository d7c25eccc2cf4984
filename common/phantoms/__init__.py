"""Ground-truth phantoms for every task, written in the task's real file format and dataset layout."""

from common.phantoms.dataset import (
    DEFAULT_SIZES,
    TASKS,
    dataset_or_phantoms,
    ensure_phantoms,
    make_phantoms,
    task_sampler,
)

__all__ = ["DEFAULT_SIZES", "TASKS", "dataset_or_phantoms", "ensure_phantoms", "make_phantoms", "task_sampler"]
