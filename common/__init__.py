"""Shared component library of the unpaired biomedical image-to-image translation bundles.

Sub-packages load on first use (``common.engines`` after ``import common``), so a bundle config's ``$``
expressions need only ``$import common``.
"""

import importlib
from pathlib import Path

#: the repository root (where ``bundles/``, ``mlflow/`` and ``scripts/`` live)
PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)

from common.bundle_root import find_bundle_root  # noqa: E402  (the bundles' configs call these two)
from common.flags import as_bool, as_optional  # noqa: E402

_SUBMODULES = (
    "data",
    "distributed",
    "engines",
    "errors",
    "evaluation",
    "inference",
    "io",
    "losses",
    "methods",
    "metrics",
    "networks",
    "ops",
    "phantoms",
    "prepare",
    "segmentation",
)

__all__ = ["PROJECT_ROOT", "as_bool", "as_optional", "find_bundle_root", *_SUBMODULES]


def __getattr__(name: str):
    """Import sub-package ``name`` on first access (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"common.{name}")
    raise AttributeError(f"module 'common' has no attribute {name!r}")
