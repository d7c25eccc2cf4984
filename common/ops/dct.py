"""DCT low-pass filter against CycleGAN steganography (after Utz et al., "Focus on content, not noise",
deepmicroscopy.org), and the high-frequency energy it removes.

The orthonormal DCT-II is applied along each spatial axis by matrix products (differentiable, any size, 2D or
3D); coefficients whose frequency index exceeds ``cutoff`` times the axis length are set to zero, and the
inverse transform returns the filtered image. A generator hiding its input as a low-amplitude high-frequency
pattern loses it through this filter; a smooth image passes unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["dct_matrix", "dct_lowpass", "high_frequency_fraction", "DCTLowPass"]


def dct_matrix(n: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``(n, n)``: ``coefficients = M @ signal``, ``signal = M.T @ coefficients``."""
    k = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(n, dtype=torch.float64).unsqueeze(0)
    m = torch.cos(math.pi * (i + 0.5) * k / n) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m.to(device=device, dtype=dtype)


def _transform(x: torch.Tensor, spatial_dims: int, inverse: bool) -> torch.Tensor:
    out = x
    for axis in range(x.ndim - spatial_dims, x.ndim):
        m = dct_matrix(x.shape[axis], x.device, x.dtype)
        out = torch.movedim(torch.movedim(out, axis, -1) @ (m if inverse else m.T), -1, axis)
    return out


def _mask(shape: list[int], cutoff: float, device, dtype) -> torch.Tensor:
    mask = torch.ones(shape, device=device, dtype=dtype)
    for axis, n in enumerate(shape):
        keep = max(1, int(math.ceil(cutoff * n)))
        index = [slice(None)] * len(shape)
        index[axis] = slice(keep, None)
        mask[tuple(index)] = 0
    return mask


def dct_lowpass(x: torch.Tensor, cutoff: float = 0.5, spatial_dims: int = 2) -> torch.Tensor:
    """Zero the DCT coefficients above ``cutoff`` (fraction of each axis' frequencies) of ``(N, C, *spatial)``.

    Raises:
        ValueError: ``cutoff`` outside ``(0, 1]`` or a bad ``spatial_dims``.
    """
    if not 0 < cutoff <= 1:
        raise ValueError(f"cutoff must be in (0, 1], got {cutoff}")
    if spatial_dims not in (2, 3) or x.ndim < spatial_dims + 1:
        raise ValueError(f"spatial_dims must be 2 or 3 and fit the input of shape {tuple(x.shape)}")
    if cutoff == 1:
        return x
    # at least fp32, also under autocast: bf16 DCT matrices (3 significant digits) would add rounding noise at all
    # frequencies, high ones included, to a filter whose purpose is to remove them
    dtype = torch.promote_types(x.dtype, torch.float32)
    with torch.autocast(x.device.type, enabled=False):
        y = x.to(dtype)
        coefficients = _transform(y, spatial_dims, inverse=False)
        coefficients = coefficients * _mask(list(x.shape[-spatial_dims:]), cutoff, x.device, dtype)
        return _transform(coefficients, spatial_dims, inverse=True).to(x.dtype)


def high_frequency_fraction(x: torch.Tensor, cutoff: float = 0.5, spatial_dims: int = 2) -> torch.Tensor:
    """Share of each image's (mean-removed) energy above ``cutoff``: ``(N,)``; 0 for a smooth image."""
    centred = x - x.mean(dim=tuple(range(x.ndim - spatial_dims, x.ndim)), keepdim=True)
    high = centred - dct_lowpass(centred, cutoff, spatial_dims)
    dims = tuple(range(1, x.ndim))
    return high.pow(2).sum(dims) / centred.pow(2).sum(dims).clamp_min(1e-12)


class DCTLowPass(nn.Module):
    """Module form of :func:`dct_lowpass` for use on a cycle path."""

    def __init__(self, cutoff: float = 0.5, spatial_dims: int = 2):
        super().__init__()
        if not 0 < cutoff <= 1:
            raise ValueError(f"cutoff must be in (0, 1], got {cutoff}")
        self.cutoff, self.spatial_dims = float(cutoff), int(spatial_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dct_lowpass(x, self.cutoff, self.spatial_dims)
