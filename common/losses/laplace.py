"""Laplace likelihood of an absolute error: how a network learns the size of another network's error.

A network that predicts a per-pixel log-scale ``s`` of the absolute error ``r`` is trained with the negative
log-likelihood of a Laplace distribution, ``r exp(-s) + s`` (constants dropped); its minimiser over ``s`` is
``log r``, so ``exp(s)`` estimates the expected absolute error in the units of ``r``. Unlike an L1 regression of
``r`` itself, the loss weighs small and large errors alike in relative terms, so dim and bright structures are
ranked on the same footing.
"""

from __future__ import annotations

import torch

__all__ = ["laplace_nll"]


def laplace_nll(error: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of absolute errors under a Laplace scale ``exp(log_scale)``.

    Args:
        error: ``(N, C, *S)`` absolute errors (non-negative).
        log_scale: ``(N, C, *S)`` predicted log-scales.

    Raises:
        ValueError: shapes that differ.
    """
    if error.shape != log_scale.shape:
        raise ValueError(f"error and log_scale shapes differ: {tuple(error.shape)} and {tuple(log_scale.shape)}")
    return (error * torch.exp(-log_scale) + log_scale).mean()
