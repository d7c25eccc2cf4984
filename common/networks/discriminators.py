"""Discriminators, built on MONAI's ``PatchDiscriminator`` wherever it fits.

* :func:`patchgan`: CycleGAN's 70x70 PatchGAN (MONAI ``PatchDiscriminator``, instance norm, biased convs:
  2.765M parameters for 3 channels, as the reference);
* :func:`lsgan_discriminator`: STABLE's LSGAN discriminator (4x4 convs, batch norm, LeakyReLU, final 3x3 conv to
  one channel), optionally multi-scale (:class:`MultiScaleDiscriminator`: copies judging the image at 1, 1/2,
  1/4... resolution, as pix2pixHD; MONAI's ``MultiScalePatchDiscriminator`` instead deepens each copy, to 2048
  channels at two scales);
* :func:`stacked_domain_discriminator`: Ui2i's single PatchGAN over both domains stacked along channels, with
  three output classes (real / fake / identity), no feature norm and ABSN on every weight.

MONAI's discriminators return the list of every layer's features; :func:`final_output` takes the prediction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.networks.nets import PatchDiscriminator
from torch import nn

from common.networks.absn import apply_absn

__all__ = ["MultiScaleDiscriminator", "patchgan", "lsgan_discriminator", "stacked_domain_discriminator", "final_output"]


def final_output(outputs) -> torch.Tensor | list[torch.Tensor]:
    """The prediction of a MONAI patch discriminator's output (the last feature map; one per scale)."""
    if isinstance(outputs, torch.Tensor):
        return outputs
    if outputs and isinstance(outputs[0], (list, tuple)):
        return [o[-1] for o in outputs]
    return outputs[-1]


def patchgan(
    spatial_dims: int = 2, in_channels: int = 3, ndf: int = 64, n_layers: int = 3, norm: str | None = "INSTANCE"
) -> PatchDiscriminator:
    """CycleGAN's PatchGAN (70x70 receptive field with 3 layers)."""
    return PatchDiscriminator(
        spatial_dims=spatial_dims,
        channels=ndf,
        in_channels=in_channels,
        out_channels=1,
        num_layers_d=n_layers,
        kernel_size=4,
        norm=norm,
        bias=True,
        padding=1,
    )


def lsgan_discriminator(
    spatial_dims: int = 2,
    in_channels: int = 1,
    ndf: int = 64,
    n_layers: int = 3,
    batch_norm: bool = True,
    num_scales: int = 1,
) -> nn.Module:
    """STABLE's LSGAN discriminator; ``num_scales > 1`` judges the image at ``num_scales`` resolutions."""
    if num_scales < 1:
        raise ValueError(f"num_scales must be positive, got {num_scales}")
    norm = "BATCH" if batch_norm else None

    def make() -> PatchDiscriminator:
        return PatchDiscriminator(
            spatial_dims=spatial_dims,
            channels=ndf,
            in_channels=in_channels,
            num_layers_d=n_layers,
            kernel_size=4,
            norm=norm,
            bias=not batch_norm,
            padding=1,
            last_conv_kernel_size=3,
        )

    return make() if num_scales == 1 else MultiScaleDiscriminator([make() for _ in range(num_scales)])


class MultiScaleDiscriminator(nn.Module):
    """Apply discriminator ``k`` to the input average-pooled ``k`` times by 2; returns one output list per scale."""

    def __init__(self, discriminators: list[nn.Module]):
        super().__init__()
        if not discriminators:
            raise ValueError("need at least one discriminator")
        self.discriminators = nn.ModuleList(discriminators)

    def forward(self, x: torch.Tensor) -> list:
        outputs = []
        for i, d in enumerate(self.discriminators):
            if i:
                x = F.avg_pool2d(x, 2) if x.ndim == 4 else F.avg_pool3d(x, 2)
            outputs.append(d(x))
        return outputs


def stacked_domain_discriminator(
    spatial_dims: int = 2, channels_a: int = 3, channels_b: int = 3, ndf: int = 64, n_layers: int = 3, absn: bool = True
) -> PatchDiscriminator:
    """Ui2i's domain discriminator over ``cat([a, b])`` with 3 logits per patch (real / fake / identity)."""
    net = PatchDiscriminator(
        spatial_dims=spatial_dims,
        channels=ndf,
        in_channels=channels_a + channels_b,
        out_channels=3,
        num_layers_d=n_layers,
        kernel_size=4,
        norm=None,
        bias=True,
        padding=1,
    )
    return apply_absn(net) if absn else net
