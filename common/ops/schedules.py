"""Schedules for loss weights and learning rates."""

from __future__ import annotations

import math

__all__ = ["sigmoid_ramp", "SigmoidRamp", "LinearDecay", "ExponentialDecay"]


def sigmoid_ramp(step: int, start: float, end: float, length: int, midpoint: float = 0.5, steepness: float = 10.0):
    """A weight growing from ``start`` to ``end`` along a logistic curve over ``length`` steps.

    ``steepness`` sets how sharp the transition around ``midpoint * length`` is; the curve is rescaled so that it
    equals ``start`` at step 0 and ``end`` at step ``length`` (and after).
    """
    if length <= 0:
        return float(end)

    def logistic(t: float) -> float:
        return 1.0 / (1.0 + math.exp(-steepness * (t - midpoint)))

    t = min(max(step / length, 0.0), 1.0)
    lo, hi = logistic(0.0), logistic(1.0)
    return float(start + (end - start) * (logistic(t) - lo) / (hi - lo))


class SigmoidRamp:
    """Callable form of :func:`sigmoid_ramp` (STABLE's growing ``lambda_cyc``)."""

    def __init__(self, start: float, end: float, length: int, midpoint: float = 0.5, steepness: float = 10.0):
        if length < 0:
            raise ValueError(f"length must be non-negative, got {length}")
        self.start, self.end, self.length = float(start), float(end), int(length)
        self.midpoint, self.steepness = float(midpoint), float(steepness)

    def __call__(self, step: int) -> float:
        return sigmoid_ramp(step, self.start, self.end, self.length, self.midpoint, self.steepness)


class LinearDecay:
    """LR factor for ``torch.optim.lr_scheduler.LambdaLR``: 1 until ``decay_start``, then linearly to 0 at
    ``total`` (the CycleGAN schedule). A class, not a lambda, so the scheduler's state can be saved."""

    def __init__(self, total: int, decay_start: int):
        if not 0 <= decay_start <= total or total <= 0:
            raise ValueError(f"need 0 <= decay_start <= total and total > 0, got {decay_start}, {total}")
        self.total, self.decay_start = int(total), int(decay_start)

    def __call__(self, step: int) -> float:
        if step < self.decay_start:
            return 1.0
        span = max(1, self.total - self.decay_start)
        return max(0.0, 1.0 - (step - self.decay_start) / span)


class ExponentialDecay:
    """A weight ``start * rate**(step / every)`` (UTOM's decaying saliency weight), never below ``minimum``."""

    def __init__(self, start: float, rate: float, every: int = 1, minimum: float = 0.0):
        if not 0 < rate <= 1 or every <= 0:
            raise ValueError(f"need 0 < rate <= 1 and every > 0, got {rate}, {every}")
        self.start, self.rate, self.every, self.minimum = float(start), float(rate), int(every), float(minimum)

    def __call__(self, step: int) -> float:
        return max(self.minimum, self.start * self.rate ** (step / self.every))
