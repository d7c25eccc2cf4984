"""Atomic file output: write to a temporary file beside the target, fsync, then rename over it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "remove_stale_temporaries"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it is renamed to ``path`` in one step.

    The temporary file lives in the target's folder (so the rename is atomic on POSIX) and keeps the target's
    suffixes, so that writers choosing a format or compression by suffix (``.nii.gz``, ``.ome.tif``) behave
    as for the final name. On any error the temporary file is removed and ``path`` is left as it was.

    Args:
        path: the final file.
        overwrite: allow replacing an existing file. Off by default: nothing the user had is overwritten.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        PermissionError: the folder cannot be written.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target}: already exists; refusing to overwrite it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PermissionError(f"{target.parent}: output folder cannot be created ({e.strerror})") from None
    if not os.access(target.parent, os.W_OK):
        raise PermissionError(f"{target.parent}: output folder is not writable")
    suffix = "".join(target.suffixes) or ""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if target.exists() and not overwrite:  # appeared while we were writing
            raise FileExistsError(f"{target}: already exists; refusing to overwrite it")
        os.replace(tmp, target)
        with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale_temporaries(folder: str | os.PathLike, name_glob: str = "*") -> list[Path]:
    """Delete temporary files :func:`atomic_path` left in ``folder`` for targets matching ``name_glob`` when a
    process was killed mid-write (``.<target>.<random>.tmp<suffixes>``); other files are never touched."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for path in folder.glob(f".{name_glob}.*.tmp*"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
