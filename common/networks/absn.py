"""Approximate bidirectional spectral normalisation (ABSN, Ui2i): a weight parametrisation replacing feature
normalisation.

A convolution weight ``(out, in, *k)`` is a matrix in two ways: forward ``W_fw`` (``out x in*k``: how it maps
inputs to outputs) and backward ``W_bw`` (``in x out*k``: how it maps output gradients back). The spectral norm
of each is estimated by power iteration; ``u^T W v`` with the iterated (detached) vectors is a differentiable
lower bound of it. The weight is divided by ``sigma_rms = sqrt((sigma_fw^2 + sigma_bw^2) / 2)``, bounding the
gain in both directions without any dependence on the batch or image context.

As a ``torch.nn.utils.parametrize`` parametrisation it must be removed (:func:`remove_absn`, which bakes the
normalised weight in) before TorchScript scripting.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["BidirectionalSpectralNorm", "apply_absn", "reestimate_absn", "remove_absn", "absn_sigmas"]

_NORMALISED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)


def _matrices(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    forward = weight.reshape(weight.shape[0], -1)
    backward = weight.transpose(0, 1).reshape(weight.shape[1], -1)
    return forward, backward


class BidirectionalSpectralNorm(nn.Module):
    """Parametrisation ``weight -> weight / sigma_rms`` with power-iteration estimates of both spectral norms.

    Args:
        weight: the weight it will parametrise (to size the power-iteration vectors).
        n_power_iterations: iterations per training forward pass.
        eps: numerical floor.
    """

    def __init__(self, weight: torch.Tensor, n_power_iterations: int = 1, eps: float = 1e-12):
        super().__init__()
        if weight.ndim < 2:
            raise ValueError(f"ABSN needs a weight with at least 2 dimensions, got shape {tuple(weight.shape)}")
        if n_power_iterations < 1:
            raise ValueError(f"n_power_iterations must be positive, got {n_power_iterations}")
        self.n_power_iterations, self.eps = int(n_power_iterations), float(eps)
        forward, backward = _matrices(weight.detach())
        for name, matrix in (("fw", forward), ("bw", backward)):
            u = F.normalize(torch.randn(matrix.shape[0], dtype=weight.dtype), dim=0, eps=eps)
            v = F.normalize(torch.randn(matrix.shape[1], dtype=weight.dtype), dim=0, eps=eps)
            self.register_buffer(f"u_{name}", u)
            self.register_buffer(f"v_{name}", v)
        self._power_iteration(weight.detach(), 15)  # start from good estimates

    @torch.no_grad()
    def _power_iteration(self, weight: torch.Tensor, iterations: int) -> None:
        forward, backward = _matrices(weight)
        for matrix, u, v in ((forward, self.u_fw, self.v_fw), (backward, self.u_bw, self.v_bw)):
            for _ in range(iterations):
                v.copy_(F.normalize(matrix.t().mv(u), dim=0, eps=self.eps))
                u.copy_(F.normalize(matrix.mv(v), dim=0, eps=self.eps))

    @torch.no_grad()
    def reestimate(self, weight: torch.Tensor, iterations: int | None = None) -> None:
        """Refine the power-iteration vectors on ``weight`` (``n_power_iterations`` steps when not given), as a
        training forward pass does; for a copy whose weights change outside training (a moving average)."""
        self._power_iteration(weight.detach(), self.n_power_iterations if iterations is None else int(iterations))

    def sigmas(self, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable lower bounds ``u^T W v`` of the forward and backward spectral norms."""
        forward, backward = _matrices(weight)
        sigma_fw = torch.dot(self.u_fw.clone(), forward.mv(self.v_fw.clone()))
        sigma_bw = torch.dot(self.u_bw.clone(), backward.mv(self.v_bw.clone()))
        return sigma_fw, sigma_bw

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._power_iteration(weight.detach(), self.n_power_iterations)
        sigma_fw, sigma_bw = self.sigmas(weight)
        sigma = torch.sqrt((sigma_fw**2 + sigma_bw**2) / 2).clamp_min(self.eps)
        return weight / sigma


def apply_absn(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Parametrise the weight of every convolution and linear layer of ``module`` with ABSN (in place)."""
    for layer in module.modules():
        if isinstance(layer, _NORMALISED) and not parametrize.is_parametrized(layer, "weight"):
            parametrize.register_parametrization(
                layer, "weight", BidirectionalSpectralNorm(layer.weight, n_power_iterations)
            )
    return module


def reestimate_absn(module: nn.Module, iterations: int | None = None) -> nn.Module:
    """Refine every ABSN layer's power-iteration vectors of ``module`` on its own weight (in place).

    A moving average of a network averages these vectors like any buffer: a mean of unit vectors that wander
    within a near-degenerate top singular space is short (measured: norm ~0.4 after 400 steps of EMA 0.99), so
    ``u^T W v`` underestimates the averaged weight's spectral norm ~6x and the average's layers run with
    weights ~6x too large. Running the power iteration on the averaged weight after each update keeps the
    estimate the weight's own (``common.engines.generator_ema`` does)."""
    for layer in module.modules():
        if parametrize.is_parametrized(layer, "weight"):
            weight = layer.parametrizations["weight"].original
            for p in layer.parametrizations["weight"]:
                if isinstance(p, BidirectionalSpectralNorm):
                    p.reestimate(weight, iterations)
    return module


def remove_absn(module: nn.Module) -> nn.Module:
    """Remove ABSN parametrisations, keeping the normalised weights as plain parameters (for export).

    Not on a ``copy.deepcopy`` of a network still in use: the copy shares the parametrised layers' classes, and
    removal deletes the ``weight`` property from them (use ``deployable_state_dict`` to save weights)."""
    for layer in module.modules():
        if parametrize.is_parametrized(layer, "weight"):
            if any(isinstance(p, BidirectionalSpectralNorm) for p in layer.parametrizations["weight"]):
                parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    return module


def absn_sigmas(weight: torch.Tensor) -> tuple[float, float, float]:
    """Exact forward and backward spectral norms of a weight and their RMS (for checks)."""
    forward, backward = _matrices(weight.detach())
    sigma_fw = float(torch.linalg.matrix_norm(forward, ord=2))
    sigma_bw = float(torch.linalg.matrix_norm(backward, ord=2))
    return sigma_fw, sigma_bw, ((sigma_fw**2 + sigma_bw**2) / 2) ** 0.5
