"""STABLE (You et al.): per-domain encoder and decoder U-Nets meeting in a full-resolution information space,
information consistency, DySample upsampling, demodulated convolutions, LSGAN discriminators.

``G_AB = decoder_B . encoder_A``. Losses: adversarial (``lambda_adv``), information consistency (``lambda_info``)
and cycle consistency whose weight grows from 0 to ``lambda_cyc`` along a sigmoid over ``cyc_ramp_iterations``
(the bundles ramp over the whole run, as the reference README's calcium recipe). Defaults are the paper's calcium
settings (its public README): ``n_info`` 8, channels 8-16-32, no feature norm, lambda_adv 1, lambda_info 10,
lambda_cyc 1, AdamW lr 3e-4 without weight decay (the paper's text; the authors' code keeps torch's default
0.01), constant learning rate, no image pool. Other tasks use 4 levels 32-256 and ``n_info`` 3 (8 for DAPI) with a
feature norm.

As in the authors' code, the information-consistency terms stop the gradient on one side each: the A -> B term
pulls ``encoder_B(G_AB(a))`` towards a fixed ``encoder_A(a)``, and the B -> A term pulls ``encoder_B(b)`` towards a
fixed ``encoder_A(G_BA(b))``, so the two encoders cannot meet by collapsing towards each other.

``residual`` (not in the paper; same channels in A and B) makes each generator ``x + decoder(encoder(x))`` with the
decoder's head zeroed, so that training starts from the exact identity instead of the blur a U-Net gives while it
is still learning the identity (:class:`~common.networks.stable_unet.EncoderDecoder`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from common.flags import as_bool
from common.losses.adversarial import GANLoss
from common.methods.base import TranslationMethod
from common.methods.two_domain import TwoDomainDiscriminators
from common.networks.discriminators import lsgan_discriminator
from common.networks.stable_unet import EncoderDecoder, StableUNet, check_norm, zero_head
from common.ops.image_pool import ImagePool
from common.ops.schedules import SigmoidRamp

__all__ = ["STABLE"]


def _unet(spatial_dims: int, c_in: int, c_out: int, act: str | None, h: Mapping) -> StableUNet:
    """One of STABLE's U-Nets (an encoder or a decoder) with the architecture keywords in ``h``."""
    return StableUNet(
        spatial_dims,
        c_in,
        c_out,
        tuple(h["channels"]),
        h["norm"],
        h["demodulate"],
        h["upsample"],
        output_act=act,
        demod_gain=h["demod_gain"],
        padding_mode=h["padding_mode"],
    )


