import pytest

from common.io.axes import canonical_axes, infer_axes, validate_axes


@pytest.mark.parametrize(
    "shape, given, expected",
    [
        ((64, 48), None, "YX"),
        ((3, 64, 48), None, "CYX"),  # short leading axis: channels
        ((20, 64, 48), None, "ZYX"),  # long leading axis: a stack (movies need axes="TYX")
        ((64, 48, 3), None, "YXC"),  # trailing RGB without photometric tag
        ((5, 2, 64, 48), None, "ZCYX"),  # ImageJ order
        ((2, 5, 64, 48), None, "CZYX"),
        ((15, 5, 64, 48), None, "TZYX"),
        ((20, 64, 48), "IYX", "ZYX"),  # tifffile's generic page axis
        ((64, 48, 3), "YXS", "YXC"),  # RGB samples
        ((20, 64, 48), "TYX", "TYX"),  # metadata wins
        ((7, 64, 48), "QYX", "ZYX"),
    ],
)
def test_infer_axes_heuristic(shape, given, expected):
    assert infer_axes(shape, given) == expected


def test_infer_axes_rejects_uninterpretable_shapes():
    with pytest.raises(ValueError, match="dimensions"):
        infer_axes((10,))
    with pytest.raises(ValueError, match="dimensions"):
        infer_axes((2, 2, 2, 2, 2, 2))
    with pytest.raises(ValueError, match="two channel axes"):
        infer_axes((3, 8, 8, 3), "CYXS")


def test_validate_axes():
    assert validate_axes("tyx", 3) == "TYX"
    assert validate_axes("YXS") == "YXC"
    for bad, match in (("ZY", "'X'"), ("TYXQ", "unknown"), ("YYX", "repeats"), ("", "non-empty")):
        with pytest.raises(ValueError, match=match):
            validate_axes(bad)
    with pytest.raises(ValueError, match="2 dimensions"):
        validate_axes("ZYX", 2)


def test_canonical_axes_order():
    assert canonical_axes("ZCYX") == "CZYX"
    assert canonical_axes("YXC") == "CYX"
    assert canonical_axes("TZYX") == "TZYX"
