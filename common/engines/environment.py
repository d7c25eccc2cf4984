"""What a run needs to be reproduced: package versions and the project's git commit."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata

import common

__all__ = ["environment_info"]

PACKAGES = ("torch", "monai", "pytorch-ignite", "numpy", "tifffile", "nibabel", "mlflow", "cellpose", "scikit-image")


def environment_info() -> dict[str, str]:
    """Python and package versions, and ``git_commit`` (with ``+dirty`` for uncommitted changes; ``unknown``
    outside a git checkout)."""
    info = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "not installed"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=common.PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=common.PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        info["git_commit"] = commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = "unknown"
    return info