class STABLE(TwoDomainDiscriminators, TranslationMethod):
    """STABLE; see the module docstring."""

    name = "stable"
    optimizer = {"name": "adamw", "lr": 3e-4, "betas": (0.9, 0.999), "weight_decay": 0.0}
    lr_decay = False  # the reference keeps the learning rate constant

    def __init__(
        self,
        spatial_dims: int = 2,
        channels_a: int = 1,
        channels_b: int = 1,
        n_info: int = 8,
        channels: tuple[int, ...] = (8, 16, 32),
        norm: str | None = None,
        demodulate: bool = True,
        upsample: str = "dysample",
        output_act: str | None = None,
        demod_gain: float = 1.0,
        padding_mode: str = "zeros",
        residual: bool = False,
        ndf: int = 64,
        n_layers_d: int = 3,
        disc_batch_norm: bool = True,
        num_scales: int = 1,
        gan_mode: str = "lsgan",
        lambda_adv: float = 1.0,
        lambda_info: float = 10.0,
        lambda_cyc: float = 1.0,
        cyc_ramp_iterations: int = 10000,
        lambda_idt: float = 0.0,
        pool_size: int = 0,
        seed: int = 0,
        **addons,
    ):
        super().__init__(spatial_dims, channels_a, channels_b, **addons)
        if n_info < 1:
            raise ValueError(f"n_info must be positive, got {n_info}")
        if min(lambda_adv, lambda_info, lambda_cyc, lambda_idt) < 0:
            raise ValueError("loss weights must be non-negative")
        residual = as_bool(residual, "residual")
        if residual and channels_a != channels_b:
            raise ValueError(f"residual needs as many channels in A as in B, got {channels_a} and {channels_b}")

        net = dict(channels=channels, norm=norm, demodulate=demodulate, upsample=upsample, demod_gain=demod_gain)
        net |= {"padding_mode": padding_mode}

        def unet(c_in: int, c_out: int, act: str | None) -> StableUNet:
            return _unet(spatial_dims, c_in, c_out, act, net)

        self.encoder_a, self.encoder_b = unet(channels_a, n_info, None), unet(channels_b, n_info, None)
        self.decoder_a, self.decoder_b = unet(n_info, channels_a, output_act), unet(n_info, channels_b, output_act)
        if residual:  # both generators start as the exact identity
            zero_head(self.decoder_a)
            zero_head(self.decoder_b)
        self.generator_ab = EncoderDecoder(self.encoder_a, self.decoder_b, residual)
        self.generator_ba = EncoderDecoder(self.encoder_b, self.decoder_a, residual)
        self.disc_a = lsgan_discriminator(spatial_dims, channels_a, ndf, n_layers_d, disc_batch_norm, num_scales)
        self.disc_b = lsgan_discriminator(spatial_dims, channels_b, ndf, n_layers_d, disc_batch_norm, num_scales)
        self.gan = GANLoss(gan_mode)
        self.lambda_adv, self.lambda_info, self.lambda_idt = float(lambda_adv), float(lambda_info), float(lambda_idt)
        self.discriminator_weight = self.lambda_adv
        self.lambda_cyc = float(lambda_cyc)
        self.cyc_weight = SigmoidRamp(0.0, lambda_cyc, cyc_ramp_iterations, steepness=12.0)  # the reference's curve
        self.identity = self.lambda_idt > 0 and channels_a == channels_b
        self.pool_a, self.pool_b = ImagePool(pool_size, seed=seed), ImagePool(pool_size, seed=seed + 1)
        self.settings = {
            "n_info": n_info,
            "channels": str(tuple(channels)),
            "norm": check_norm(norm),
            "demodulate": demodulate,
            "demod_gain": float(demod_gain),
            "padding_mode": padding_mode,
            "residual": residual,
            "upsample": upsample,
            "gan_mode": gan_mode,
            "pool_size": pool_size,
        }

    @classmethod
    def build_generator_ab(
        cls, spatial_dims: int, channels_a: int, channels_b: int, hyperparameters: Mapping
    ) -> EncoderDecoder:
        h = cls.keyword_defaults() | dict(hyperparameters)
        residual = as_bool(h["residual"], "residual")
        decoder = _unet(spatial_dims, h["n_info"], channels_b, h["output_act"], h)
        if residual:
            zero_head(decoder)
        return EncoderDecoder(_unet(spatial_dims, channels_a, h["n_info"], None, h), decoder, residual)

    def generator_modules(self) -> list[nn.Module]:
        return [self.encoder_a, self.encoder_b, self.decoder_a, self.decoder_b]

    def discriminator_modules(self) -> list[nn.Module]:
        return [self.disc_a, self.disc_b]

    def generator_terms(self, real_a: torch.Tensor, real_b: torch.Tensor, step: int) -> tuple[dict, dict]:
        g_ab, g_ba = self.generator_ab, self.generator_ba
        info_a, info_b = self.encoder_a(real_a), self.encoder_b(real_b)
        fake_b, fake_a = g_ab.decode(info_a, real_a), g_ba.decode(info_b, real_b)
        info_fake_b, info_fake_a = self.encoder_b(fake_b), self.encoder_a(fake_a)
        if self.dct_cutoff < 1.0:  # the cycle goes through the filtered translation
            rec_a, rec_b = g_ba(self.low_pass(fake_b)), g_ab(self.low_pass(fake_a))
        else:
            rec_a, rec_b = g_ba.decode(info_fake_b, fake_b), g_ab.decode(info_fake_a, fake_a)
        cyc = self.cyc_weight(step)
        terms = {
            "G_adv_B": self.lambda_adv * self.gan(self.judge(self.disc_b, fake_b), for_discriminator=False),
            "G_adv_A": self.lambda_adv * self.gan(self.judge(self.disc_a, fake_a), for_discriminator=False),
            "G_info_A": self.lambda_info * self.l1(info_fake_b, info_a.detach()),
            "G_info_B": self.lambda_info * self.l1(info_fake_a.detach(), info_b),
            "G_cyc_A": cyc * self.l1(rec_a, real_a),
            "G_cyc_B": cyc * self.l1(rec_b, real_b),
        }
        if self.identity:
            terms["G_idt_A"] = self.lambda_idt * self.l1(self.generator_ba(real_a), real_a)
            terms["G_idt_B"] = self.lambda_idt * self.l1(self.generator_ab(real_b), real_b)
        return terms, {"fake_B": fake_b, "rec_A": rec_a, "fake_A": fake_a, "rec_B": rec_b}

    def hyperparameters(self) -> dict:
        return (
            super().hyperparameters()
            | self.settings
            | {
                "lambda_adv": self.lambda_adv,
                "lambda_info": self.lambda_info,
                "lambda_cyc": self.cyc_weight.end,
                "cyc_ramp_iterations": self.cyc_weight.length,
                "lambda_idt": self.lambda_idt,
            }
        )
