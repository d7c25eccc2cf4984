"""Adversarial losses: least squares (LSGAN), vanilla (logits + binary cross-entropy) and hinge, for single or
multi-scale patch discriminators, and the three-class loss of Ui2i's stacked domain discriminator.

MONAI's ``PatchAdversarialLoss`` adds a LeakyReLU before its least-squares loss by default and a tanh before its
hinge loss; the papers' forms are implemented here instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from common.networks.options import GanMode, choose

__all__ = ["GANLoss", "GAN_MODES", "stacked_domain_loss", "REAL", "FAKE", "IDENTITY"]

GAN_MODES = tuple(m.value for m in GanMode)
REAL, FAKE, IDENTITY = 0, 1, 2


def _predictions(outputs) -> list[torch.Tensor]:
    """Flatten a discriminator output (tensor, MONAI feature list, or one list per scale) into predictions."""
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if outputs and isinstance(outputs[0], (list, tuple)):
        return [o[-1] for o in outputs]
    return [outputs[-1]]


class GANLoss(nn.Module):
    """Adversarial loss averaged over patches and scales.

    Args:
        mode: ``"lsgan"`` (CycleGAN, STABLE), ``"vanilla"`` or ``"hinge"``.

    Call ``loss(outputs, target_is_real, for_discriminator)``: for the discriminator, real outputs should be
    judged real and fake outputs fake; for the generator (``for_discriminator=False``) fakes should be judged
    real (``target_is_real`` is ignored).
    """

    def __init__(self, mode: str = "lsgan"):
        super().__init__()
        mode = choose(mode, GanMode, "gan_mode").value
        self.mode = mode

    def forward(self, outputs, target_is_real: bool = True, for_discriminator: bool = True) -> torch.Tensor:
        real = bool(target_is_real) or not for_discriminator
        losses = [self._one(p, real, for_discriminator) for p in _predictions(outputs)]
        return torch.stack(losses).mean()

    def _one(self, pred: torch.Tensor, real: bool, for_discriminator: bool) -> torch.Tensor:
        if self.mode == "lsgan":
            return F.mse_loss(pred, torch.full_like(pred, 1.0 if real else 0.0))
        if self.mode == "vanilla":
            return F.binary_cross_entropy_with_logits(pred, torch.full_like(pred, 1.0 if real else 0.0))
        if not for_discriminator:
            return -pred.mean()
        return F.relu(1.0 - pred).mean() if real else F.relu(1.0 + pred).mean()


def stacked_domain_loss(outputs, target: int) -> torch.Tensor:
    """Cross-entropy of the stacked domain discriminator's 3-class patch logits against one class for all patches
    (:data:`REAL`, :data:`FAKE` or :data:`IDENTITY`)."""
    if target not in (REAL, FAKE, IDENTITY):
        raise ValueError(f"target must be REAL (0), FAKE (1) or IDENTITY (2), got {target}")
    losses = []
    for logits in _predictions(outputs):
        labels = torch.full(
            (logits.shape[0],) + tuple(logits.shape[2:]), target, device=logits.device, dtype=torch.long
        )
        losses.append(F.cross_entropy(logits, labels))
    return torch.stack(losses).mean()
