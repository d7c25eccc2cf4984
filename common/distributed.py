"""Process-group helpers for ``torchrun`` launches (the bundles' ``multi_gpu_train.json``).

``torchrun`` sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` for every worker;
:func:`init_distributed` reads them, joins the process group (NCCL on GPU, gloo on CPU) and returns this worker's
device. Everything else works in a single process as well (rank 0 of a world of 1).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist

__all__ = [
    "cleanup_distributed",
    "get_rank",
    "get_world_size",
    "init_distributed",
    "is_distributed",
    "main_process_first",
]

_TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def is_distributed() -> bool:
    """Whether a process group is up."""
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This worker's global rank (0 without a process group)."""
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """Number of workers (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def init_distributed(backend: str | None = None) -> torch.device:
    """Join the process group ``torchrun`` prepared and return this worker's device.

    Args:
        backend: ``"nccl"``, ``"gloo"``; default NCCL when CUDA is available, else gloo.

    Returns:
        ``cuda:LOCAL_RANK`` (made the current CUDA device) or ``cpu``.

    Raises:
        RuntimeError: when not launched by ``torchrun`` (its environment variables are missing).
    """
    missing = [name for name in _TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise RuntimeError(
            f"multi-process training must be launched by torchrun (missing environment variables: "
            f"{', '.join(missing)}); e.g. torchrun --nproc_per_node=2 -m monai.bundle run training --config_file "
            "\"['configs/train.json','configs/multi_gpu_train.json']\""
        )
    cuda = torch.cuda.is_available()
    if backend is None:
        backend = "nccl" if cuda else "gloo"
    local_rank = int(os.environ["LOCAL_RANK"])
    device = torch.device(f"cuda:{local_rank}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if not is_distributed():
        dist.init_process_group(backend=backend, device_id=device if cuda else None)
    return device


def cleanup_distributed() -> None:
    """Leave the process group (the bundles' ``finalize``); nothing to do without one.

    Ignite adopts a process group the first time it is asked for the world size (MONAI's metrics ask) and keeps it
    after ``destroy_process_group``: it is made to forget it too, so that later runs in the same process (a
    notebook, a pytest run) are single-process again."""
    from ignite.distributed import utils as idist

    if idist.model_name() != "serial":
        if is_distributed():
            idist.finalize()  # destroys the group and returns Ignite to its serial model
        else:
            idist._set_model(idist._SerialModel())  # the group is gone already; no public reset for this case
    elif is_distributed():
        dist.destroy_process_group()


@contextmanager
def main_process_first() -> Iterator[None]:
    """Run the body on rank 0 first, then on the other ranks (e.g. write shared files once, then read them).

    Every rank must enter it (it holds barriers); without a process group it is a no-op."""
    if is_distributed() and get_rank() != 0:
        dist.barrier()
    try:
        yield
    finally:
        if is_distributed() and get_rank() == 0:
            dist.barrier()
