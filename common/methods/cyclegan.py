"""CycleGAN (Zhu et al. 2017): two generators, two PatchGAN discriminators, LSGAN, cycle and identity losses,
image pools. Defaults are the paper's: ResNet-9 generators, ``lambda_cyc`` 10, ``lambda_idt`` 0.5 (times
``lambda_cyc``), pools of 50, Adam 2e-4 (0.5, 0.999).

The generators' output is linear by default (``output_act=None``) rather than the paper's tanh: percentile-
normalised microscopy keeps intensities above 1 (bright transients) that a tanh would clip.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from common.losses.adversarial import GANLoss
from common.methods.base import TranslationMethod
from common.methods.two_domain import TwoDomainDiscriminators
from common.networks.discriminators import patchgan
from common.networks.options import GeneratorKind, choose
from common.networks.resnet_generator import ResnetGenerator
from common.networks.unet_generator import UNetGenerator
from common.ops.image_pool import ImagePool

__all__ = ["CycleGAN", "build_generator"]


def build_generator(
    spatial_dims: int,
    c_in: int,
    c_out: int,
    generator: str,
    *,
    ngf: int,
    n_blocks: int,
    unet_features: tuple[int, ...],
    norm: str | None,
    output_act: str | None,
) -> nn.Module:
    """A CycleGAN generator: ``"resnet"`` or ``"unet"``."""
    if choose(generator, GeneratorKind, "generator") == GeneratorKind.RESNET:
        return ResnetGenerator(spatial_dims, c_in, c_out, ngf, n_blocks, norm, output_act)
    return UNetGenerator(spatial_dims, c_in, c_out, tuple(unet_features), norm, "transpose", False, 0.2, output_act)


class CycleGAN(TwoDomainDiscriminators, TranslationMethod):
    """CycleGAN. See the module docstring for defaults; ``generator="unet"`` selects the U-Net variant."""

    name = "cyclegan"

    def __init__(
        self,
        spatial_dims: int = 2,
        channels_a: int = 1,
        channels_b: int = 1,
        generator: str = "resnet",
        ngf: int = 64,
        n_blocks: int = 9,
        unet_features: tuple[int, ...] = (64, 128, 256, 512),
        norm: str | None = "instance",
        output_act: str | None = None,
        ndf: int = 64,
        n_layers_d: int = 3,
        gan_mode: str = "lsgan",
        lambda_cyc: float = 10.0,
        lambda_idt: float = 0.5,
        pool_size: int = 50,
        seed: int = 0,
        **addons,
    ):
        super().__init__(spatial_dims, channels_a, channels_b, **addons)
        if lambda_cyc < 0 or lambda_idt < 0:
            raise ValueError(f"loss weights must be non-negative, got {lambda_cyc}, {lambda_idt}")
        kind = dict(ngf=ngf, n_blocks=n_blocks, unet_features=unet_features, norm=norm, output_act=output_act)
        self.generator_ab = build_generator(spatial_dims, channels_a, channels_b, generator, **kind)
        self.generator_ba = build_generator(spatial_dims, channels_b, channels_a, generator, **kind)
        self.disc_a = patchgan(spatial_dims, channels_a, ndf, n_layers_d)
        self.disc_b = patchgan(spatial_dims, channels_b, ndf, n_layers_d)
        self.gan = GANLoss(gan_mode)
        self.lambda_cyc, self.lambda_idt = float(lambda_cyc), float(lambda_idt)
        self.identity = self.lambda_idt > 0 and channels_a == channels_b  # needs G_AB(b) to make sense
        self.pool_a, self.pool_b = ImagePool(pool_size, seed=seed), ImagePool(pool_size, seed=seed + 1)
        self.settings = {
            "generator": generator,
            "ngf": ngf,
            "n_blocks": n_blocks,
            "gan_mode": gan_mode,
            "pool_size": pool_size,
        }

    @classmethod
    def build_generator_ab(
        cls, spatial_dims: int, channels_a: int, channels_b: int, hyperparameters: Mapping
    ) -> nn.Module:
        h = cls.keyword_defaults() | dict(hyperparameters)
        kind = {k: h[k] for k in ("ngf", "n_blocks", "unet_features", "norm", "output_act")}
        return build_generator(spatial_dims, channels_a, channels_b, h["generator"], **kind)

    def generator_modules(self) -> list[nn.Module]:
        return [self.generator_ab, self.generator_ba]

    def discriminator_modules(self) -> list[nn.Module]:
        return [self.disc_a, self.disc_b]

    def extra_generator_terms(self, real_a, real_b, fake_a, fake_b, step: int) -> dict[str, torch.Tensor]:
        """Hook for variants (UTOM's saliency term)."""
        return {}

    def generator_terms(self, real_a: torch.Tensor, real_b: torch.Tensor, step: int) -> tuple[dict, dict]:
        fake_b = self.generator_ab(real_a)
        rec_a = self.generator_ba(self.low_pass(fake_b))
        fake_a = self.generator_ba(real_b)
        rec_b = self.generator_ab(self.low_pass(fake_a))
        terms = {
            "G_adv_B": self.gan(self.judge(self.disc_b, fake_b), for_discriminator=False),
            "G_adv_A": self.gan(self.judge(self.disc_a, fake_a), for_discriminator=False),
            "G_cyc_A": self.lambda_cyc * self.l1(rec_a, real_a),
            "G_cyc_B": self.lambda_cyc * self.l1(rec_b, real_b),
        }
        if self.identity:
            weight = self.lambda_cyc * self.lambda_idt
            terms["G_idt_A"] = weight * self.l1(self.generator_ba(real_a), real_a)
            terms["G_idt_B"] = weight * self.l1(self.generator_ab(real_b), real_b)
        terms.update(self.extra_generator_terms(real_a, real_b, fake_a, fake_b, step))
        return terms, {"fake_B": fake_b, "rec_A": rec_a, "fake_A": fake_a, "rec_B": rec_b}

    def hyperparameters(self) -> dict:
        return (
            super().hyperparameters() | self.settings | {"lambda_cyc": self.lambda_cyc, "lambda_idt": self.lambda_idt}
        )
