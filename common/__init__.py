"""Shared component library of the unpaired biomedical image-to-image translation bundles."""

from pathlib import Path

#: the repository root (where ``bundles/``, ``mlflow/`` and ``scripts/`` live)
PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
