"""Inference: translate whole files (movies, stacks, volumes, large tiles) keeping their geometry."""

from common.inference.translate import denormalize, output_path, translate_files, translate_image

__all__ = ["denormalize", "output_path", "translate_files", "translate_image"]
