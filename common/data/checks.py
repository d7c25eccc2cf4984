"""Up-front checks of a domain's files, so that bad input stops a run before its first iteration."""

from __future__ import annotations

from collections.abc import Sequence

from common.errors import InputDataError
from common.io.header import DEFAULT_MAX_BYTES, ImageHeader, read_header

__all__ = ["check_domain"]


def check_domain(
    files: Sequence[str],
    name: str,
    *,
    channels: int | None = None,
    spatial_dims: int = 2,
    axes: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_gray_to_rgb: bool = False,
) -> list[ImageHeader]:
    """Read every file's header and check the domain is usable.

    Args:
        files: the domain's files.
        name: the domain's name in messages (``"trainA"``).
        channels: the channel count the task needs (``None``: any, but the same for all files).
        spatial_dims: 2 or 3, the dimensionality of training patches; files need at least that many.
        axes: TIFF axes override.
        max_bytes: refuse files declaring more pixel data than this.
        allow_gray_to_rgb: accept single-channel files where 3 channels are needed (they are repeated).

    Returns:
        the headers, in ``files`` order.

    Raises:
        InputDataError: no file, an unreadable/truncated/oversized file, too few dimensions, a wrong or mixed
            channel count, naming the first offending file.
    """
    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
    if not files:
        raise InputDataError(None, f"{name}: no image files")
    headers = [read_header(f, axes=axes, max_bytes=max_bytes) for f in files]
    for h in headers:
        if len(h.spatial_shape) < spatial_dims:
            raise InputDataError(
                h.path,
                f"{name}: image has {len(h.spatial_shape)} spatial dimensions {h.spatial_shape}, "
                f"{spatial_dims}D patches need at least {spatial_dims}",
            )
        if len(h.spatial_shape) > 4:
            raise InputDataError(h.path, f"{name}: too many dimensions {h.spatial_shape}")
        repeatable = allow_gray_to_rgb and h.channels == 1 and channels == 3
        if channels is not None and h.channels != channels and not repeatable:
            raise InputDataError(h.path, f"{name}: image has {h.channels} channel(s), the task needs {channels}")
    counts = sorted({h.channels for h in headers})
    if len(counts) > 1 and not (allow_gray_to_rgb and counts == [1, 3]):
        first = next(h for h in headers if h.channels != headers[0].channels)
        raise InputDataError(
            first.path,
            f"{name}: mixed channel counts in one domain ({headers[0].channels} in {headers[0].path}, "
            f"{first.channels} here)",
        )
    return headers
