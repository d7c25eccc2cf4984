"""A sampler that continues from any position: the data stream of a resumable training run."""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Sampler

__all__ = ["StreamSampler"]


class StreamSampler(Sampler[int]):
    """Yield positions ``start, start + 1, ..., length - 1`` in order, as dataset indices
    ``position * num_replicas + rank``.

    With an index-deterministic dataset (``UnpairedDataset(seed=...)``), the batch of iteration ``t`` is fixed
    by ``t`` alone; a trainer resuming at iteration ``t`` sets ``start = t * batch_size`` before iterating.

    In a distributed run each rank draws a disjoint share of one stream (the role of a ``DistributedSampler``,
    for both domains at once since each item holds an A and a B sample); the dataset must then hold
    ``length * num_replicas`` items.

    Args:
        length: positions per rank (e.g. ``max_iterations * batch_size``).
        num_replicas: number of ranks sharing the stream.
        rank: this rank, in ``[0, num_replicas)``.
    """

    def __init__(self, length: int, num_replicas: int = 1, rank: int = 0):
        if length < 1:
            raise ValueError(f"length must be positive, got {length}")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"need num_replicas >= 1 and 0 <= rank < num_replicas, got {num_replicas}, {rank}")
        self.length = int(length)
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.start = 0

    def __iter__(self) -> Iterator[int]:
        step = self.num_replicas
        return iter(range(self.start * step + self.rank, self.length * step, step))

    def __len__(self) -> int:
        return self.length - self.start
