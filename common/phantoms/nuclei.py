"""Nuclei as parameterised, non-overlapping ellipses (2D) or ellipsoids (3D), after Böhland et al.

Each nucleus has a centre, two in-plane semi-axes, an in-plane rotation and (3D) a semi-axis along z. Shapes are
placed by rejection so that no two touch (a gap of ``margin`` pixels), giving an instance label image whose
objects a segmenter can recover exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Ellipse", "random_ellipses", "render_ellipse"]


@dataclass(frozen=True)
class Ellipse:
    """One nucleus. ``center`` and ``axes`` are in array order (``(y, x)`` or ``(z, y, x)``); ``angle`` rotates
    the in-plane axes (radians)."""

    center: tuple[float, ...]
    axes: tuple[float, ...]
    angle: float

    def scaled(self, factor: float, plus: float = 0.0) -> Ellipse:
        return Ellipse(self.center, tuple(a * factor + plus for a in self.axes), self.angle)


def render_ellipse(shape: tuple[int, ...], ellipse: Ellipse) -> tuple[tuple[slice, ...], np.ndarray]:
    """Bounding box of ``ellipse`` within ``shape`` and the boolean mask of its inside over that box."""
    reach = max(ellipse.axes[-2:])
    radii = (ellipse.axes[0],) * (len(shape) - 2) + (reach, reach) if len(shape) == 3 else (reach, reach)
    box = tuple(
        slice(max(0, int(np.floor(c - r))), min(s, int(np.ceil(c + r)) + 1))
        for c, r, s in zip(ellipse.center, radii, shape, strict=True)
    )
    grids = np.meshgrid(*[np.arange(b.start, b.stop) for b in box], indexing="ij")
    dy, dx = grids[-2] - ellipse.center[-2], grids[-1] - ellipse.center[-1]
    cos, sin = np.cos(ellipse.angle), np.sin(ellipse.angle)
    u, v = cos * dy + sin * dx, -sin * dy + cos * dx
    inside = (u / ellipse.axes[-2]) ** 2 + (v / ellipse.axes[-1]) ** 2
    if len(shape) == 3:
        inside = inside + ((grids[0] - ellipse.center[0]) / ellipse.axes[0]) ** 2
    return box, inside <= 1.0


def random_ellipses(
    shape: tuple[int, ...],
    n: int,
    rng: np.random.Generator,
    *,
    radius: tuple[float, float] = (4.0, 8.0),
    aspect: tuple[float, float] = (1.0, 1.6),
    z_radius: tuple[float, float] = (2.0, 4.0),
    margin: float = 2.0,
    border: float = 0.0,
    max_tries: int = 50,
) -> tuple[np.ndarray, list[Ellipse]]:
    """Place up to ``n`` non-overlapping ellipses; return their instance labels (1..k) and parameters.

    Args:
        shape: ``(Y, X)`` or ``(Z, Y, X)``.
        n: number of nuclei wanted (fewer when the image is full).
        rng: random generator.
        radius: range of the mean in-plane semi-axis (pixels).
        aspect: range of the ratio between the long and short in-plane semi-axes.
        z_radius: range of the z semi-axis (3D).
        margin: minimum gap between nuclei (pixels).
        border: keep centres this far from the image edge.
        max_tries: rejection attempts per nucleus.

    Returns:
        ``(labels int32 shaped like shape, ellipses)``, with ``labels == i + 1`` inside ``ellipses[i]``.
    """
    if len(shape) not in (2, 3):
        raise ValueError(f"shape must be 2D or 3D, got {shape}")
    if radius[0] <= 0 or radius[1] < radius[0]:
        raise ValueError(f"radius range must be positive and increasing, got {radius}")
    labels = np.zeros(shape, dtype=np.int32)
    ellipses: list[Ellipse] = []
    for _ in range(n):
        for _ in range(max_tries):
            r = rng.uniform(*radius)
            ratio = np.sqrt(rng.uniform(*aspect))
            inplane = (r * ratio, r / ratio)
            center = tuple(
                float(rng.uniform(border, s - 1 - border)) if s - 1 > 2 * border else (s - 1) / 2 for s in shape
            )
            axes = ((rng.uniform(*z_radius),) if len(shape) == 3 else ()) + inplane
            candidate = Ellipse(center, axes, float(rng.uniform(0, np.pi)))
            box, halo = render_ellipse(shape, candidate.scaled(1.0, margin))
            if halo.size and not np.any(labels[box][halo]):
                box, inside = render_ellipse(shape, candidate)
                if inside.any():
                    labels[box][inside] = len(ellipses) + 1
                    ellipses.append(candidate)
                break
    return labels, ellipses
