"""The interface every translation method implements, and what the methods share.

A method is an ``nn.Module`` owning its networks and losses. The trainer calls, per iteration,
:meth:`TranslationMethod.generator_step` then :meth:`TranslationMethod.discriminator_step`; each returns a
:class:`StepOutput` (the loss to minimise, every named loss term, and images for logging). The A -> B generator
(:attr:`TranslationMethod.generator_ab`) is what a bundle deploys.

Add-ons usable by every method (constructor keywords):

* ``lambda_fsesim`` / ``fsesim_window``: FSeSim spatially-correlative loss between input and translation, on the
  features of a frozen, randomly initialised convolutional extractor (no pretrained weights can be fetched here);
* ``dct_cutoff``: DCT low-pass filter applied to translations before the reverse generator on the cycle path
  (against CycleGAN steganography); 1.0 disables it;
* ``identity_warmup`` / ``lambda_warmup``: for the first ``identity_warmup`` iterations, an L1 term pulling each
  translation towards its own input, with a weight falling linearly from ``lambda_warmup`` to 0 (domains with the
  same channel count, or a mixture and its channels with ``warmup_mixture``, below). The generators start near
  the identity, so the adversarial game starts in the basin where bright stays bright: without it, STABLE's
  reference code and ours inverted the contrast on some seeds.
  The bundles warm up over the first 10% of the run; ``warmup_mixture`` extends it to a one-channel mixture
  against its unmixed channels: the mean of a many-channel translation, times a fitted gain, is pulled towards its
  one-channel input, a one-channel translation towards the gain times the mean of its input's channels (a mixture
  is proportional to the sum of its markers, so this binds the markers' background and layout while leaving the
  split and the scale free; :func:`mixture_pair`);
* ``lambda_polarity`` / ``polarity``: a hinge on the wrong sign of the low-resolution correlation between input and
  translation (:func:`~common.losses.polarity.polarity_loss`; ``polarity`` +1 where the modalities keep the
  brightness relation, -1 where they reverse it, 0 for none), both directions of two-sided methods;
  ``polarity_margin`` > 0 turns it into a structure anchor: the hinge then also charges a correlation of the right sign
  under the margin, so that the translation's coarse layout cannot drift away from the input's (objects moved or
  invented where the input has none) while anything finer than the 8-px blocks stays free; ``polarity_block`` sets
  the block side (1: pixel-wise) and ``polarity_per_channel`` also hinges the sign of each translated channel's own
  correlation (an unmixing whose one marker channel comes out inverted pays, where the channels' mean may not; the
  margin binds the mean only, since one marker need not follow the whole mixture closely);
* ``lambda_mixing``: mixing consistency for unmixing tasks (:func:`~common.losses.mixing.mixing_residual`): the
  input must be a non-negative mix of the translation's channels (plus an offset), and for two-sided methods the
  reverse translation a non-negative mix of the real B channels; the share of the mixture's variance no such mix
  explains is charged, so a channel cannot invent structure the input lacks nor come out inverted, while each
  channel's scale and which marker goes where stay free;
* ``augment_d``: differentiable augmentation of every image a discriminator judges, real or translated
  (:class:`~common.ops.diff_augment.DiffAugment`: ``"translation"``, ``"cutout"``, both, or ``None``), against a
  discriminator that memorises a small training set; methods call their image discriminators through
  :meth:`TranslationMethod.judge`;
* ``lambda_selfsup`` / ``selfsup_gamma``: a self-supervised denoising term on the A -> B generator from the noisy
  A images alone (:func:`~common.losses.neighbor2neighbor.neighbor2neighbor_loss`, Neighbor2Neighbor with the
  translation's intensities fitted to the input's): two neighbouring sub-images of an input hold the same scene with
  independent noise, so the generator learns to translate what the noise cannot predict (2D, same channel counts).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from common.flags import as_bool
from common.losses.fsesim import fsesim_loss
from common.losses.mixing import MAX_MIXING_CHANNELS, mixing_residual
from common.losses.neighbor2neighbor import neighbor2neighbor_loss
from common.losses.polarity import polarity_loss
from common.ops.dct import dct_lowpass
from common.ops.diff_augment import DiffAugment

__all__ = ["StepOutput", "TranslationMethod", "FeatureExtractor", "set_requires_grad"]


def mixture_pair(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What the warm-up compares: ``x`` and ``y`` (B, C, *spatial) as they are where their channels match; else the
    many-channel one's channel mean times a fitted gain, and the one-channel one (both (B, 1, *spatial)).

    The gain is the least-squares factor from the mean to the one-channel image, per sample, kept in [0.1, 10] (so
    that an anti-correlated mean at the start still gets a pull of the right sign) and detached: a mixture is
    proportional to the mean of its markers, not equal to it (each channel is normalised by its own percentiles; on
    the phantoms the mixture is about their sum, twice their mean), so without it the pull would ask every marker for
    twice its brightness. With it, the mean's shape and its zero background must follow the mixture, and its scale
    is free.
    """
    if x.shape[1] == y.shape[1]:
        return x, y
    many, one = (x, y) if x.shape[1] > y.shape[1] else (y, x)
    mean = many.mean(dim=1, keepdim=True)
    dims = tuple(range(1, mean.ndim))
    fit = (mean * one).sum(dim=dims, keepdim=True) / (mean * mean).sum(dim=dims, keepdim=True).clamp_min(1e-6)
    return fit.clamp(0.1, 10.0).detach() * mean, one


