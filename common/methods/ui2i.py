"""Ui2i (NeurIPS 2025): U-Net generators without feature normalisation, ABSN on every weight, channel-spatial
attention, Lanczos upsampling, a shared bottleneck, a stacked 3-class domain discriminator, a content discriminator
on bottleneck features, an N-pair contrastive loss and differentiable scale augmentation.

The stacked discriminator sees ``cat([image of A, image of B])`` and classifies it as *real* (two real images),
*fake* (the two translations, through an image pool) or *identity* (each real image passed through the generator
into its own domain); the generators want their translations classified as real. The content discriminator tells
bottleneck features of A from those of B; the generators try to make them indistinguishable. Defaults are the
paper's: ``lambda_cyc`` 10, ``lambda_id`` 1, ``lambda_cl`` 0.1, scale augmentation in [0.75, 1.5], pool 50, Adam
(0.5, 0.999) at 2e-4 for the paper's width (64 features in the generators' first level). Other widths get ``2e-4 *
sqrt(64 / features[0])`` (``width_scaled_lr``): a narrower network needs a larger step. At the paper's width nothing
changes; wider networks get less (1.4e-4 for 128 features: not measured). The benchmark's CPU networks (16 features)
get 4e-4, which narrowed their seed spread on the if_unmixing phantoms; the paper's 64 features stall at 4e-4. A
``learning_rate`` given to ``make_optimizers`` (the bundles' ``--learning_rate``) overrides the rule.

The paper does not say how the convolutions pad; ``padding_mode`` "replicate" (the default) repeats the edge pixels:
with zeros, the normalisation-free generators drew a dark frame around every translation of the IHC phantoms (white
brightfield background at 1.0 against the padding's 0).
The paper names ABSN for the generators and "a single PatchGAN" for the domain discriminator: ``disc_norm``
"instance" (the default) gives it PatchGAN's instance norm and leaves the content discriminator unnormalised; "absn"
puts ABSN on both discriminators, which then barely tell real stacks from translated ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from common.losses.adversarial import FAKE, IDENTITY, REAL, GANLoss, stacked_domain_loss
from common.losses.contrastive import npair_contrastive_loss
from common.methods.base import StepOutput, TranslationMethod
from common.networks.discriminators import stacked_domain_discriminator
from common.networks.options import DiscriminatorNorm, choose
from common.networks.ui2i import ContentDiscriminator, make_ui2i_generators
from common.ops.image_pool import ImagePool
from common.ops.scale_augment import RandScaleAugment

__all__ = ["PAPER_LR", "PAPER_WIDTH", "Ui2i", "width_scaled_lr"]

#: the paper's Adam learning rate, for generators whose first level has ``PAPER_WIDTH`` features
PAPER_LR = 2e-4
PAPER_WIDTH = 64


def width_scaled_lr(width: int, lr: float = PAPER_LR, reference_width: int = PAPER_WIDTH) -> float:
    """The learning rate for generators whose first level has ``width`` features: ``lr * sqrt(reference_width /
    width)`` (4e-4 for 16 features, the paper's 2e-4 for 64).

    Raises:
        ValueError: if ``width`` or ``reference_width`` is not a positive integer or ``lr`` is not positive.
    """
    if int(width) != width or width < 1 or int(reference_width) != reference_width or reference_width < 1:
        raise ValueError(f"width and reference_width must be positive integers, got {width!r} and {reference_width!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    return float(lr) * math.sqrt(reference_width / width)


class Ui2i(TranslationMethod):
    """Ui2i; see the module docstring."""

    name = "ui2i"

    def __init__(
        self,
        spatial_dims: int = 2,
        channels_a: int = 3,
        channels_b: int = 3,
        features: tuple[int, ...] = (64, 128, 256, 512),
        output_act: str | None = None,
        attention: bool = True,
        absn: bool = True,
        padding_mode: str = "replicate",
        ndf: int = 64,
        n_layers_d: int = 3,
        disc_norm: str = "instance",
        content_hidden: int = 256,
        gan_mode: str = "lsgan",
        lambda_adv: float = 1.0,
        lambda_content: float = 1.0,
        lambda_cyc: float = 10.0,
        lambda_id: float = 1.0,
        lambda_cl: float = 0.1,
        cl_temperature: float = 0.1,
        scale_range: tuple[float, float] = (0.75, 1.5),
        pool_size: int = 50,
        seed: int = 0,
        **addons,
    ):
        super().__init__(spatial_dims, channels_a, channels_b, **addons)
        if min(lambda_adv, lambda_content, lambda_cyc, lambda_id, lambda_cl) < 0:
            raise ValueError("loss weights must be non-negative")
        self.generator_ab, self.generator_ba = make_ui2i_generators(
            spatial_dims,
            channels_a,
            channels_b,
            tuple(features),
            output_act=output_act,
            absn=absn,
            attention=attention,
            padding_mode=padding_mode,
        )
        disc_norm = choose(disc_norm, DiscriminatorNorm, "disc_norm").value
        self.disc_domain = stacked_domain_discriminator(
            spatial_dims,
            channels_a,
            channels_b,
            ndf,
            n_layers_d,
            absn=disc_norm == "absn",
            norm="instance" if disc_norm == "instance" else None,
        )
        self.disc_content = ContentDiscriminator(spatial_dims, features[-1], content_hidden, disc_norm == "absn")
        self.optimizer = dict(self.optimizer, lr=width_scaled_lr(features[0]))  # the class's spec stays the paper's
        self.gan = GANLoss(gan_mode)
        self.scale = RandScaleAugment(scale_range[0], scale_range[1], seed=seed)
        self.pool = ImagePool(pool_size, seed=seed)
        self.lambda_adv, self.lambda_content, self.lambda_cyc = (
            float(lambda_adv),
            float(lambda_content),
            float(lambda_cyc),
        )
        self.lambda_id, self.lambda_cl, self.cl_temperature = float(lambda_id), float(lambda_cl), float(cl_temperature)
        self.identity = channels_a == channels_b  # identity images need G_BA(a): same channels
        self.settings = {
            "features": str(tuple(features)),
            "attention": attention,
            "absn": absn,
            "padding_mode": padding_mode,
            "disc_norm": disc_norm,
            "scale_range": str(tuple(scale_range)),
            "pool_size": pool_size,
            "gan_mode": gan_mode,
        }

    @classmethod
    def build_generator_ab(
        cls, spatial_dims: int, channels_a: int, channels_b: int, hyperparameters: Mapping
    ) -> nn.Module:
        h = cls.keyword_defaults() | dict(hyperparameters)
        options = {k: h[k] for k in ("output_act", "absn", "attention", "padding_mode")}
        return make_ui2i_generators(spatial_dims, channels_a, channels_b, tuple(h["features"]), **options)[0]

    def generator_modules(self) -> list[nn.Module]:
        return [self.generator_ab, self.generator_ba]  # the shared bottleneck's parameters appear once

    def generator_parameters(self) -> list[nn.Parameter]:
        seen, params = set(), []
        for p in super().generator_parameters():
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
        return params

    def discriminator_modules(self) -> list[nn.Module]:
        return [self.disc_domain, self.disc_content]

    def generator_terms(self, real_a: torch.Tensor, real_b: torch.Tensor, step: int) -> tuple[dict, dict]:
        fake_b, z_a = self.generator_ab.forward_with_bottleneck(real_a)
        fake_a, z_b = self.generator_ba.forward_with_bottleneck(real_b)
        rec_a, z_fake_b = self.generator_ba.forward_with_bottleneck(self.low_pass(fake_b))
        rec_b, z_fake_a = self.generator_ab.forward_with_bottleneck(self.low_pass(fake_a))
        (stacked,) = self.scale(torch.cat([fake_a, fake_b], dim=1))
        terms = {
            "G_adv_domain": self.lambda_adv * stacked_domain_loss(self.judge(self.disc_domain, stacked), REAL),
            # content: features of A should look like B's and vice versa (flipped labels)
            "G_adv_content": self.lambda_content
            * 0.5
            * (self.gan(self.disc_content(z_a), False) + self.gan(self.disc_content(z_b), True)),
            "G_cyc_A": self.lambda_cyc * self.l1(rec_a, real_a),
            "G_cyc_B": self.lambda_cyc * self.l1(rec_b, real_b),
            "G_cl": self.lambda_cl
            * (
                npair_contrastive_loss(z_a, z_fake_b, self.cl_temperature)
                + npair_contrastive_loss(z_b, z_fake_a, self.cl_temperature)
            ),
        }
        images = {"fake_B": fake_b, "rec_A": rec_a, "fake_A": fake_a, "rec_B": rec_b, "z_A": z_a, "z_B": z_b}
        if self.identity:
            idt_a, idt_b = self.generator_ba(real_a), self.generator_ab(real_b)
            terms["G_id_A"] = self.lambda_id * self.l1(idt_a, real_a)
            terms["G_id_B"] = self.lambda_id * self.l1(idt_b, real_b)
            images.update(idt_A=idt_a, idt_B=idt_b)
        return terms, images

    def discriminator_step(self, real_a, real_b, images, step: int) -> StepOutput:
        real = torch.cat([real_a, real_b], dim=1)
        fake = self.pool.query(torch.cat([images["fake_A"], images["fake_B"]], dim=1))
        batches = [real, fake] + (
            [torch.cat([images["idt_A"], images["idt_B"]], dim=1).detach()] if "idt_A" in images else []
        )
        scaled = self.scale(*batches)
        d_domain = stacked_domain_loss(self.judge(self.disc_domain, scaled[0]), REAL) + stacked_domain_loss(
            self.judge(self.disc_domain, scaled[1]), FAKE
        )
        if len(scaled) == 3:
            d_domain = d_domain + stacked_domain_loss(self.judge(self.disc_domain, scaled[2]), IDENTITY)
        d_domain = d_domain / len(scaled)
        z_a, z_b = images["z_A"].detach(), images["z_B"].detach()
        d_content = 0.5 * (self.gan(self.disc_content(z_a), True) + self.gan(self.disc_content(z_b), False))
        loss = self.lambda_adv * d_domain + self.lambda_content * d_content
        return StepOutput(loss, {"D_domain": d_domain.detach(), "D_content": d_content.detach()})

    def get_extra_state(self) -> dict:
        return {"pool": self.pool.state_dict(), "scale_rng": self.scale.generator.get_state()}

    def set_extra_state(self, state: dict) -> None:
        self.pool.load_state_dict(state["pool"])
        self.scale.generator.set_state(state["scale_rng"])

    def hyperparameters(self) -> dict:
        return (
            super().hyperparameters()
            | self.settings
            | {
                "lambda_adv": self.lambda_adv,
                "lambda_content": self.lambda_content,
                "lambda_cyc": self.lambda_cyc,
                "lambda_id": self.lambda_id,
                "lambda_cl": self.lambda_cl,
            }
        )
