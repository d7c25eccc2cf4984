"""CycleGAN's ResNet generator (Johnson et al.): reflection-padded 7x7 stem, two stride-2 downsamplings,
``n_blocks`` residual blocks, two transposed-convolution upsamplings, a 7x7 output convolution.

With the reference settings (``ngf=64``, 9 blocks, instance norm, 3 channels in and out) it has 11.378M
parameters, as the reference implementation. Inputs of any size are reflection-padded to a multiple of 4 and
the output is cropped back.
"""

from __future__ import annotations

import torch
from monai.networks.layers.factories import Conv, Norm
from torch import nn

from common.networks.options import FeatureNorm, OutputActivation, choose
from common.ops.padding import crop_to, pad_to_multiple

__all__ = ["ResnetGenerator", "ResnetBlock"]

_REFLECT = {2: nn.ReflectionPad2d, 3: nn.ReflectionPad3d}


def _norm(norm: str | None, spatial_dims: int, channels: int) -> nn.Module:
    norm = choose(norm, FeatureNorm, "norm")
    if norm == FeatureNorm.INSTANCE:
        return Norm[Norm.INSTANCE, spatial_dims](channels, affine=False, track_running_stats=False)
    if norm == FeatureNorm.BATCH:
        return Norm[Norm.BATCH, spatial_dims](channels)
    return nn.Identity()


class ResnetBlock(nn.Module):
    """``x + (pad, conv3, norm, ReLU, pad, conv3, norm)(x)``."""

    def __init__(self, spatial_dims: int, channels: int, norm: str | None = "instance", dropout: float = 0.0):
        super().__init__()
        conv = Conv[Conv.CONV, spatial_dims]
        layers: list[nn.Module] = [
            _REFLECT[spatial_dims](1),
            conv(channels, channels, 3),
            _norm(norm, spatial_dims, channels),
            nn.ReLU(),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [_REFLECT[spatial_dims](1), conv(channels, channels, 3), _norm(norm, spatial_dims, channels)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """ResNet translation generator.

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: image channels.
        ngf: filters of the first layer (doubled at each downsampling).
        n_blocks: residual blocks (9 for 256 px images, 6 for 128 px).
        norm: ``"instance"`` (reference), ``"batch"`` or ``None``.
        output_act: ``"tanh"`` (reference, images in [-1, 1]) or ``None`` (linear output).
        dropout: dropout inside residual blocks.

    Shapes:
        ``(N, in_channels, *S)`` -> ``(N, out_channels, *S)`` for any ``S``.
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: str | None = "instance",
        output_act: str | None = "tanh",
        dropout: float = 0.0,
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if n_blocks < 0 or ngf < 1:
            raise ValueError(f"need n_blocks >= 0 and ngf >= 1, got {n_blocks}, {ngf}")
        output_act = choose(output_act, OutputActivation, "output_act", allowed=("tanh", "none"))
        conv, convt = Conv[Conv.CONV, spatial_dims], Conv[Conv.CONVTRANS, spatial_dims]
        layers: list[nn.Module] = [
            _REFLECT[spatial_dims](3),
            conv(in_channels, ngf, 7),
            _norm(norm, spatial_dims, ngf),
            nn.ReLU(),
        ]
        for i in range(2):
            c = ngf * 2**i
            layers += [conv(c, 2 * c, 3, stride=2, padding=1), _norm(norm, spatial_dims, 2 * c), nn.ReLU()]
        layers += [ResnetBlock(spatial_dims, ngf * 4, norm, dropout) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            layers += [
                convt(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                _norm(norm, spatial_dims, c // 2),
                nn.ReLU(),
            ]
        layers += [_REFLECT[spatial_dims](3), conv(ngf, out_channels, 7)]
        if output_act == "tanh":
            layers.append(nn.Tanh())
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, sizes = pad_to_multiple(x, 4)
        return crop_to(self.model(padded), sizes)

    @torch.jit.unused
    def encode_layers(self, x: torch.Tensor, layers: list[int]) -> list[torch.Tensor]:
        """Outputs of the listed layers of ``self.model`` (CUT's ``nce_layers``, e.g. 0, 4, 8, 12, 16)."""
        if not layers or max(layers) >= len(self.model) or min(layers) < 0:
            raise ValueError(f"layers must index 0..{len(self.model) - 1}, got {layers}")
        h, _ = pad_to_multiple(x, 4)
        features = []
        for i, layer in enumerate(self.model):
            h = layer(h)
            if i in layers:
                features.append(h)
            if i >= max(layers):
                break
        return features
