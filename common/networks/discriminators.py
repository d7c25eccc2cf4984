"""Discriminators, built on MONAI's ``PatchDiscriminator`` wherever it fits.

* :func:`patchgan`: CycleGAN's 70x70 PatchGAN (MONAI ``PatchDiscriminator``, instance norm, biased convs:
  2.765M parameters for 3 channels, as the reference);
* :func:`lsgan_discriminator`: STABLE's LSGAN discriminator (:class:`LSGANDiscriminator`: three 4x4 stride-2
  convs, batch norm, LeakyReLU, final 3x3 conv to one channel; MONAI's ``PatchDiscriminator`` always adds a
  fourth, stride-1 level), optionally multi-scale (:class:`MultiScaleDiscriminator`: copies judging the image at
  1, 1/2, 1/4... resolution, as pix2pixHD and the reference; MONAI's ``MultiScalePatchDiscriminator`` instead
  deepens each copy, to 2048 channels at two scales);
* :func:`stacked_domain_discriminator`: Ui2i's single PatchGAN over both domains stacked along channels, with
  three output classes (real / fake / identity), no feature norm and ABSN on every weight.

MONAI's discriminators return the list of every layer's features; :func:`final_output` takes the prediction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.networks.layers.factories import Conv, Norm
from monai.networks.nets import PatchDiscriminator
from torch import nn

from common.networks.absn import apply_absn
from common.networks.options import FeatureNorm, choose

__all__ = [
    "LSGANDiscriminator",
    "MultiScaleDiscriminator",
    "patchgan",
    "lsgan_discriminator",
    "stacked_domain_discriminator",
    "final_output",
]


def final_output(outputs) -> torch.Tensor | list[torch.Tensor]:
    """The prediction of a MONAI patch discriminator's output (the last feature map; one per scale)."""
    if isinstance(outputs, torch.Tensor):
        return outputs
    if outputs and isinstance(outputs[0], (list, tuple)):
        return [o[-1] for o in outputs]
    return outputs[-1]


def patchgan(
    spatial_dims: int = 2, in_channels: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance"
) -> PatchDiscriminator:
    """CycleGAN's PatchGAN (70x70 receptive field with 3 layers); ``norm`` ``"instance"`` (reference) or
    ``"batch"``."""
    norm = choose(norm, FeatureNorm, "norm", allowed=("instance", "batch"))
    return PatchDiscriminator(
        spatial_dims=spatial_dims,
        channels=ndf,
        in_channels=in_channels,
        out_channels=1,
        num_layers_d=n_layers,
        kernel_size=4,
        norm=norm.value.upper(),
        bias=True,
        padding=1,
    )


class LSGANDiscriminator(nn.Sequential):
    """STABLE's LSGAN patch discriminator, as the reference code has it: ``n_layers`` 4x4 stride-2 convolutions
    (``ndf``, ``2 ndf``, ... channels, at most 512) with LeakyReLU(0.2) and a norm after all but the first, then a
    3x3 convolution to one channel. With ``n_layers=3`` and ``ndf=64``: 64/128/256 channels, a 38-pixel receptive
    field and 0.66 M parameters for one input channel (MONAI's ``PatchDiscriminator`` has a fourth, stride-1 layer).

    Shapes:
        ``(N, in_channels, *S)`` -> ``(N, 1, *S / 2**n_layers)``.
    """

    def __init__(
        self, spatial_dims: int = 2, in_channels: int = 1, ndf: int = 64, n_layers: int = 3, norm: str | None = "batch"
    ):
        if n_layers < 1:
            raise ValueError(f"n_layers must be positive, got {n_layers}")
        norm = choose(norm, FeatureNorm, "norm")
        conv = Conv[Conv.CONV, spatial_dims]
        layers: list[nn.Module] = []
        c_in, c_out = in_channels, ndf
        for j in range(n_layers):
            layers.append(conv(c_in, c_out, 4, stride=2, padding=1))
            if j > 0 and norm == "batch":
                layers.append(Norm[Norm.BATCH, spatial_dims](c_out))
            elif j > 0 and norm == "instance":
                layers.append(Norm[Norm.INSTANCE, spatial_dims](c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in, c_out = c_out, min(2 * c_out, 512)
        layers.append(conv(c_in, 1, 3, padding=1))
        super().__init__(*layers)


def lsgan_discriminator(
    spatial_dims: int = 2,
    in_channels: int = 1,
    ndf: int = 64,
    n_layers: int = 3,
    batch_norm: bool = True,
    num_scales: int = 1,
) -> nn.Module:
    """STABLE's LSGAN discriminator (:class:`LSGANDiscriminator`); ``num_scales > 1`` judges the image at
    ``num_scales`` resolutions (:class:`MultiScaleDiscriminator`)."""
    if num_scales < 1:
        raise ValueError(f"num_scales must be positive, got {num_scales}")
    norm = "batch" if batch_norm else None

    def make() -> nn.Module:
        return LSGANDiscriminator(spatial_dims, in_channels, ndf, n_layers, norm)

    return make() if num_scales == 1 else MultiScaleDiscriminator([make() for _ in range(num_scales)])


class MultiScaleDiscriminator(nn.Module):
    """Apply discriminator ``k`` to the input downsampled ``k`` times by 2 (3x3 average pooling, stride 2, as the
    STABLE reference); returns one output list per scale."""

    def __init__(self, discriminators: list[nn.Module]):
        super().__init__()
        if not discriminators:
            raise ValueError("need at least one discriminator")
        self.discriminators = nn.ModuleList(discriminators)

    def forward(self, x: torch.Tensor) -> list:
        outputs = []
        for i, d in enumerate(self.discriminators):
            if i:
                pool = F.avg_pool2d if x.ndim == 4 else F.avg_pool3d
                x = pool(x, 3, stride=2, padding=1, count_include_pad=False)
            out = d(x)
            outputs.append([out] if isinstance(out, torch.Tensor) else out)
        return outputs


def stacked_domain_discriminator(
    spatial_dims: int = 2,
    channels_a: int = 3,
    channels_b: int = 3,
    ndf: int = 64,
    n_layers: int = 3,
    absn: bool = True,
    norm: str | None = None,
) -> PatchDiscriminator:
    """Ui2i's domain discriminator over ``cat([a, b])`` with 3 logits per patch (real / fake / identity).

    Args:
        absn: ABSN on every weight (Ui2i's generators' normalisation).
        norm: feature norm after each inner convolution, ``None`` or ``"instance"`` (CycleGAN's PatchGAN).
    """
    norm = choose(norm, FeatureNorm, "norm", allowed=("none", "instance"))
    net = PatchDiscriminator(
        spatial_dims=spatial_dims,
        channels=ndf,
        in_channels=channels_a + channels_b,
        out_channels=3,
        num_layers_d=n_layers,
        kernel_size=4,
        norm=None if norm == FeatureNorm.NONE else "INSTANCE",
        bias=True,
        padding=1,
    )
    return apply_absn(net) if absn else net
