"""Boolean switches given on the command line.

``python -m monai.bundle run ... --amp false`` hands the config the string ``"false"`` (Python Fire parses only
``True``/``False`` as booleans), which is truthy: every boolean id of the bundles goes through :func:`as_bool`
where it is used, so ``true``/``false`` (any case), ``yes``/``no``, ``on``/``off`` and ``1``/``0`` all mean what
they say and anything else is refused with the option's name.
"""

from __future__ import annotations

__all__ = ["as_bool"]

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", "none", ""}


def as_bool(value: object, name: str = "flag") -> bool:
    """``value`` as a boolean.

    Raises:
        ValueError: a value that is no boolean spelling, naming the option ``name``.
    """
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"--{name}: expected true or false, got {value!r}")
