"""T2- -> PD-weighted MRI phantom: a 3D head of tissue classes imaged with two contrasts (NIfTI, real affine).

Nested, randomly perturbed ellipsoids give scalp fat, skull, CSF, a folded grey-matter shell, white matter,
two ventricles and a few white-matter lesions. Each class has its own T2-weighted and PD-weighted intensity
(CSF brightest in both; GM > WM; lesions bright in T2), as in a dual-echo acquisition (like IXI): both contrasts
share anatomy and the smooth receive-bias field, and each gets its own Rician noise. Volumes are int16 NIfTI in
``X Y Z`` with anisotropic voxels and a slightly oblique affine. ``testA_labels``/``testB_labels``: the tissue
classes (:data:`TISSUES`).
"""

from __future__ import annotations

import numpy as np

from common.phantoms.render import blur, smooth_field
from common.phantoms.sample import PhantomImage, PhantomSample

__all__ = ["sample", "TISSUES", "T2", "PD"]

TISSUES = ("background", "csf", "grey_matter", "white_matter", "fat", "skull", "lesion")
T2 = np.array([0.0, 1.0, 0.55, 0.38, 0.45, 0.05, 0.85])
PD = np.array([0.0, 0.9, 0.78, 0.65, 0.85, 0.10, 0.80])
SCALE = 1000.0


def _affine(shape: tuple[int, int, int], voxel: tuple[float, float, float], rng: np.random.Generator) -> np.ndarray:
    angle = np.deg2rad(rng.uniform(-6, 6))
    rotation = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    linear = rotation @ np.diag(voxel)
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = -linear @ ((np.asarray(shape) - 1) / 2)
    return affine


def _rician(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.hypot(signal + rng.normal(0, sigma, signal.shape), rng.normal(0, sigma, signal.shape))


def sample(rng: np.random.Generator, size: int = 64) -> PhantomSample:
    """One head: ``size`` voxels left-right, 1.2x that front-back, 3/4 of it in slices."""
    shape = (size, int(round(size * 1.2)), max(8, size * 3 // 4))
    grid = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    semi = np.array([0.86, 0.9, 0.9]) * rng.uniform(0.94, 1.04, 3)
    wobble = 1.0 + 0.03 * smooth_field(shape, size / 6, rng)
    r = np.sqrt(sum((g / s) ** 2 for g, s in zip(grid, semi, strict=True))) * wobble
    folds = 0.04 * smooth_field(shape, size / 24, rng)
    labels = np.zeros(shape, dtype=np.uint8)
    for name, outer in (("fat", 1.0), ("skull", 0.93), ("csf", 0.87), ("grey_matter", 0.83)):
        labels[r <= outer] = TISSUES.index(name)
    labels[r <= 0.7 + folds] = TISSUES.index("white_matter")
    for side in (-1, 1):  # lateral ventricles
        c = np.array([0.12 * side, rng.uniform(-0.1, 0.1), rng.uniform(-0.05, 0.1)])
        a = np.array([0.07, 0.3, 0.12]) * rng.uniform(0.8, 1.2, 3)
        inside = sum(((g - ci) / ai) ** 2 for g, ci, ai in zip(grid, c, a, strict=True)) <= 1
        labels[inside] = TISSUES.index("csf")
    wm = np.argwhere(labels == TISSUES.index("white_matter"))
    for _ in range(int(rng.integers(1, 4))):
        if len(wm) == 0:
            break
        centre = wm[rng.integers(len(wm))]
        radius = rng.uniform(1.0, max(1.5, size / 24))
        dist = np.sqrt(
            sum(
                (np.arange(s)[tuple(slice(None) if k == d else None for k in range(3))] - centre[d]) ** 2
                for d, s in enumerate(shape)
            )
        )
        labels[(dist <= radius) & (labels == TISSUES.index("white_matter"))] = TISSUES.index("lesion")
    bias = np.exp(0.15 * smooth_field(shape, size / 3, rng))
    gain = rng.uniform(0.9, 1.1)
    t2 = _rician(blur(T2[labels], 0.6) * bias * gain, 0.02, rng)
    pd = _rician(blur(PD[labels], 0.6) * bias * gain, 0.02, rng)
    voxel = (200.0 / size, 200.0 / size, 240.0 / size)
    affine = _affine(shape, voxel, rng)
    label_image = PhantomImage(labels, "XYZ", fmt="nifti", affine=affine)
    return PhantomSample(
        a=PhantomImage(np.rint(t2 * SCALE).astype(np.int16), "XYZ", fmt="nifti", affine=affine),
        b=PhantomImage(np.rint(pd * SCALE).astype(np.int16), "XYZ", fmt="nifti", affine=affine),
        labels_a=label_image,
        labels_b=label_image,
    )
