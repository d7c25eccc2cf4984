"""Resumable downloads with checksum verification, and safe archive extraction.

Never called by the tests or the demo (no internet there): the tests hand local archives and folders to the same
preparation code."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.request
import zipfile
from pathlib import Path

from common.errors import InputDataError

__all__ = ["download", "extract", "fetch", "sha256sum", "md5sum"]


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256sum(path: str | os.PathLike) -> str:
    """SHA-256 of a file."""
    return _digest(Path(path), "sha256")


def md5sum(path: str | os.PathLike) -> str:
    """MD5 of a file (Zenodo and Figshare publish MD5 checksums)."""
    return _digest(Path(path), "md5")


def _verify(path: Path, checksum: str | None) -> None:
    if not checksum:
        return
    algorithm, _, expected = checksum.partition(":")
    if not expected:
        raise ValueError(f"checksum must read 'md5:HEX' or 'sha256:HEX', got {checksum!r}")
    actual = _digest(path, algorithm)
    if actual.lower() != expected.lower():
        raise InputDataError(path, f"{algorithm} checksum {actual} differs from the published {expected}")


def download(url: str, dest: str | os.PathLike, checksum: str | None = None, chunk: int = 1 << 20) -> Path:
    """Download ``url`` to ``dest``, resuming a partial ``dest.part`` with an HTTP Range request, then verify
    ``checksum`` (``"md5:..."`` or ``"sha256:..."``) before renaming it into place. An existing ``dest`` with the
    right checksum is kept as it is."""
    dest = Path(dest)
    if dest.exists():
        _verify(dest, checksum)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request) as response:  # noqa: S310 (the user's URL)
        resumed = getattr(response, "status", 200) == 206
        with open(part, "ab" if resumed else "wb") as out:
            shutil.copyfileobj(response, out, chunk)
    _verify(part, checksum)
    os.replace(part, dest)
    return dest


def extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a ``.zip``/``.tar``/``.tar.gz``/``.tgz`` archive into ``dest``, refusing members that would land
    outside it (absolute paths, ``..``, links)."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    name = archive.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                if not (root / member).resolve().is_relative_to(root):
                    raise InputDataError(archive, f"member {member!r} would be written outside {dest}")
            z.extractall(dest)
    elif name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2")):
        with tarfile.open(archive) as t:
            members = t.getmembers()
            for m in members:
                if m.issym() or m.islnk() or not (root / m.name).resolve().is_relative_to(root):
                    raise InputDataError(archive, f"member {m.name!r} is a link or lies outside {dest}")
            t.extractall(dest, members=members, filter="data")
    else:
        raise InputDataError(archive, "not a .zip or .tar(.gz) archive")
    return dest


def fetch(source: str | os.PathLike, work: str | os.PathLike, checksum: str | None = None) -> Path:
    """A local folder as it is; a local archive or a URL (downloaded into ``work``) extracted into ``work``."""
    text = os.fspath(source)
    if text.startswith(("http://", "https://")):
        local = download(text, Path(work) / "downloads" / text.rstrip("/").split("/")[-1].split("?")[0], checksum)
    else:
        local = Path(text)
        if not local.exists():
            raise InputDataError(local, "source not found")
        if local.is_dir():
            return local
        _verify(local, checksum)
    if local.name.lower().endswith((".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2")):
        return extract(local, Path(work) / "extracted" / local.name.split(".")[0])
    return local
