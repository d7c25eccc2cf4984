"""Axis names of microscopy arrays: validation, the inference heuristic, and the canonical order.

Arrays read from TIFF are described by an axes string with one letter per dimension, a subset of
``T`` (time), ``Z`` (depth), ``C`` (channel), ``Y`` and ``X``. The reader returns arrays in the canonical order
``C T Z Y X`` (absent axes dropped) so that MONAI's channel-first convention holds and the spatial-like axes
``T Z Y X`` keep their order in the file.

When a file does not say what its axes are (a plain multi-page TIFF, or tifffile's generic ``I``/``Q``
letters), :func:`infer_axes` applies a documented heuristic:

* the last two unknown dimensions are ``Y X``; RGB samples (tifffile's ``S``) are channels;
* a 3D array with a trailing dimension of at most 4 and a larger first dimension is ``Y X C``;
* one remaining leading dimension is ``C`` if its length is at most 4 (and no channel axis is known), else ``Z``;
* two remaining leading dimensions are ``Z C`` (ImageJ's order) if the second is at most 4, ``C Z`` if only the
  first is, else ``T Z``.

A time-lapse movie without metadata is therefore read as a ``Z`` stack; pass ``axes="TYX"`` to the reader
to say otherwise (for 2D training both are sliced frame by frame, so only the metadata differ).
"""

from __future__ import annotations

__all__ = ["CANONICAL_ORDER", "KNOWN_AXES", "canonical_axes", "infer_axes", "validate_axes"]

KNOWN_AXES = "TZCYX"
CANONICAL_ORDER = "CTZYX"
MAX_CHANNELS_GUESS = 4


def validate_axes(axes: str, ndim: int | None = None) -> str:
    """Check an axes string and return it upper-cased.

    Args:
        axes: one letter per dimension from ``TZCYX`` (``S`` is accepted as a synonym of ``C``).
        ndim: the number of dimensions it must describe, if known.

    Raises:
        ValueError: unknown or repeated letters, no ``Y``/``X``, or the wrong length.
    """
    if not isinstance(axes, str) or not axes:
        raise ValueError(f"axes must be a non-empty string such as 'ZYX', got {axes!r}")
    up = axes.upper().replace("S", "C")
    bad = sorted(set(up) - set(KNOWN_AXES))
    if bad:
        raise ValueError(f"axes {axes!r} has unknown letters {bad}; use letters from {KNOWN_AXES!r}")
    if len(set(up)) != len(up):
        raise ValueError(f"axes {axes!r} repeats a letter")
    if "Y" not in up or "X" not in up:
        raise ValueError(f"axes {axes!r} must contain both 'Y' and 'X'")
    if ndim is not None and len(up) != ndim:
        raise ValueError(f"axes {axes!r} has {len(up)} letters but the image has {ndim} dimensions")
    return up


def infer_axes(shape: tuple[int, ...], axes: str | None = None) -> str:
    """Name every dimension of ``shape``, keeping the known letters of ``axes``.

    Args:
        shape: the array shape.
        axes: axes as reported by the file (tifffile letters); letters outside ``TZCYXS`` are unknown.
            ``None`` means nothing is known.

    Returns:
        an axes string over ``TZCYX`` of length ``len(shape)``.

    Raises:
        ValueError: the dimensions cannot be named (fewer than 2, more than 5, or conflicting letters).
    """
    ndim = len(shape)
    if ndim < 2 or ndim > 5:
        raise ValueError(f"cannot interpret an image with {ndim} dimensions (shape {tuple(shape)})")
    given = (axes or "?" * ndim).upper()
    if len(given) != ndim:
        raise ValueError(f"axes {axes!r} do not match the shape {tuple(shape)}")
    letters = [a if a in KNOWN_AXES else ("C" if a == "S" else "?") for a in given]
    if letters.count("C") > 1:
        raise ValueError(f"axes {axes!r} hold two channel axes; pass axes= explicitly")
    known = [a for a in letters if a != "?"]
    if len(set(known)) != len(known):
        raise ValueError(f"axes {axes!r} repeat a letter; pass axes= explicitly")
    unknown = [i for i, a in enumerate(letters) if a == "?"]
    if not unknown:
        return validate_axes("".join(letters), ndim)
    if ndim == 3 and len(unknown) == 3 and shape[-1] <= MAX_CHANNELS_GUESS < shape[0]:
        return "YXC"
    # spatial axes first: the last unknown dimensions that are not already named
    for name in ("X", "Y"):
        if name not in letters:
            if not unknown:
                raise ValueError(f"cannot find {name} in shape {tuple(shape)} with axes {axes!r}")
            letters[unknown.pop()] = name
    if len(unknown) == 1:
        i = unknown[0]
        letters[i] = "C" if "C" not in letters and shape[i] <= MAX_CHANNELS_GUESS else _first_free(letters, "ZT")
    elif len(unknown) == 2:
        i, j = unknown
        if "C" not in letters and shape[j] <= MAX_CHANNELS_GUESS:
            letters[i], letters[j] = _first_free(letters, "ZT"), "C"
        elif "C" not in letters and shape[i] <= MAX_CHANNELS_GUESS:
            letters[i], letters[j] = "C", _first_free(letters, "ZT")
        else:
            letters[i] = _first_free(letters, "TZ")
            letters[j] = _first_free(letters, "ZT")
    elif unknown:
        for i in unknown:
            letters[i] = _first_free(letters, "TZC")
    return validate_axes("".join(letters), ndim)


def _first_free(letters: list[str], candidates: str) -> str:
    for c in candidates:
        if c not in letters:
            return c
    raise ValueError(f"cannot name a dimension: {''.join(letters)} already uses {candidates}")


def canonical_axes(axes: str) -> str:
    """The canonical (``C T Z Y X``) order of the letters in ``axes``."""
    return "".join(a for a in CANONICAL_ORDER if a in axes)
