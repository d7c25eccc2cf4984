"""Steganography probe (seed 004; Chu et al. 2017): does the cycle depend on a hidden high-frequency copy of the
input? The translation is DCT low-pass filtered before the reverse generator; a clean translation cycles about as
well with or without the filter, a steganographic one fails once its hidden signal is removed. Also reports the
share of the translation's energy above the cutoff."""

from __future__ import annotations

import torch
from torch import nn

from common.ops.dct import dct_lowpass, high_frequency_fraction

__all__ = ["steganography_probe"]


@torch.no_grad()
def steganography_probe(
    generator_ab: nn.Module, generator_ba: nn.Module, real_a: torch.Tensor, cutoff: float = 0.5, spatial_dims: int = 2
) -> dict[str, float]:
    """Cycle errors with and without a low-pass filter on the translation.

    Args:
        generator_ab, generator_ba: the two generators (eval mode is the caller's choice).
        real_a: ``(N, C, *S)`` inputs.
        cutoff: DCT cutoff (fraction of frequencies kept per axis).
        spatial_dims: 2 or 3.

    Returns:
        ``cycle_mae``, ``cycle_mae_lowpass``, ``degradation`` (their difference: ~0 for a clean translation) and
        ``high_frequency_fraction`` of the translation.
    """
    fake_b = generator_ab(real_a)
    plain = (generator_ba(fake_b) - real_a).abs().mean()
    filtered = (generator_ba(dct_lowpass(fake_b, cutoff, spatial_dims)) - real_a).abs().mean()
    return {
        "cycle_mae": float(plain),
        "cycle_mae_lowpass": float(filtered),
        "degradation": float(filtered - plain),
        "high_frequency_fraction": float(high_frequency_fraction(fake_b, cutoff, spatial_dims).mean()),
    }
