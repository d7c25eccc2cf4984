"""Errors raised for bad user input.

Every problem with a user's file is reported as an :class:`InputDataError` whose message names the file and
the problem in one line, so that a command line run ends with that line instead of a deep traceback.
"""

from __future__ import annotations

import os

__all__ = ["InputDataError", "find_input_error", "install_cli_error_hook"]


class InputDataError(ValueError):
    """A user-supplied file or folder cannot be used.

    Args:
        path: the offending file or folder.
        problem: what is wrong with it, in a few words.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(problem if self.path is None else f"{self.path}: {problem}")


def find_input_error(error: BaseException | None) -> InputDataError | None:
    """The :class:`InputDataError` in an exception's chain of causes (MONAI wraps errors raised in config
    expressions), or ``None``."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, InputDataError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def install_cli_error_hook() -> None:
    """Make a command-line run that dies of bad input print one line naming the file and the problem (exit 1)
    instead of a deep traceback; other errors keep their traceback. Installed by the bundles' configs."""
    import sys

    previous = sys.excepthook

    def hook(kind, value, traceback):
        found = find_input_error(value)
        if found is None:
            previous(kind, value, traceback)
            return
        print(f"error: {found}", file=sys.stderr)
        sys.exit(1)

    if getattr(sys.excepthook, "__name__", "") != "hook":
        sys.excepthook = hook
