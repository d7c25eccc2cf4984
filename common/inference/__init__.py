"""Inference: translate whole files (movies, stacks, volumes, large tiles) keeping their geometry."""

from common.inference.bundle_run import translate_with_bundle, volume_to_nifti
from common.inference.ensemble import (
    EnsembleTranslator,
    UncertaintyTranslator,
    ensemble_checkpoints,
    ensemble_translator,
    split_uncertainty,
)
from common.inference.error_head import ErrorHeadTranslator, load_error_head, uncertainty_translator
from common.inference.files import Outputs, translate_files
from common.inference.inferer import FrameInferer, Tiling
from common.inference.transforms import postprocessing, preprocessing
from common.inference.translate import denormalize, output_path, translate_image

__all__ = [
    "EnsembleTranslator",
    "ErrorHeadTranslator",
    "UncertaintyTranslator",
    "load_error_head",
    "uncertainty_translator",
    "ensemble_checkpoints",
    "ensemble_translator",
    "split_uncertainty",
    "FrameInferer",
    "Outputs",
    "Tiling",
    "denormalize",
    "output_path",
    "postprocessing",
    "preprocessing",
    "translate_files",
    "translate_image",
    "translate_with_bundle",
    "volume_to_nifti",
]