@dataclass
class StepOutput:
    """``loss``: the scalar to minimise; ``terms``: every weighted loss term (detached scalars);
    ``images``: tensors for logging and for the next step."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)
    images: dict[str, torch.Tensor] = field(default_factory=dict)


def set_requires_grad(modules, flag: bool) -> None:
    """Switch gradients of every parameter of ``modules`` on or off (discriminators during the generator step)."""
    for module in modules:
        for p in module.parameters():
            p.requires_grad_(flag)


class FeatureExtractor(nn.Module):
    """A frozen random convolutional feature extractor for FSeSim (grey-level input: channel mean)."""

    def __init__(self, spatial_dims: int = 2, channels: int = 32, seed: int = 0):
        super().__init__()
        if spatial_dims != 2:
            raise ValueError("FSeSim is implemented for 2D images")
        generator = torch.Generator().manual_seed(seed)
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(channels, channels, 3, padding=1)
        )
        for p in self.net.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=generator) * (0.3 if p.ndim > 1 else 0.0))
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.mean(dim=1, keepdim=True))


class TranslationMethod(nn.Module):
    """Base class. Subclasses set ``generator_ab`` (and ``generator_ba`` if two-sided) and the two parameter
    lists, and implement the two steps.

    Args:
        spatial_dims: 2 or 3.
        channels_a, channels_b: channels of the two domains.
        lambda_fsesim: weight of the FSeSim add-on (0: off).
        fsesim_window: FSeSim neighbourhood side.
        dct_cutoff: DCT low-pass cutoff on the cycle path (1.0: off).
        identity_warmup: iterations of the identity warm-up (0: off).
        lambda_warmup: its starting weight.
        warmup_mixture: also warm up between one channel and many, on the many channels' mean times a fitted gain.
        lambda_polarity: weight of the polarity hinge (0: off).
        polarity: expected sign of the input-translation brightness relation (+1, -1; 0: off).
        polarity_margin: the correlation (of the expected sign) under which the hinge charges, in [0, 1).
        polarity_block: side in pixels of the blocks the hinge averages over.
        polarity_per_channel: also hinge each translated channel's correlation on its sign (the margin binds the mean).
        lambda_mixing: weight of the mixing consistency (0: off; B needs 1 to 4 channels).
        augment_d: the discriminators' input augmentation policy (``None``: off).
        lambda_selfsup: weight of the self-supervised denoising term (0: off; 2D, as many channels in A as in B).
        selfsup_gamma: its regulariser's weight (Neighbor2Neighbor's gamma).
    """

    @classmethod
    def keyword_defaults(cls) -> dict:
        """The defaults of every keyword the method's constructors (this class and its bases) take."""
        out: dict = {}
        for klass in inspect.getmro(cls):
            if "__init__" not in klass.__dict__ or klass is nn.Module:
                continue
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.default is not inspect.Parameter.empty and p.name not in out:
                    out[p.name] = p.default
        return out

    @classmethod
    def build_generator_ab(
        cls, spatial_dims: int, channels_a: int, channels_b: int, hyperparameters: Mapping
    ) -> nn.Module:
        """The A -> B generator alone, with the architecture the method's constructor gives it for
        ``hyperparameters`` (randomly initialised; for the weights a trained model saved). This default builds the
        whole method; methods override it to build the generator alone.

        Shapes:
            ``(N, channels_a, *S)`` -> ``(N, channels_b, *S)``.
        """
        return cls(spatial_dims, channels_a, channels_b, **hyperparameters).generator_ab

    name = "base"
    #: paper optimiser settings; the trainer's config may override ``lr``
    optimizer = {"name": "adam", "lr": 2e-4, "betas": (0.5, 0.999), "weight_decay": 0.0}
    #: the paper's schedule: constant learning rate for the first half, then linear decay to 0 (CycleGAN)
    lr_decay = True

    def lr_decay_start(self, max_iterations: int, decay: bool | str | None = None) -> int:
        """Iteration where the linear learning-rate decay (to 0 at ``max_iterations``) starts: half way with
        ``decay``, never (``max_iterations``: a constant rate) without; ``None`` takes the method's own choice
        (:attr:`lr_decay`: the papers' schedules).

        Raises:
            ValueError: ``decay`` is no boolean spelling.
        """
        decay = self.lr_decay if decay is None else as_bool(decay, "lr_decay")
        return int(max_iterations) // 2 if decay else int(max_iterations)

    def __init__(
        self,
        spatial_dims: int = 2,
        channels_a: int = 1,
        channels_b: int = 1,
        lambda_fsesim: float = 0.0,
        fsesim_window: int = 7,
        dct_cutoff: float = 1.0,
        identity_warmup: int = 0,
        lambda_warmup: float = 5.0,
        warmup_mixture: bool = False,
        lambda_polarity: float = 0.0,
        polarity: int = 0,
        polarity_margin: float = 0.0,
        polarity_block: int = 8,
        polarity_per_channel: bool = False,
        lambda_mixing: float = 0.0,
        augment_d: str | None = None,
        lambda_selfsup: float = 0.0,
        selfsup_gamma: float = 2.0,
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if channels_a < 1 or channels_b < 1:
            raise ValueError(f"channel counts must be positive, got {channels_a}, {channels_b}")
        if lambda_fsesim < 0:
            raise ValueError(f"lambda_fsesim must be non-negative, got {lambda_fsesim}")
        if not 0 < dct_cutoff <= 1:
            raise ValueError(f"dct_cutoff must be in (0, 1], got {dct_cutoff}")
        if int(identity_warmup) < 0 or lambda_warmup < 0:
            raise ValueError(
                f"identity_warmup and lambda_warmup must be non-negative, got {identity_warmup}, {lambda_warmup}"
            )
        self.spatial_dims, self.channels_a, self.channels_b = spatial_dims, channels_a, channels_b
        self.lambda_fsesim, self.fsesim_window, self.dct_cutoff = float(lambda_fsesim), int(fsesim_window), dct_cutoff
        self.fsesim_features = FeatureExtractor(spatial_dims) if lambda_fsesim > 0 else None
        self.identity_warmup, self.lambda_warmup = int(identity_warmup), float(lambda_warmup)
        self.warmup_mixture = bool(warmup_mixture)
        if polarity not in (-1, 0, 1) or lambda_polarity < 0:
            raise ValueError(
                f"polarity must be -1, 0 or 1 and lambda_polarity non-negative, got {polarity}, {lambda_polarity}"
            )
        if not 0.0 <= polarity_margin < 1.0:
            raise ValueError(f"polarity_margin must be in [0, 1), got {polarity_margin}")
        if int(polarity_block) < 1:
            raise ValueError(f"polarity_block must be at least 1 pixel, got {polarity_block}")
        self.lambda_polarity, self.polarity = float(lambda_polarity), int(polarity)
        self.polarity_margin, self.polarity_block = float(polarity_margin), int(polarity_block)
        self.polarity_per_channel = bool(polarity_per_channel)
        if lambda_mixing < 0:
            raise ValueError(f"lambda_mixing must be non-negative, got {lambda_mixing}")
        if lambda_mixing > 0 and channels_b > MAX_MIXING_CHANNELS:
            raise ValueError(
                f"lambda_mixing needs at most {MAX_MIXING_CHANNELS} channels in B to unmix into, got {channels_b}"
            )
        self.lambda_mixing = float(lambda_mixing)
        self.augment_d = DiffAugment(augment_d)
        if lambda_selfsup < 0 or selfsup_gamma < 0:
            raise ValueError(
                f"lambda_selfsup and selfsup_gamma must be non-negative, got {lambda_selfsup}, {selfsup_gamma}"
            )
        if lambda_selfsup > 0 and (spatial_dims != 2 or channels_a != channels_b):
            raise ValueError(
                "lambda_selfsup needs 2D images with as many channels in A as in B, got "
                f"spatial_dims {spatial_dims}, channels {channels_a} -> {channels_b}"
            )
        self.lambda_selfsup, self.selfsup_gamma = float(lambda_selfsup), float(selfsup_gamma)
        self.generator_ba: nn.Module | None = None  # one-sided methods keep None (set before subclasses' modules)

    @property
    def trains_cycle(self) -> bool:
        """Whether the reverse generator is trained to undo the forward one (two-sided, cycle weight above 0): only
        then does the cycle error say anything about a translation (STABLE's denoising weights have no cycle term,
        and its untrained cycle error swung between 0.95 and 2.3 across snapshots)."""
        return self.generator_ba is not None and float(getattr(self, "lambda_cyc", 1.0)) > 0

    # --- what subclasses provide: generator_ab (and generator_ba when two-sided), and the methods below ------

    def generator_modules(self) -> list[nn.Module]:
        raise NotImplementedError

    def discriminator_modules(self) -> list[nn.Module]:
        raise NotImplementedError

    def generator_terms(
        self, real_a: torch.Tensor, real_b: torch.Tensor, step: int
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The method's own weighted generator loss terms and its images (``fake_B`` always, ``fake_A`` for
        two-sided methods, reconstructions...), computed with the discriminators frozen. Each method implements
        only this; :meth:`generator_step` adds the add-on terms, sums and detaches."""
        raise NotImplementedError

    def generator_step(self, real_a: torch.Tensor, real_b: torch.Tensor, step: int) -> StepOutput:
        """One generator objective: discriminators frozen, the method's terms plus the add-ons, summed.

        Shapes:
            ``real_a`` ``(N, C_a, *S)``, ``real_b`` ``(N, C_b, *S)``; the images of the output as produced.
        """
        set_requires_grad(self.discriminator_modules(), False)
        try:
            terms, images = self.generator_terms(real_a, real_b, step)
            fake_a = images.get("fake_A")
            terms.update(
                self.addon_terms(real_a, images["fake_B"], real_b if fake_a is not None else None, fake_a, step)
            )
        finally:
            set_requires_grad(self.discriminator_modules(), True)
        loss = torch.stack(list(terms.values())).sum()
        return StepOutput(loss, {k: v.detach() for k, v in terms.items()}, images)

    def discriminator_step(
        self, real_a: torch.Tensor, real_b: torch.Tensor, images: dict[str, torch.Tensor], step: int
    ) -> StepOutput:
        raise NotImplementedError

    # --- shared ---------------------------------------------------------------------------------------------
    def generator_parameters(self) -> list[nn.Parameter]:
        return [p for m in self.generator_modules() for p in m.parameters()]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [p for m in self.discriminator_modules() for p in m.parameters()]

    def make_optimizers(
        self,
        lr: float | None = None,
        betas: tuple[float, float] | None = None,
        weight_decay: float | None = None,
        fused: bool | None = None,
    ) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """Optimisers for generators and discriminators with the paper's settings unless overridden.

        Args:
            lr, betas, weight_decay: override the paper's Adam/AdamW settings.
            fused: use PyTorch's fused Adam kernel (one kernel for all parameters instead of a Python loop over
                them; ``scripts/benchmark.py speedups`` measures it). ``None``: fused
                wherever every parameter is a floating-point tensor on a device the kernel supports (CPU, CUDA,
                ...); the result is the same update up to float rounding.
        """
        spec = dict(self.optimizer)
        lr = spec["lr"] if lr is None else float(lr)
        betas = tuple(spec["betas"] if betas is None else betas)
        weight_decay = spec["weight_decay"] if weight_decay is None else float(weight_decay)
        cls = torch.optim.AdamW if spec["name"] == "adamw" else torch.optim.Adam
        groups = (self.generator_parameters(), self.discriminator_parameters())
        if fused is None:
            fused = all(_fused_capable(p) for params in groups for p in params)
        make = [cls(params, lr=lr, betas=betas, weight_decay=weight_decay, fused=bool(fused)) for params in groups]
        return make[0], make[1]

    def judge(self, discriminator: nn.Module, images: torch.Tensor):
        """``discriminator``'s verdict on ``images``, through the ``augment_d`` augmentation in training."""
        return discriminator(self.augment_d(images))

    def translate(self, real_a: torch.Tensor) -> torch.Tensor:
        """A -> B."""
        return self.generator_ab(real_a)

    def cycle(self, real_a: torch.Tensor) -> torch.Tensor | None:
        """A -> B -> A reconstruction (``None`` for one-sided methods)."""
        if self.generator_ba is None:
            return None
        return self.generator_ba(self.low_pass(self.generator_ab(real_a)))

    def low_pass(self, x: torch.Tensor) -> torch.Tensor:
        """The cycle-path DCT filter (identity when ``dct_cutoff`` is 1)."""
        if self.dct_cutoff >= 1.0:
            return x
        return dct_lowpass(x, self.dct_cutoff, self.spatial_dims)

    def warmup_weight(self, step: int) -> float:
        """Weight of the identity warm-up at ``step`` (0 after the warm-up, or when the channels differ, unless
        ``warmup_mixture`` and one domain has a single channel)."""
        paired = self.channels_a == self.channels_b or (
            self.warmup_mixture and min(self.channels_a, self.channels_b) == 1
        )
        if self.identity_warmup <= 0 or not paired or step >= self.identity_warmup:
            return 0.0
        return self.lambda_warmup * (1.0 - step / self.identity_warmup)

    def addon_terms(
        self, real_a: torch.Tensor, fake_b: torch.Tensor, real_b, fake_a, step: int = 0
    ) -> dict[str, torch.Tensor]:
        """Weighted add-on losses (FSeSim, identity warm-up) for the generator step."""
        terms: dict[str, torch.Tensor] = {}
        if self.fsesim_features is not None:
            pairs = [(real_a, fake_b)] + ([(real_b, fake_a)] if fake_a is not None else [])
            value = sum(
                fsesim_loss(self.fsesim_features(x), self.fsesim_features(y), window=self.fsesim_window)
                for x, y in pairs
            )
            terms["G_fsesim"] = self.lambda_fsesim * value
        warmup = self.warmup_weight(step)
        if warmup > 0:
            pairs = [(real_a, fake_b)] + ([(real_b, fake_a)] if fake_a is not None else [])
            terms["G_warmup"] = warmup * sum(self.l1(*mixture_pair(y, x)) for x, y in pairs)
        if self.lambda_polarity > 0 and self.polarity != 0:
            pairs = [(real_a, fake_b)] + ([(real_b, fake_a)] if fake_a is not None else [])
            terms["G_polarity"] = self.lambda_polarity * sum(
                polarity_loss(
                    x,
                    y,
                    self.polarity,
                    block=self.polarity_block,
                    margin=self.polarity_margin,
                    per_channel=self.polarity_per_channel,
                )
                for x, y in pairs
            )
        if self.lambda_mixing > 0:
            pairs = [(real_a, fake_b)] + ([(fake_a, real_b)] if fake_a is not None else [])
            terms["G_mixing"] = self.lambda_mixing * sum(mixing_residual(m, c) for m, c in pairs)
        if self.lambda_selfsup > 0:
            terms["G_selfsup"] = self.lambda_selfsup * neighbor2neighbor_loss(
                self.generator_ab, real_a, self.selfsup_gamma
            )
        return terms

    @staticmethod
    def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(x, y)

    def hyperparameters(self) -> dict[str, float | int | str]:
        """Loss weights and settings worth logging (subclasses extend)."""
        return {
            "method": self.name,
            "lambda_fsesim": self.lambda_fsesim,
            "dct_cutoff": self.dct_cutoff,
            "identity_warmup": self.identity_warmup,
            "lambda_warmup": self.lambda_warmup,
            "warmup_mixture": self.warmup_mixture,
            "lambda_polarity": self.lambda_polarity,
            "polarity": self.polarity,
            "polarity_margin": self.polarity_margin,
            "polarity_block": self.polarity_block,
            "polarity_per_channel": self.polarity_per_channel,
            "lambda_mixing": self.lambda_mixing,
            "lambda_selfsup": self.lambda_selfsup,
            "selfsup_gamma": self.selfsup_gamma,
            "augment_d": ",".join(self.augment_d.policy) or "none",
            "spatial_dims": self.spatial_dims,
        }


def _fused_capable(parameter: torch.Tensor) -> bool:
    """Whether PyTorch's fused Adam kernel takes this parameter (floating point, on a supported device)."""
    try:
        from torch.optim.optimizer import _get_fused_kernels_supported_devices
    except ImportError:  # a private helper of torch: without it, take the per-parameter loop
        return False
    return parameter.is_floating_point() and parameter.device.type in _get_fused_kernels_supported_devices()
