"""UTOM-style CycleGAN with saliency consistency (Li et al. 2021): the soft foreground masks of input and
translation must agree, with a weight that decays over training. It assumes bright stays bright between
domains; STABLE Fig. 1D shows a task (cytosolic -> nuclear calcium) where that assumption fails."""

from __future__ import annotations

import torch

from common.losses.saliency import saliency_consistency_loss
from common.methods.cyclegan import CycleGAN
from common.ops.schedules import ExponentialDecay

__all__ = ["UTOM"]


class UTOM(CycleGAN):
    """CycleGAN plus saliency consistency.

    Args:
        lambda_saliency: initial weight of the saliency term.
        saliency_decay: factor applied every ``saliency_decay_every`` iterations.
        threshold_a, threshold_b: intensity thresholds of the masks in each domain (normalised units).
        sharpness: steepness of the soft threshold.
        **kwargs: :class:`~common.methods.cyclegan.CycleGAN` arguments.
    """

    name = "utom"

    def __init__(
        self,
        *args,
        lambda_saliency: float = 1.0,
        saliency_decay: float = 0.9,
        saliency_decay_every: int = 1000,
        threshold_a: float = 0.5,
        threshold_b: float = 0.5,
        sharpness: float = 50.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.saliency_weight = ExponentialDecay(lambda_saliency, saliency_decay, saliency_decay_every)
        self.threshold_a, self.threshold_b, self.sharpness = float(threshold_a), float(threshold_b), float(sharpness)

    def extra_generator_terms(self, real_a, real_b, fake_a, fake_b, step: int) -> dict[str, torch.Tensor]:
        weight = self.saliency_weight(step)
        loss = saliency_consistency_loss(real_a, fake_b, self.threshold_a, self.threshold_b, self.sharpness)
        loss = loss + saliency_consistency_loss(real_b, fake_a, self.threshold_b, self.threshold_a, self.sharpness)
        return {"G_saliency": weight * loss}

    def hyperparameters(self) -> dict:
        return super().hyperparameters() | {
            "lambda_saliency": self.saliency_weight.start,
            "saliency_decay": self.saliency_weight.rate,
            "threshold_a": self.threshold_a,
            "threshold_b": self.threshold_b,
        }
