"""A learned error head: a small U-Net that maps an image of domain A (and, by default, the generator's
translation of it) to the expected per-pixel absolute error of the A -> B generator's translation.

The head is trained beside the generators (:class:`~common.engines.ErrorHeadTrainer`) on what a cycle method
computes every iteration anyway: a real B patch ``b``, its translation into A ``a' = G_BA(b)`` and the cycle back
``G_AB(a')``. For the synthetic A image ``a'`` the truth of its translation is known (``b``), so the cycle's
absolute error ``|G_AB(a') - b|`` is a per-pixel error of the forward generator on an A image; the head learns to
predict it from ``a'`` and its translation ``G_AB(a')`` (:func:`~common.losses.laplace_nll`) and at inference reads
the real A image and its translation: the translation shows the head where the output has edges and objects, where
errors gather (on IHC -> H&E, along the nuclei's rims). Its map
comes from the model's own behaviour - where this generator failed on images like this one - not from the input's
brightness, and costs one small forward pass per pass of the generator (one, or the 8 test-time flips').
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from monai.networks.nets import BasicUNet
from torch import nn

__all__ = ["ErrorHead", "DEFAULT_ERROR_HEAD_FEATURES"]

#: BasicUNet widths of the head: 0.5 M parameters, a few per cent of a generator's cost
DEFAULT_ERROR_HEAD_FEATURES = (16, 16, 32, 64, 128, 16)

#: the smallest size per axis the U-Net runs on; smaller inputs (3D patches of 16 px, tiny images) are padded to it
MIN_SIZE = 32

#: bounds of the predicted log-scale (errors from 6e-6 to 400 in normalised units): keeps exp() finite
LOG_SCALE_RANGE = (-12.0, 6.0)


class ErrorHead(nn.Module):
    """Per-pixel log-scale of the forward generator's absolute error, from an A image and its translation.

    Args:
        spatial_dims: 2 or 3.
        in_channels: channels of domain A (as the generator sees them, after any channel mix).
        out_channels: channels of domain B (one error map per output channel).
        features: the six widths of MONAI's ``BasicUNet``.
        conditioned: the head also reads the translation (``out_channels`` more input channels); ``False``: the A
            image alone (the first version; model files without this key load as such).

    Raises:
        ValueError: ``spatial_dims`` not 2 or 3, channel counts below 1, or not six features.

    Shapes:
        ``x`` ``(N, in_channels, *S)`` and ``translation`` ``(N, out_channels, *S)`` -> ``(N, out_channels, *S)``
        log-scales, any ``S`` (axes under 32 pixels are padded by repeating edges, then cropped back);
        :meth:`error` gives ``exp`` of them, the expected absolute error in the B domain's normalised units.
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        out_channels: int = 1,
        features: Sequence[int] = DEFAULT_ERROR_HEAD_FEATURES,
        conditioned: bool = False,
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if int(in_channels) < 1 or int(out_channels) < 1:
            raise ValueError(f"channel counts must be positive, got {in_channels}, {out_channels}")
        features = tuple(int(f) for f in features)
        if len(features) != 6 or min(features) < 1:
            raise ValueError(f"features must be six positive widths, got {features}")
        self.spatial_dims, self.in_channels, self.out_channels = int(spatial_dims), int(in_channels), int(out_channels)
        self.features, self.conditioned = features, bool(conditioned)
        reads = self.in_channels + (self.out_channels if self.conditioned else 0)
        self.net = BasicUNet(
            spatial_dims=self.spatial_dims, in_channels=reads, out_channels=self.out_channels, features=features
        )

    def forward(self, x: torch.Tensor, translation: torch.Tensor | None = None) -> torch.Tensor:
        """Log-scales of the error of ``translation`` (the generator's output for ``x``; required when
        ``conditioned``, ignored otherwise)."""
        if self.conditioned:
            if translation is None:
                raise ValueError("this error head is conditioned on the translation: pass it beside the input")
            if translation.shape[0] != x.shape[0] or translation.shape[2:] != x.shape[2:]:
                raise ValueError(
                    f"the translation {tuple(translation.shape)} does not match the input {tuple(x.shape)}"
                )
            x = torch.cat([x, translation.to(x.dtype)], dim=1)
        sizes = x.shape[2:]
        if min(sizes) < MIN_SIZE:  # four halvings must leave 2+ pixels for the deepest instance norm
            pads: list[int] = []
            for size in reversed(sizes):  # F.pad lists the last axis first
                pads += [0, max(0, MIN_SIZE - size)]
            out = self.net(F.pad(x, pads, mode="replicate"))
            out = out[(slice(None), slice(None)) + tuple(slice(0, size) for size in sizes)]
        else:
            out = self.net(x)
        return out.clamp(*LOG_SCALE_RANGE)

    def error(self, x: torch.Tensor, translation: torch.Tensor | None = None) -> torch.Tensor:
        """The expected absolute error, ``exp(forward(x, translation))``."""
        return torch.exp(self(x, translation))

    def config(self) -> dict:
        """The arguments that rebuild this head (stored beside its weights)."""
        return {
            "spatial_dims": self.spatial_dims, "in_channels": self.in_channels, "out_channels": self.out_channels,
            "features": list(self.features), "conditioned": self.conditioned,
        }  # fmt: skip
