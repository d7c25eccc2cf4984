"""Evaluation of translations against ground truth: pixel, object and signal metrics, reports and figures."""

from common.evaluation.evaluate import evaluate
from common.evaluation.figures import box_plot, overlay

__all__ = ["box_plot", "evaluate", "overlay"]
