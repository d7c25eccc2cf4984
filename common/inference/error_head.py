"""Uncertainty from a learned error head: the translation and the head's expected error of it.

A model file written by a training run with ``error_head`` on carries, beside the generator, the
:class:`~common.networks.ErrorHead` trained on the model's own cycle errors
(:class:`~common.engines.ErrorHeadTrainer`). :class:`ErrorHeadTranslator` pairs the two so that inference writes
the translation (a single pass, the same as without the option, or the mean over the test-time flips) and the
head's map of it (one small pass more per generator pass) as its uncertainty.
:func:`uncertainty_translator` chooses between this and the spread over flips/checkpoints
(:class:`~common.inference.ensemble.EnsembleTranslator`) for a bundle's ``uncertainty_source``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from common.flags import as_bool
from common.inference.ensemble import (
    UncertaintyTranslator,
    dihedral_transforms,
    ensemble_translator,
)
from common.io.weights import read_weights
from common.networks.error_head import ErrorHead

__all__ = ["ErrorHeadTranslator", "UNCERTAINTY_SOURCES", "load_error_head", "uncertainty_translator"]

#: the ``uncertainty_source`` values of the bundles: ``spread`` over flips/checkpoints, the learned ``error_head``,
#: or ``auto`` (the head where the model file carries one, else the spread)
UNCERTAINTY_SOURCES = ("spread", "error_head", "auto")


class ErrorHeadTranslator(UncertaintyTranslator):
    """The generator's translation and the error head's expected absolute error of it.

    Args:
        generator: the A -> B generator.
        head: its error head (same A channels in, B channels out).
        spatial_dims: 2 or 3.
        augment: run the generator and the head on each of the 8 test-time flips/rotations
            (:func:`~common.inference.ensemble.dihedral_transforms`), undo them and write the mean of the
            translations (as the spread's translation is: a better translation at 8x the cost) and the mean of the
            head's maps, each of its own pass's translation; ``False``: one pass of each.

    Raises:
        ValueError: a head whose channels do not match ``generator``'s output (checked on the first call).

    Shapes:
        ``(B, C_in, *S)`` -> ``(B, 2 C_out, *S)``: the translation, then the expected error.
    """

    def __init__(self, generator: nn.Module, head: ErrorHead, spatial_dims: int = 2, augment: bool = False):
        super().__init__()
        self.generator, self.head = generator, head
        self.transforms = dihedral_transforms(int(spatial_dims)) if augment else [(lambda x: x, lambda y: y)]

    @property
    def description(self) -> str:
        if self.passes == 1:
            translation, error = "a single pass", "the learned error head's expected absolute error per pixel"
        else:
            translation = "the mean over test-time flips/rotations"
            error = "the learned error head's expected absolute error per pixel, averaged over the same passes"
        return f"Translation: {translation}; uncertainty: {error} (trained on the model's own cycle errors)."

    @property
    def passes(self) -> int:
        """Forward passes of the generator (and of the head) per input."""
        return len(self.transforms)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = error = None
        for n, (forward, inverse) in enumerate(self.transforms, start=1):
            moved = forward(x)
            translation = self.generator(moved)
            expected = self.head.error(moved, translation.to(moved.dtype) if self.head.conditioned else None)
            if expected.shape != translation.shape:
                raise ValueError(
                    f"the error head gives {tuple(expected.shape)} for a translation of {tuple(translation.shape)}"
                )
            y, e = inverse(translation).float(), inverse(expected).float()
            if mean is None:  # the running mean of EnsembleTranslator: the same translation to the bit
                mean, error = y.clone(), e.clone()
                continue
            mean += (y - mean) / n
            error += (e - error) / n
        return torch.cat([mean, error], dim=1)


def load_error_head(checkpoint: str | os.PathLike) -> ErrorHead | None:
    """The error head stored in a model file (``{"model": ..., "error_head": {"config", "state"}}``), in eval mode;
    ``None`` where the file has none (a run trained without ``error_head``, or a one-sided method)."""
    stored = read_weights(checkpoint).get("error_head")
    if stored is None:
        return None
    head = ErrorHead(**stored["config"])
    head.load_state_dict(stored["state"])
    return head.eval()


def uncertainty_translator(
    network: nn.Module | None,
    spec: Mapping,
    checkpoint: str | os.PathLike,
    source: str = "spread",
    checkpoints: int = 1,
    augment: bool | str = True,
    device: torch.device | str = "cpu",
    enabled: bool | str = True,
) -> UncertaintyTranslator | nn.Module | None:
    """The translator of ``--uncertainty true``: by ``source``, the spread over flips/checkpoints
    (:func:`~common.inference.ensemble.ensemble_translator`, ``checkpoints`` and ``augment``), the learned error
    head of ``checkpoint`` (:class:`ErrorHeadTranslator`, translating with the mean over flips under ``augment``),
    or ``auto`` (the head where the file has one). With ``enabled`` false, ``network`` itself (no uncertainty);
    without a ``network`` (an evaluation of given predictions), ``None``.
    ``augment`` and ``enabled`` also take the command line's words (``"true"``, ``"false"``).

    Raises:
        ValueError: an unknown ``source``, or ``error_head`` for a model file without a head.
    """
    if source not in UNCERTAINTY_SOURCES:
        raise ValueError(f"uncertainty_source must be one of {', '.join(UNCERTAINTY_SOURCES)}, got {source!r}")
    if network is None or not as_bool(enabled, "uncertainty"):
        return network
    augment = as_bool(augment, "uncertainty_augment")
    head = load_error_head(checkpoint) if source != "spread" else None
    if head is None and source == "error_head":
        raise ValueError(
            f"{Path(checkpoint)}: the model file has no learned error head (train with error_head true, a method "
            "with a cycle); use uncertainty_source spread"
        )
    if head is None:
        return ensemble_translator(network, spec, checkpoint, checkpoints, augment, device)
    spatial_dims = int(spec.get("spatial_dims", 2))
    return ErrorHeadTranslator(network, head.to(device), spatial_dims, augment).to(device).eval()
