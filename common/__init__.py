"""Shared component library of the unpaired biomedical image-to-image translation bundles."""

from pathlib import Path

#: the repository root (where ``bundles/``, ``mlflow/`` and ``scripts/`` live)
PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)

from common.flags import as_bool  # noqa: E402  (the bundles' configs call common.as_bool)

__all__ = ["PROJECT_ROOT", "as_bool"]
