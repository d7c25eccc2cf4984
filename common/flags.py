"""Boolean switches given on the command line.

``python -m monai.bundle run ... --amp false`` hands the config the string ``"false"`` (Python Fire parses only
``True``/``False`` as booleans), which is truthy: every boolean id of the bundles goes through :func:`as_bool`
where it is used, so MONAI's ``str2bool`` spellings (``true``/``false``, ``yes``/``no``, ``1``/``0``, any case) and
``on``/``off`` all mean what they say and anything else is refused with the option's name. The same holds inside
dicts: Fire reads ``--normalization_a '{"clip": false}'`` as ``{"clip": "false"}``, so the switches of a
normalisation (``Normalization``), of a method and its add-ons (``hyperparameters#<method>#...``, ``addons#...``:
every keyword whose default is a boolean, in ``common.methods.registry``) and of the error head
(``error_head_trainer#...``) are read the same way.

Unsetting an option is the other trap: Fire turns ``--ema_decay None`` into Python's ``None``, and MONAI's ``run``
drops every ``None`` override before the config sees it (``update_kwargs(ignore_none=True)``), so the default stays
without a word. The options that a user may switch off (``ema_decay``, ``grad_clip``, ``stop_after``,
``tracking_uri``) go through :func:`as_optional` where they are used, so ``--ema_decay null`` (or ``none``) works.
"""

from __future__ import annotations

from monai.utils import str2bool

__all__ = ["as_bool", "as_optional"]

#: spellings beyond those of MONAI's ``str2bool`` (yes/no, true/false, t/f, y/n, 1/0)
_EXTRA = {"on": True, "off": False, "none": False, "": False}


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
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _EXTRA:
            return _EXTRA[word]
        try:
            return str2bool(word)
        except ValueError:
            pass
    raise ValueError(f"--{name}: expected true or false, got {value!r}")


#: spellings of "no value" on the command line (any case); ``None`` itself never reaches a bundle from the CLI
NULL_WORDS = ("null", "none", "")


def as_optional(value: object) -> object | None:
    """``None`` for ``None`` or a spelling of "no value" (``null``, ``none``, empty; any case), else ``value``.

    ``python -m monai.bundle run ... --ema_decay None`` cannot switch an option off: MONAI drops ``None`` overrides
    (module docstring); ``--ema_decay null`` hands the config the string ``"null"``, which this maps to ``None``.
    """
    if isinstance(value, str) and value.strip().lower() in NULL_WORDS:
        return None
    return value
