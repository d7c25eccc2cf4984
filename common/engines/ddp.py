"""Wrap each network of a translation method in its own ``DistributedDataParallel``.

A method calls its networks in several ways: ``forward``, but also ``UNetGenerator.forward_with_bottleneck``
(Ui2i's content losses) and ``ResnetGenerator.encode_layers`` (CUT's PatchNCE). DDP synchronises gradients only
for calls that go through its own ``forward``, so :func:`distribute_method` routes every such entry point of a
network through that network's DDP wrapper:

* each network (``generator_modules()`` and ``discriminator_modules()``) gets its own DDP; networks that share
  parameters (Ui2i's two generators share the bottleneck) share one, so no parameter is reduced twice;
* a call from inside another entry point of the same network (``forward`` calling ``forward_with_bottleneck``)
  stays inside the DDP call already made;
* a call with gradients off, or on a network whose parameters are all frozen (the discriminators during the
  generator step), bypasses DDP: nothing to synchronise, and no collective is entered (rank-0-only validation
  and sample grids cannot dead-lock);
* buffers (batch-norm statistics, ABSN's power-iteration vectors) are copied from rank 0 once, at construction,
  then stay per rank like the batch statistics, PatchNCE negatives and image pools;
* the wrappers live outside the method's module tree, so ``method.state_dict()`` keeps its single-process keys:
  checkpoints of a DDP run load in a single process and back.

DDP's constructor broadcasts rank 0's parameters, so all ranks start from the same weights.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from common.methods.base import TranslationMethod

__all__ = ["distribute_method", "distributed_units", "ENTRY_POINTS"]

#: network methods other than ``forward`` that translation methods call with gradients
ENTRY_POINTS = ("forward", "forward_with_bottleneck", "encode_layers")


class _Unit(nn.Module):
    """The module one DDP wraps: one network, or several sharing parameters; ``forward(index, entry, ...)``
    calls entry point ``entry`` of network ``index``."""

    def __init__(self, networks: list[nn.Module]):
        super().__init__()
        self.networks = nn.ModuleList(networks)
        self.calls: dict[tuple[int, str], object] = {}
        self.active = False  # inside a call: entry points calling each other must not re-enter DDP

    def forward(self, index: int, entry: str, *args, **kwargs):
        self.active = True
        try:
            return self.calls[(index, entry)](*args, **kwargs)
        finally:
            self.active = False


class _Route:
    """Replaces a network's entry point: through DDP when gradients will flow into its parameters."""

    def __init__(self, ddp: DistributedDataParallel, index: int, entry: str, original, params: list[nn.Parameter]):
        self.ddp, self.index, self.entry, self.original, self.params = ddp, index, entry, original, params

    def __call__(self, *args, **kwargs):
        if not self.ddp.module.active and torch.is_grad_enabled() and any(p.requires_grad for p in self.params):
            return self.ddp(self.index, self.entry, *args, **kwargs)
        return self.original(*args, **kwargs)

    def __deepcopy__(self, memo):
        raise TypeError("a network wrapped for DistributedDataParallel cannot be deep-copied; copy it before")


def _groups(networks: list[nn.Module]) -> list[list[nn.Module]]:
    """Partition networks into groups that share no parameter with another group (union-find on parameters)."""
    parent = list(range(len(networks)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for i, net in enumerate(networks):
        for p in net.parameters():
            j = owner.setdefault(id(p), i)
            parent[find(i)] = find(j)
    groups: dict[int, list[nn.Module]] = {}
    for i, net in enumerate(networks):
        groups.setdefault(find(i), []).append(net)
    return list(groups.values())


def distribute_method(
    method: TranslationMethod, device: torch.device | str, find_unused_parameters: bool = False
) -> list[DistributedDataParallel]:
    """Wrap the method's networks for DDP in place (see the module docstring). Needs a process group.

    Args:
        method: the method, already on ``device``; wrap it after any deep copy (EMA) is made.
        device: this rank's device (``cuda:LOCAL_RANK`` or ``cpu``).
        find_unused_parameters: DDP's option, for custom methods that leave parameters unused in a step.

    Returns:
        The DDP wrappers (one per independent network or group of networks sharing parameters).
    """
    if getattr(method, "_ddp_units", None):
        raise ValueError(f"method {method.name!r} is already wrapped for DistributedDataParallel")
    device = torch.device(device)
    networks, seen = [], set()
    for net in [*method.generator_modules(), *method.discriminator_modules()]:
        if id(net) not in seen and any(p.requires_grad for p in net.parameters()):
            seen.add(id(net))
            networks.append(net)
    wrappers = []
    for group in _groups(networks):
        unit = _Unit(group)
        ddp = DistributedDataParallel(
            unit,
            device_ids=[device.index] if device.type == "cuda" else None,
            forward_sync_buffers=False,  # synced once at construction, then per rank
            find_unused_parameters=find_unused_parameters,
        )
        for index, net in enumerate(group):
            params = [p for p in net.parameters() if p.requires_grad]
            for entry in ENTRY_POINTS:
                original = getattr(type(net), entry, None)
                if original is None:
                    continue
                bound = original.__get__(net)
                unit.calls[(index, entry)] = bound
                object.__setattr__(net, entry, _Route(ddp, index, entry, bound, params))
        wrappers.append(ddp)
    object.__setattr__(method, "_ddp_units", wrappers)
    return wrappers


def distributed_units(method: TranslationMethod) -> list[DistributedDataParallel]:
    """The DDP wrappers :func:`distribute_method` made (empty when the method runs in one process)."""
    return list(getattr(method, "_ddp_units", []))
