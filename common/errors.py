"""Errors raised for bad user input.

Every problem with a user's file is reported as an :class:`InputDataError` whose message names the file and
the problem in one line, so that a command line run ends with that line instead of a deep traceback.
"""

from __future__ import annotations

import os

__all__ = ["InputDataError"]


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
