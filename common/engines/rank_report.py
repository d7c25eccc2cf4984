"""A per-rank report at the end of a distributed run: how far each rank got and whether the weights agree."""

from __future__ import annotations

import hashlib
import inspect
import json
import os

import torch
from ignite.engine import Engine, Events

from common.distributed import get_rank, get_world_size
from common.io.atomic import atomic_path

__all__ = ["RankReport", "attached_handlers", "parameter_digest"]


def parameter_digest(module: torch.nn.Module) -> str:
    """SHA-256 of every parameter's bytes in ``state_dict`` order: equal on all ranks iff their weights are equal."""
    digest = hashlib.sha256()
    for name, p in module.named_parameters():
        digest.update(name.encode())
        digest.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def attached_handlers(engine: Engine) -> list[str]:
    """Class names of the handler objects attached to ``engine`` (a bound method or callable object names its
    class, a plain function itself)."""
    names = set()
    for handlers in engine._event_handlers.values():  # Ignite keeps no public list of handlers
        for handler, _, _ in handlers:
            while hasattr(handler, "__wrapped__"):  # event filters wrap the handler
                handler = handler.__wrapped__
            owner = getattr(handler, "__self__", None)
            if owner is not None:
                names.add(type(owner).__name__)
            elif inspect.isfunction(handler):
                names.add(handler.__qualname__)
            else:  # a callable object
                names.add(type(handler).__name__)
    return sorted(names)


class RankReport:
    """At ``COMPLETED``, write ``directory/rank_R.json`` with the rank, world size, iterations run, the number of
    samples this rank drew, :func:`parameter_digest` of the method (DDP keeps the digests identical) and the
    classes of the handlers attached to the trainer on this rank (which ranks save, log and track).

    Args:
        directory: folder of the reports (created).
        method: the trained module whose parameters are digested.
    """

    def __init__(self, directory: str | os.PathLike, method: torch.nn.Module):
        self.directory, self.method = os.fspath(directory), method
        self.samples = 0

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._count)
        engine.add_event_handler(Events.COMPLETED, self._write)

    def _count(self, engine: Engine) -> None:
        output = engine.state.output
        images = output[0]["images"] if isinstance(output, list) else {}
        self.samples += int(images["A"].shape[0]) if "A" in images else 0

    def _write(self, engine: Engine) -> None:
        os.makedirs(self.directory, exist_ok=True)
        rank = get_rank()
        report = {
            "rank": rank,
            "world_size": get_world_size(),
            "iteration": int(engine.state.iteration),
            "samples": self.samples,
            "parameter_digest": parameter_digest(self.method),
            "handlers": attached_handlers(engine),
        }
        with atomic_path(os.path.join(self.directory, f"rank_{rank}.json"), overwrite=True) as tmp:
            with open(tmp, "w") as f:
                json.dump(report, f, indent=2)
