"""Command-line booleans mean what they say (Fire hands ``--amp false`` over as the string ``"false"``)."""

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
