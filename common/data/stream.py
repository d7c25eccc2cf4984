"""A sampler that continues from any position: the data stream of a resumable training run."""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Sampler

__all__ = ["StreamSampler"]


class StreamSampler(Sampler[int]):
    """Yield indices ``start, start + 1, ..., length - 1`` in order.

    With an index-deterministic dataset (``UnpairedDataset(seed=...)``), the batch of iteration ``t`` is fixed
    by ``t`` alone; a trainer resuming at iteration ``t`` sets ``start = t * batch_size`` before iterating.

    Args:
        length: total number of indices (e.g. ``max_iterations * batch_size``).
    """

    def __init__(self, length: int):
        if length < 1:
            raise ValueError(f"length must be positive, got {length}")
        self.length = int(length)
        self.start = 0

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.length))

    def __len__(self) -> int:
        return self.length - self.start
