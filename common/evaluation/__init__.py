"""Evaluation of translations against ground truth: pixel, object and signal metrics, reports and figures."""

from common.evaluation.baseline import blur_scores, gaussian_baseline
from common.evaluation.evaluate import evaluate
from common.evaluation.figures import box_plot, overlay
from common.evaluation.options import Reports, RunTracking, Scoring
from common.evaluation.review import read_raw, review_folder, review_input

__all__ = [
    "Reports",
    "RunTracking",
    "Scoring",
    "blur_scores",
    "box_plot",
    "evaluate",
    "gaussian_baseline",
    "overlay",
    "read_raw",
    "review_folder",
    "review_input",
]
