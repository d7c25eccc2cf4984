"""Per-pixel uncertainty of a translation: its spread over test-time augmentations and checkpoints.

A faithful translator gives the same output for an image whether it is flipped or rotated first (and the flip
undone afterwards), and late checkpoints of a converged run agree with each other; where they disagree the network
is guessing. :class:`EnsembleTranslator` runs every member network on every flip/rotation of its input, undoes the
transform on each output, and returns the mean and the standard deviation over all passes along the channels:
``(B, 2 C, *S)``, mean first. It is a plain ``nn.Module``, so whole-image, tiled and streamed inference use it as
they use the generator (each tile gets its own augmentations).

MONAI's ``TestTimeAugmentation`` draws random invertible transforms of a data dictionary and runs the model on them
through a data loader, outside the inferer; here the passes must happen inside whole-image, tiled and streamed
inference alike and be the same every time, so the ensemble is a module with fixed symmetries.

The augmentations are the 8 symmetries of the square in 2D (4 rotations by 90 degrees, each with and without a
flip) and the 8 flips of the three axes in 3D (rotations would swap anisotropic axes).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from common.io.weights import load_model_weights
from common.methods import ModelSpec

__all__ = [
    "EnsembleTranslator",
    "UncertaintyTranslator",
    "dihedral_transforms",
    "ensemble_checkpoints",
    "ensemble_translator",
    "split_uncertainty",
]

Transform = Callable[[torch.Tensor], torch.Tensor]


def dihedral_transforms(spatial_dims: int) -> list[tuple[Transform, Transform]]:
    """``(forward, inverse)`` pairs acting on the last ``spatial_dims`` axes of ``(B, C, *S)`` tensors, identity
    first: in 2D the 8 rotations/flips of the plane, in 3D the 8 flips of the axes.

    Raises:
        ValueError: ``spatial_dims`` not 2 or 3.
    """
    if spatial_dims == 2:
        pairs = []
        for flip in (False, True):
            for k in range(4):

                def forward(x: torch.Tensor, k: int = k, flip: bool = flip) -> torch.Tensor:
                    x = torch.flip(x, dims=(-1,)) if flip else x
                    return torch.rot90(x, k, dims=(-2, -1))

                def inverse(y: torch.Tensor, k: int = k, flip: bool = flip) -> torch.Tensor:
                    y = torch.rot90(y, -k, dims=(-2, -1))
                    return torch.flip(y, dims=(-1,)) if flip else y

                pairs.append((forward, inverse))
        return pairs
    if spatial_dims == 3:
        pairs = []
        for mask in range(8):
            dims = tuple(-1 - i for i in range(3) if mask >> i & 1)

            def flip(x: torch.Tensor, dims: tuple = dims) -> torch.Tensor:
                return torch.flip(x, dims=dims) if dims else x

            pairs.append((flip, flip))
        return pairs
    raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")


class UncertaintyTranslator(nn.Module):
    """A translator whose output holds the translation and its per-pixel uncertainty: ``(B, C_in, *S)`` ->
    ``(B, 2 C_out, *S)``, the translation in channels ``[:C_out]``, the uncertainty (an absolute error scale in
    the same normalised units) in ``[C_out:]`` (:func:`split_uncertainty`). ``translate_files`` writes the two
    halves to two folders."""

    #: what the two halves are, for reports
    description = "Translation and per-pixel uncertainty."


class EnsembleTranslator(UncertaintyTranslator):
    """Mean and spread of the translation over ``networks`` x test-time augmentations.

    Args:
        networks: the member generators (the same architecture at different checkpoints, or one network).
        spatial_dims: 2 or 3.
        augment: run every flip/rotation of :func:`dihedral_transforms` (``False``: the identity only, so the
            spread comes from the checkpoints alone).

    Raises:
        ValueError: no networks, or a single network without augmentation (no spread to measure).

    Shapes:
        ``(B, C_in, *S)`` -> ``(B, 2 C_out, *S)``: channels ``[:C_out]`` the mean over passes, ``[C_out:]`` their
        standard deviation (population, over ``len(networks) * 8`` passes, or ``len(networks)``).
    """

    description = (
        "Translation: the mean over test-time flips/rotations (and checkpoints); uncertainty: their standard "
        "deviation per pixel."
    )

    def __init__(self, networks: Sequence[nn.Module], spatial_dims: int = 2, augment: bool = True):
        super().__init__()
        if not networks:
            raise ValueError("EnsembleTranslator needs at least one network")
        if len(networks) == 1 and not augment:
            raise ValueError("one network without augmentation has no spread: set augment=True or give checkpoints")
        self.members = nn.ModuleList(networks)
        self.spatial_dims = int(spatial_dims)
        self.transforms = dihedral_transforms(self.spatial_dims) if augment else [(lambda x: x, lambda y: y)]

    @property
    def passes(self) -> int:
        """Forward passes per input: members x augmentations."""
        return len(self.members) * len(self.transforms)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = m2 = None
        n = 0
        for network in self.members:
            for forward, inverse in self.transforms:
                y = inverse(network(forward(x))).float()
                n += 1
                if mean is None:  # Welford: exact zero spread where every pass agrees
                    mean, m2 = y.clone(), torch.zeros_like(y)
                    continue
                delta = y - mean
                mean += delta / n
                m2 += delta * (y - mean)
        return torch.cat([mean, (m2 / n).clamp_min(0).sqrt()], dim=1)


def split_uncertainty(output: torch.Tensor, channel_dim: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, spread)`` halves of an :class:`EnsembleTranslator` output along ``channel_dim``.

    Raises:
        ValueError: an odd channel count (not an ensemble output).
    """
    channels = output.shape[channel_dim]
    if channels % 2:
        raise ValueError(f"an ensemble output has an even channel count (mean, spread), got {channels}")
    return torch.split(output, channels // 2, dim=channel_dim)


_ITERATION = re.compile(r"iteration=(\d+)\.pt$")


def ensemble_checkpoints(checkpoint: str | os.PathLike, count: int) -> list[Path]:
    """``checkpoint`` and the ``count - 1`` latest generator snapshots of its training run
    (``snapshots/model_iteration=N.pt`` beside it, written with ``keep_snapshots``); fewer where fewer exist.

    Raises:
        ValueError: ``count`` below 1.
    """
    if int(count) < 1:
        raise ValueError(f"the ensemble needs at least one checkpoint, got count={count}")
    checkpoint = Path(checkpoint)
    snapshots = []
    for path in (checkpoint.parent / "snapshots").glob("model_iteration=*.pt"):
        match = _ITERATION.search(path.name)
        if match:
            snapshots.append((int(match.group(1)), path))
    latest = [p for _, p in sorted(snapshots, reverse=True) if p.resolve() != checkpoint.resolve()]
    return [checkpoint] + latest[: int(count) - 1]


def ensemble_translator(
    network: nn.Module,
    spec: Mapping,
    checkpoint: str | os.PathLike,
    checkpoints: int = 1,
    augment: bool = True,
    device: torch.device | str = "cpu",
) -> EnsembleTranslator:
    """The uncertainty translator of a bundle's inference: ``network`` (the loaded ``checkpoint``) and the
    generators of the ``checkpoints - 1`` latest snapshots of its run (:func:`ensemble_checkpoints`), each under the
    test-time augmentations unless ``augment`` is off.

    Args:
        network: the generator loaded from ``checkpoint``.
        spec: the model spec (:meth:`~common.methods.ModelSpec.load`) that rebuilds the snapshots' networks.
        checkpoint: the model file.
        checkpoints: how many checkpoints the ensemble holds at most (1: ``network`` alone).
        augment: test-time flips/rotations.
        device: where the members live.
    """
    members = [network]
    for path in ensemble_checkpoints(checkpoint, checkpoints)[1:]:
        members.append(load_model_weights(ModelSpec.of(spec).build_generator(), path).to(device).eval())
    return EnsembleTranslator(members, int(spec.get("spatial_dims", 2)), augment=augment).to(device).eval()
