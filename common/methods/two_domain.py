"""What two-sided methods with one discriminator per domain share (CycleGAN, UTOM, STABLE): the discriminator
step over image pools, and the pools' place in the method's state (so checkpoints restore them)."""

from __future__ import annotations

import torch

from common.methods.base import StepOutput

__all__ = ["TwoDomainDiscriminators"]


class TwoDomainDiscriminators:
    """Mixin for a :class:`~common.methods.base.TranslationMethod` with ``disc_a``, ``disc_b``, ``pool_a``,
    ``pool_b`` and ``gan``; ``discriminator_weight`` scales the discriminator loss (default 1)."""

    discriminator_weight = 1.0

    def discriminator_step(self, real_a, real_b, images: dict[str, torch.Tensor], step: int) -> StepOutput:
        """LSGAN-style halves for real and (pooled) fake images of each domain."""
        fake_b = self.pool_b.query(images["fake_B"])
        fake_a = self.pool_a.query(images["fake_A"])
        d_b = 0.5 * (self.gan(self.judge(self.disc_b, real_b), True) + self.gan(self.judge(self.disc_b, fake_b), False))
        d_a = 0.5 * (self.gan(self.judge(self.disc_a, real_a), True) + self.gan(self.judge(self.disc_a, fake_a), False))
        return StepOutput(self.discriminator_weight * (d_a + d_b), {"D_A": d_a.detach(), "D_B": d_b.detach()})

    def get_extra_state(self) -> dict:
        return {"pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict()}

    def set_extra_state(self, state: dict) -> None:
        self.pool_a.load_state_dict(state["pool_a"])
        self.pool_b.load_state_dict(state["pool_b"])
