"""Pad a batch so each spatial size is a multiple of ``k`` (and crop it back), for encoder-decoder networks.

Written in the subset of Python that TorchScript compiles, as the generators call it in ``forward``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["pad_to_multiple", "crop_to"]


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "reflect") -> tuple[torch.Tensor, list[int]]:
    """Pad the spatial dimensions of ``x`` (``(N, C, *spatial)``) at their end to multiples of ``multiple``.

    Reflection padding is used where the image is large enough, replication otherwise.

    Returns:
        the padded tensor and the original spatial sizes (for :func:`crop_to`).
    """
    sizes: list[int] = []
    for i in range(2, x.dim()):
        sizes.append(x.shape[i])
    pads: list[int] = []
    total = 0
    small = False
    for j in range(len(sizes) - 1, -1, -1):  # F.pad lists the last dimension first
        extra = (multiple - sizes[j] % multiple) % multiple
        pads.append(0)
        pads.append(extra)
        total += extra
        if extra >= sizes[j]:
            small = True
    if total == 0:
        return x, sizes
    use = "replicate" if mode == "reflect" and small else mode
    return F.pad(x, pads, mode=use), sizes


def crop_to(x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Crop the spatial dimensions of ``x`` to ``sizes`` (from the start)."""
    if len(sizes) == 2:
        return x[:, :, : sizes[0], : sizes[1]]
    return x[:, :, : sizes[0], : sizes[1], : sizes[2]]
