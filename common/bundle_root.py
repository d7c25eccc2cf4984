"""Where a bundle lives: its configs find their own folder, so that a copy of a bundle folder runs anywhere."""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["find_bundle_root"]


def find_bundle_root(task: str, argv: Sequence[str] | None = None, cwd: str | os.PathLike | None = None) -> str:
    """The folder of the bundle being run: the default of every config's ``bundle_root``.

    In order: the bundle holding the ``--config_file`` of the command line (``python -m monai.bundle run
    --config_file X/configs/train.json`` -> ``X``, wherever ``X`` was copied); the working directory when it is a
    bundle (``configs/metadata.json`` in it, the model-zoo habit of running from the bundle folder); this project's
    ``bundles/<task>``. Programs that load a bundle themselves (MONAI Label, MONAI Deploy) set ``bundle_root``.

    Args:
        task: the bundle's task name (the last resort's folder name).
        argv: the command line (default ``sys.argv``).
        cwd: the working directory (default the process's).

    Raises:
        ValueError: no bundle found.
    """
    args = list(sys.argv if argv is None else argv)
    for config in _config_files(args):
        folder = Path(config).expanduser().resolve().parent
        if folder.name == "configs" and (folder / "metadata.json").is_file():
            return str(folder.parent)
    here = Path(os.getcwd() if cwd is None else cwd).resolve()
    if (here / "configs" / "metadata.json").is_file():
        return str(here)
    from common import PROJECT_ROOT

    project = Path(PROJECT_ROOT) / "bundles" / task
    if (project / "configs" / "metadata.json").is_file():
        return str(project)
    raise ValueError(
        f"cannot find the {task!r} bundle: run with --config_file BUNDLE/configs/..., from the bundle folder, "
        "or pass --bundle_root BUNDLE"
    )


def _config_files(argv: list[str]) -> list[str]:
    """The paths given to ``--config_file`` (``--config_file X``, ``--config_file=X``, or a list ``"['X', 'Y']"``)."""
    values = []
    for i, arg in enumerate(argv):
        if arg == "--config_file" and i + 1 < len(argv):
            values.append(argv[i + 1])
        elif arg.startswith("--config_file="):
            values.append(arg.split("=", 1)[1])
    out = []
    for value in values:
        if value.lstrip().startswith("["):
            try:
                out += [str(v) for v in ast.literal_eval(value)]
            except (ValueError, SyntaxError):
                continue
        else:
            out += [v for v in value.split(",") if v]
    return out
