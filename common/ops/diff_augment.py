"""Differentiable augmentation of the discriminators' inputs (DiffAugment, Zhao et al. 2020): with a few training
images a discriminator memorises them within tens of iterations and its gradients stop teaching the generator;
random shifts and cut-out squares, applied to real and translated images alike before the discriminator, keep it
from memorising while the generator's gradient passes through unchanged in value.

Only geometric, intensity-preserving operations: the discriminator never sees a rescaled or recoloured image, so
the augmentation cannot teach the generator to change intensities. Ui2i's scale augmentation
(:mod:`common.ops.scale_augment`) is the same idea with one operation.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DiffAugment", "diff_augment", "AUGMENT_POLICIES"]

#: the operations a policy may name
AUGMENT_POLICIES = ("translation", "cutout")


def _parse(policy: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if policy is None:
        return ()
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    names = [n.strip().lower() for n in names if n.strip() and n.strip().lower() != "none"]
    unknown = [n for n in names if n not in AUGMENT_POLICIES]
    if unknown:
        raise ValueError(f"augmentation policy must name operations among {AUGMENT_POLICIES} or 'none', got {policy!r}")
    return tuple(dict.fromkeys(names))


def _translate(x: torch.Tensor, ratio: float) -> torch.Tensor:
    """Shift each sample by a random whole number of pixels, up to ``ratio`` of each side, filling with zeros."""
    spatial = x.shape[2:]
    limits = [max(1, int(round(s * ratio))) for s in spatial]
    pad = [p for lim in reversed(limits) for p in (lim, lim)]
    padded = torch.nn.functional.pad(x, pad)
    out = []
    for i in range(x.shape[0]):
        shifts = [int(torch.randint(0, 2 * lim + 1, ())) for lim in limits]
        index = (i, slice(None)) + tuple(slice(d, d + s) for d, s in zip(shifts, spatial, strict=True))
        out.append(padded[index])
    return torch.stack(out)


def _cutout(x: torch.Tensor, ratio: float) -> torch.Tensor:
    """Zero one random box of ``ratio`` of each side per sample (a multiplicative mask: gradients pass elsewhere)."""
    spatial = x.shape[2:]
    sizes = [max(1, int(round(s * ratio))) for s in spatial]
    mask = torch.ones((x.shape[0], 1) + tuple(spatial), dtype=x.dtype, device=x.device)
    for i in range(x.shape[0]):
        starts = [int(torch.randint(0, s - c + 1, ())) for s, c in zip(spatial, sizes, strict=True)]
        mask[(i, slice(None)) + tuple(slice(a, a + c) for a, c in zip(starts, sizes, strict=True))] = 0
    return x * mask


def diff_augment(
    x: torch.Tensor, policy: str | tuple[str, ...] | None, *, translation: float = 0.125, cutout: float = 0.5
) -> torch.Tensor:
    """Apply the operations of ``policy`` to ``x`` (``(N, C, *S)``, 2D or 3D), fresh random draws per sample from
    torch's global generator (so that a resumed run, which restores it, draws the same).

    Args:
        x: images.
        policy: ``"translation"``, ``"cutout"``, ``"translation,cutout"`` or ``None``/``"none"``.
        translation: the largest shift as a fraction of each side (DiffAugment: 1/8).
        cutout: the side of the zeroed box as a fraction of each side (DiffAugment: 1/2).

    Shapes:
        ``(N, C, *S)`` -> the same.
    """
    ops = _parse(policy)
    if "translation" in ops:
        x = _translate(x, translation)
    if "cutout" in ops:
        x = _cutout(x, cutout)
    return x


class DiffAugment(nn.Module):
    """:func:`diff_augment` as a module, active in training mode only (identity in eval mode or without a policy).

    Args:
        policy: see :func:`diff_augment`.
    """

    def __init__(self, policy: str | tuple[str, ...] | None = None):
        super().__init__()
        self.policy = _parse(policy)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.policy:
            return x
        return diff_augment(x, self.policy)

    def extra_repr(self) -> str:
        return f"policy={','.join(self.policy) or 'none'}"
