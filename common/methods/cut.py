"""CUT and FastCUT (Park et al. 2020): one generator, one PatchGAN discriminator, PatchNCE between input and
output patches over chosen layers of the generator's encoder (MLP heads, 256 patches, tau 0.07, negatives from
the same image: the per-device batch). CUT: ``lambda_nce`` 1 with an identity PatchNCE term on domain B, the two
NCE terms averaged (``lambda_nce * (NCE + NCE_idt) / 2``, as the reference code); FastCUT: ``lambda_nce`` 10 without
the identity term but with flip equivariance (half of the iterations translate the horizontally flipped input and
compare its patches, flipped back, with the input's). Adam 2e-4 (0.5, 0.999), LSGAN, no image pool.

The generator encodes its own output to compare patches, which needs domain B images to have A's channel
count; when they differ a learned 1x1 convolution maps B's channels to A's for that encoding (reported as
``channel_adapter`` in the hyper-parameters).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from monai.networks.layers.factories import Conv
from torch import nn

from common.losses.adversarial import GANLoss
from common.losses.patchnce import PatchNCELoss, PatchSampleMLP
from common.methods.base import StepOutput, TranslationMethod
from common.networks.discriminators import patchgan
from common.networks.resnet_generator import ResnetGenerator

__all__ = ["CUT", "FastCUT"]


class CUT(TranslationMethod):
    """Contrastive unpaired translation; see the module docstring."""

    name = "cut"

    def __init__(
        self,
        spatial_dims: int = 2,
        channels_a: int = 1,
        channels_b: int = 1,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: str | None = "instance",
        output_act: str | None = None,
        ndf: int = 64,
        n_layers_d: int = 3,
        gan_mode: str = "lsgan",
        lambda_gan: float = 1.0,
        lambda_nce: float = 1.0,
        nce_idt: bool = True,
        flip_equivariance: bool = False,
        nce_layers: tuple[int, ...] = (0, 4, 8, 12, 16),
        num_patches: int = 256,
        nce_temperature: float = 0.07,
        embed_dim: int = 256,
        **addons,
    ):
        super().__init__(spatial_dims, channels_a, channels_b, **addons)
        self.generator_ab = ResnetGenerator(spatial_dims, channels_a, channels_b, ngf, n_blocks, norm, output_act)
        self.nce_layers = [i for i in nce_layers if i < len(self.generator_ab.model)]
        if not self.nce_layers:
            raise ValueError(f"nce_layers {nce_layers} index no layer of a generator with {n_blocks} blocks")
        self.adapter = Conv[Conv.CONV, spatial_dims](channels_b, channels_a, 1) if channels_a != channels_b else None
        probe = torch.zeros((1, channels_a) + (16,) * spatial_dims)
        with torch.no_grad():
            layer_channels = [f.shape[1] for f in self.generator_ab.encode_layers(probe, self.nce_layers)]
        self.mlp = PatchSampleMLP(layer_channels, embed_dim, num_patches)
        self.disc_b = patchgan(spatial_dims, channels_b, ndf, n_layers_d)
        self.gan, self.nce = GANLoss(gan_mode), PatchNCELoss(nce_temperature)
        self.lambda_gan, self.lambda_nce, self.nce_idt = float(lambda_gan), float(lambda_nce), bool(nce_idt)
        self.flip_equivariance = bool(flip_equivariance)
        self.settings = {
            "ngf": ngf,
            "n_blocks": n_blocks,
            "nce_layers": str(tuple(self.nce_layers)),
            "num_patches": num_patches,
            "nce_temperature": nce_temperature,
            "gan_mode": gan_mode,
            "channel_adapter": self.adapter is not None,
        }

    @classmethod
    def build_generator_ab(
        cls, spatial_dims: int, channels_a: int, channels_b: int, hyperparameters: Mapping
    ) -> ResnetGenerator:
        h = cls.keyword_defaults() | dict(hyperparameters)
        return ResnetGenerator(
            spatial_dims, channels_a, channels_b, h["ngf"], h["n_blocks"], h["norm"], h["output_act"]
        )

    def generator_modules(self) -> list[nn.Module]:
        return [self.generator_ab, self.mlp] + ([self.adapter] if self.adapter is not None else [])

    def discriminator_modules(self) -> list[nn.Module]:
        return [self.disc_b]

    def _as_a(self, x_b: torch.Tensor) -> torch.Tensor:
        return self.adapter(x_b) if self.adapter is not None else x_b

    def _nce(self, source: torch.Tensor, output_b: torch.Tensor, flipped: bool = False) -> torch.Tensor:
        """PatchNCE between ``source`` and ``output_b``; ``flipped``: ``output_b`` was made from the source flipped
        along the last axis, so its features are flipped back before patches are compared."""
        keys, ids = self.mlp(self.generator_ab.encode_layers(source, self.nce_layers))
        features = self.generator_ab.encode_layers(self._as_a(output_b), self.nce_layers)
        if flipped:
            features = [f.flip(-1) for f in features]
        queries, _ = self.mlp(features, ids)
        return self.nce(queries, keys)

    def generator_terms(self, real_a: torch.Tensor, real_b: torch.Tensor, step: int) -> tuple[dict, dict]:
        flipped = self.flip_equivariance and bool(torch.rand(()) < 0.5)
        fake_b = self.generator_ab(real_a.flip(-1) if flipped else real_a)
        both = self.nce_idt and self.lambda_nce > 0
        weight = self.lambda_nce * (0.5 if both else 1.0)  # the reference averages the NCE and identity-NCE terms
        terms = {
            "G_adv_B": self.lambda_gan * self.gan(self.judge(self.disc_b, fake_b), for_discriminator=False),
            "G_nce": weight * self._nce(real_a, fake_b, flipped),
        }
        images = {"fake_B": fake_b}
        if both:
            b_as_a = self._as_a(real_b)
            idt_b = self.generator_ab(b_as_a)
            terms["G_nce_idt"] = weight * self._nce(b_as_a, idt_b)
            images["idt_B"] = idt_b
        return terms, images

    def discriminator_step(self, real_a, real_b, images, step: int) -> StepOutput:
        fake_b = images["fake_B"].detach()
        d_b = 0.5 * (self.gan(self.judge(self.disc_b, real_b), True) + self.gan(self.judge(self.disc_b, fake_b), False))
        return StepOutput(self.lambda_gan * d_b, {"D_B": d_b.detach()})

    def hyperparameters(self) -> dict:
        return (
            super().hyperparameters()
            | self.settings
            | {
                "lambda_gan": self.lambda_gan,
                "lambda_nce": self.lambda_nce,
                "nce_idt": self.nce_idt,
                "flip_equivariance": self.flip_equivariance,
            }
        )


class FastCUT(CUT):
    """FastCUT: ``lambda_nce`` 10, no identity PatchNCE, flip equivariance."""

    name = "fastcut"

    def __init__(
        self, *args, lambda_nce: float = 10.0, nce_idt: bool = False, flip_equivariance: bool = True, **kwargs
    ):
        super().__init__(*args, lambda_nce=lambda_nce, nce_idt=nce_idt, flip_equivariance=flip_equivariance, **kwargs)
