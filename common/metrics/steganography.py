"""Steganography probe (Chu et al., "CycleGAN, a master of steganography", arXiv 2017; Utz et al.): does the
cycle depend on a hidden copy of the input?

A cycle-consistent pair can cheat by hiding the input in a faint, high-frequency signal of the translation that
the reverse generator decodes. Such a cycle reconstructs its input well, and stops doing so once the translation
is disturbed in a way that leaves its visible content alone: a DCT low-pass (the fine detail goes) or faint noise
(``noise`` times the translation's standard deviation). An honest reverse generator changes its output by about as
much as its input was changed, or less; a decoder of a hidden signal amplifies the faint disturbance many times.
The probe reports the cycle errors with and without each disturbance and the gains of the reverse generator (mean
absolute change of the reconstruction over the mean absolute disturbance; gains rather than error growth, because
a lossy cycle's error hardly moves under a small symmetric disturbance whatever the generator does), and the
translation's share of energy above the cutoff; :func:`hides_input` is the verdict on the gains.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from common.ops.dct import dct_lowpass, high_frequency_fraction

__all__ = ["STEGANOGRAPHY_GAIN", "hides_input", "steganography_probe"]

#: a reconstruction that moves by more than this many times the disturbance of the translation is read as a
#: cycle decoding a hidden copy of its input
STEGANOGRAPHY_GAIN = 2.0


@torch.no_grad()
def steganography_probe(
    generator_ab: nn.Module,
    generator_ba: nn.Module,
    real_a: torch.Tensor,
    *,
    cutoff: float = 0.5,
    spatial_dims: int = 2,
    noise: float = 0.02,
    seed: int = 0,
    cycle_cutoff: float = 1.0,
    fake_b: torch.Tensor | None = None,
) -> dict[str, float]:
    """Cycle errors of ``real_a`` with the translation plain, low-passed and lightly noised.

    Args:
        generator_ab, generator_ba: the two generators (eval mode is the caller's choice).
        real_a: ``(N, C, *S)`` inputs.
        cutoff: DCT cutoff (fraction of frequencies kept per axis).
        spatial_dims: 2 or 3.
        noise: standard deviation of the added Gaussian noise, relative to each translation's own.
        seed: of the noise (the probe is deterministic).
        cycle_cutoff: the DCT low-pass the method itself puts on the cycle path in training (``dct_cutoff``; 1:
            none). The probe then looks at the cycle as trained: every translation goes through that filter
            before the reverse generator, the disturbances are measured after it, and the probe's own low-pass
            keeps ``cutoff`` of the band that filter lets through.
        fake_b: ``generator_ab(real_a)`` when the caller has it already (not computed again).

    Returns:
        ``cycle_mae``, ``cycle_mae_lowpass``, ``cycle_mae_noised``, ``degradation`` (low-passed minus plain: ~0 for
        a clean translation), ``lowpass_gain`` and ``noise_gain`` (change of the reconstruction over the mean
        absolute disturbance of the translation: <= ~1 for an honest cycle) and ``high_frequency_fraction`` of the
        translation.
    """
    fake_b = generator_ab(real_a) if fake_b is None else fake_b

    def seen(x: torch.Tensor) -> torch.Tensor:  # what the reverse generator receives on the trained cycle path
        return dct_lowpass(x, cycle_cutoff, spatial_dims) if cycle_cutoff < 1 else x

    base = seen(fake_b)
    cycled = generator_ba(base)
    plain = (cycled - real_a).abs().mean()
    low = seen(dct_lowpass(fake_b, cutoff * min(1.0, cycle_cutoff), spatial_dims))
    cycled_low = generator_ba(low)
    filtered = (cycled_low - real_a).abs().mean()
    scale = fake_b.flatten(1).std(dim=1).clamp_min(1e-8).view(-1, *([1] * (fake_b.ndim - 1)))
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    jitter = torch.randn(fake_b.shape, generator=generator).to(fake_b.device, fake_b.dtype) * scale * float(noise)
    noisy = seen(fake_b + jitter)
    cycled_noised = generator_ba(noisy)
    noised = (cycled_noised - real_a).abs().mean()
    return {
        "cycle_mae": float(plain),
        "cycle_mae_lowpass": float(filtered),
        "cycle_mae_noised": float(noised),
        "degradation": float(filtered - plain),
        "lowpass_gain": float((cycled_low - cycled).abs().mean() / (base - low).abs().mean().clamp_min(1e-8)),
        "noise_gain": float((cycled_noised - cycled).abs().mean() / (noisy - base).abs().mean().clamp_min(1e-8)),
        "high_frequency_fraction": float(high_frequency_fraction(fake_b, cutoff, spatial_dims).mean()),
    }


def hides_input(probe: Mapping[str, float], gain: float = STEGANOGRAPHY_GAIN) -> bool:
    """Whether a :func:`steganography_probe` result says the cycle decodes a hidden copy of its input: either
    disturbance moves the reconstruction by more than ``gain`` times its own size."""
    return max(float(probe["lowpass_gain"]), float(probe["noise_gain"])) > gain
