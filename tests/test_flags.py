"""Command-line booleans mean what they say (Fire hands ``--amp false`` over as the string ``"false"``), and
``null`` / ``none`` unset an option (``None`` cannot: MONAI's run drops it)."""

import pytest

from common import as_bool


@pytest.mark.parametrize("value", [True, 1, "true", "True", "YES", "on", "1"])
def test_true_spellings(value):
    assert as_bool(value) is True


@pytest.mark.parametrize("value", [False, 0, None, "false", "False", "no", "off", "0", ""])
def test_false_spellings(value):
    assert as_bool(value) is False


def test_anything_else_is_refused_with_the_option_name():
    with pytest.raises(ValueError, match="--amp: expected true or false, got 'maybe'"):
        as_bool("maybe", "amp")
    with pytest.raises(ValueError):
        as_bool(2, "amp")


@pytest.mark.parametrize("value", [None, "null", "None", "NONE", " none ", ""])
def test_no_value_spellings_are_none(value):
    from common import as_optional

    assert as_optional(value) is None


@pytest.mark.parametrize("value", [0, 0.99, "0.99", "sqlite:///runs.db", False])
def test_other_values_pass_through(value):
    from common import as_optional

    assert as_optional(value) is value


def test_monai_run_drops_a_none_override_so_null_is_the_spelling_that_unsets():
    """Why ``as_optional`` exists: Fire parses ``--ema_decay None`` to ``None`` and ``monai.bundle run`` merges its
    overrides with ``update_kwargs(ignore_none=True)``, which keeps the default without a word."""
    from monai.bundle.scripts import update_kwargs as run_merge

    assert run_merge({"ema_decay": 0.99}, ema_decay=None)["ema_decay"] == 0.99
    assert run_merge({"ema_decay": 0.99}, ema_decay="null")["ema_decay"] == "null"
