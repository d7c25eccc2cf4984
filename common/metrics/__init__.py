"""Fidelity metrics: pixel (RMSE, MAE, PSNR, SSIM, MS-SSIM, MicroMS-SSIM, PCC), object (instance matching, PQ,
nearest-object distance and IoU), signal (ROI traces, dF/F, trace correlation) and the steganography probe."""

from common.metrics.objects import Matching, instance_metrics, iou_matrix, match_instances, nearest_object_analysis
from common.metrics.pixel import aggregate, fit_affine_intensity, ms_ssim, pearson, pixel_metrics
from common.metrics.signal import baseline_window, delta_f_over_f, roi_traces, trace_correlations
from common.metrics.steganography import steganography_probe

__all__ = [
    "Matching",
    "aggregate",
    "baseline_window",
    "delta_f_over_f",
    "fit_affine_intensity",
    "instance_metrics",
    "iou_matrix",
    "match_instances",
    "ms_ssim",
    "nearest_object_analysis",
    "pearson",
    "pixel_metrics",
    "roi_traces",
    "steganography_probe",
    "trace_correlations",
]
