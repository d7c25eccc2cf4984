"""How a training run picks its model on the validation split, as one component of the bundle configs.

:class:`Selection` decides, from the data set alone, whether selection is supervised (``valA`` with aligned
``valB``: fitted PSNR, higher is better) or unsupervised (realism, low-passed cycle and structure against real B
images: lower is better), and holds what MONAI's evaluator needs for it: the network to run, the key and additional
metrics and their comparison. :class:`SelectionEvaluator` is MONAI's ``SupervisedEvaluator`` wired from it, so the
configs state settings and no comparison or metric logic.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from monai.engines import SupervisedEvaluator
from torch import nn

from common.engines.validation import has_ground_truth, reference_images, validation_metrics, validation_network
from common.methods.base import TranslationMethod

__all__ = ["Selection", "SelectionEvaluator"]


class Selection:
    """The model-selection criterion of a training run on ``dataset_dir``'s validation split.

    Args:
        dataset_dir: the data set (``valA`` / ``valB``, else ``trainA`` with the unsupervised criterion).
        method: the method being trained.
        generator: the A -> B network validated (e.g. the EMA copy; default the method's ``generator_ab``).
        spatial_dims: 2 or 3.
        size: the validation crop (the unsupervised criterion's real B references are cropped to it).
        normalization_b: the B normalisation of those references.
        channels_b: the translation's channels (to split it from the cycle in the selection network's output).
        polarity: +1 / -1 where the task states how brightness relates across the modalities, 0 where it does not.

    Attributes:
        ground_truth: supervised selection (every ``valA`` image has an aligned ``valB`` image).
        network: the network the evaluator runs (:func:`~common.engines.validation_network`).
        key_val_metric, additional_metrics: the evaluator's metrics (:func:`~common.engines.validation_metrics`).
        key_metric: the name of the metric that selects.
        higher_is_better: the direction of ``key_metric``.
    """

    def __init__(
        self,
        dataset_dir: str | os.PathLike,
        method: TranslationMethod,
        generator: nn.Module | None = None,
        *,
        spatial_dims: int = 2,
        size: Sequence[int] | None = None,
        normalization_b: str | None = None,
        channels_b: int | None = None,
        polarity: int = 0,
    ):
        self.ground_truth = has_ground_truth(dataset_dir)
        reference = None
        if not self.ground_truth:
            reference = reference_images(dataset_dir, spatial_dims, size=size, normalization_b=normalization_b)
        self.key_val_metric, self.additional_metrics = validation_metrics(
            self.ground_truth, spatial_dims, reference, channels_b, polarity
        )
        self.key_metric = next(iter(self.key_val_metric))
        self.higher_is_better = self.ground_truth
        self.network = validation_network(method, self.ground_truth, generator)

    def metric_cmp_fn(self, current: float, best: float) -> bool:
        """Whether ``current`` improves on ``best`` (MONAI's ``metric_cmp_fn``)."""
        return current > best if self.higher_is_better else current < best


class SelectionEvaluator(SupervisedEvaluator):
    """MONAI's ``SupervisedEvaluator`` running ``selection``'s network, metrics and comparison.

    Args:
        device: where to validate.
        val_data_loader: the validation items (``image``, ``label``).
        selection: the criterion (:class:`Selection`).
        kwargs: any other ``SupervisedEvaluator`` argument (``inferer``, ``val_handlers``, ...).
    """

    def __init__(self, device, val_data_loader, selection: Selection, **kwargs):
        super().__init__(
            device=device,
            val_data_loader=val_data_loader,
            network=selection.network,
            key_val_metric=selection.key_val_metric,
            additional_metrics=selection.additional_metrics,
            metric_cmp_fn=selection.metric_cmp_fn,
            **kwargs,
        )
        self.selection = selection
