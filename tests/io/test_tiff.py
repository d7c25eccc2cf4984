"""TIFF round trips (layouts x dtypes keep values, axes and pixel size) and the MONAI reader pitfalls."""

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from monai.data import ITKReader, PILReader
from monai.transforms import LoadImage

from common.errors import InputDataError
from common.io import TiffReader, image_loader, image_loaderd, load_image, read_header, write_image, write_tiff

LAYOUTS = {
    "YX": (24, 20),
    "ZYX": (5, 24, 20),
    "TYX": (7, 24, 20),
    "CYX": (2, 24, 20),
    "ZCYX": (4, 3, 24, 20),
    "TZYX": (6, 4, 24, 20),
    "TCYX": (5, 2, 24, 20),
}
DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.int32, np.float64]


def _random(shape, dtype, rng):
    if np.dtype(dtype).kind == "f":
        return rng.normal(100, 30, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -30000), min(info.max, 60000), shape, endpoint=True).astype(dtype)


def _read(path, axes=None):
    reader = TiffReader(axes=axes)
    return reader.get_data(reader.read(str(path)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axes", list(LAYOUTS))
def test_roundtrip_keeps_values_axes_and_pixel_size(tmp_path, rng, axes, dtype):
    data = _random(LAYOUTS[axes], dtype, rng)
    spacing = {"X": 0.325, "Y": 0.4, "Z": 1.5, "T": 2.5}
    path = tmp_path / "img.tif"
    write_tiff(path, data, axes, spacing=spacing)
    array, meta = _read(path)
    order = "".join(a for a in "CTZYX" if a in axes)
    expected = np.transpose(data, [axes.index(a) for a in order])
    assert meta["axes"] == order
    assert array.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(array, expected)
    spatial = order.replace("C", "")
    np.testing.assert_allclose(meta["spacing"], [spacing[a] for a in spatial], rtol=1e-6)
    np.testing.assert_allclose(np.diag(meta["affine"])[:-1], [spacing[a] for a in spatial], rtol=1e-6)
    assert meta["spacing_known"]
    if "T" in axes:
        assert meta["time_interval"] == pytest.approx(2.5)
    assert meta["original_channel_dim"] == (0 if "C" in axes else "no_channel")


def test_imagej_format_for_imagej_dtypes_and_ome_for_others(tmp_path):
    write_tiff(tmp_path / "a.tif", np.zeros((3, 8, 8), np.uint16), "ZYX", spacing={"X": 0.5, "Y": 0.5, "Z": 2})
    write_tiff(tmp_path / "b.tif", np.zeros((3, 8, 8), np.float64), "ZYX", spacing={"X": 0.5, "Y": 0.5, "Z": 2})
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        assert tif.is_imagej and tif.imagej_metadata["spacing"] == 2 and tif.imagej_metadata["unit"] == "um"
    with tifffile.TiffFile(tmp_path / "b.tif") as tif:
        assert tif.is_ome


def test_rgb_tile_is_written_as_colour_and_read_channel_first(tmp_path, rng):
    rgb = rng.integers(0, 256, (3, 16, 12), dtype=np.uint8)
    write_tiff(tmp_path / "rgb.tif", rgb, "CYX")
    with tifffile.TiffFile(tmp_path / "rgb.tif") as tif:
        assert tif.pages.first.photometric == tifffile.PHOTOMETRIC.RGB
    array, meta = _read(tmp_path / "rgb.tif")
    np.testing.assert_array_equal(array, rgb)
    assert meta["axes"] == "CYX"


def test_plain_multipage_tiff_uses_heuristic_and_axes_override(tmp_path, rng):
    movie = rng.integers(0, 4000, (9, 16, 12), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "movie.tif", movie, metadata=None)
    _, meta = _read(tmp_path / "movie.tif")
    assert meta["axes"] == "ZYX" and not meta["spacing_known"]
    array, meta = _read(tmp_path / "movie.tif", axes="TYX")
    assert meta["axes"] == "TYX"
    np.testing.assert_array_equal(array, movie)
    channels_last = rng.integers(0, 255, (16, 12, 4), dtype=np.uint8)
    tifffile.imwrite(
        tmp_path / "yxc.tif", channels_last, photometric="minisblack", metadata=None, planarconfig="contig"
    )
    array, meta = _read(tmp_path / "yxc.tif", axes="YXC")
    np.testing.assert_array_equal(array, np.moveaxis(channels_last, -1, 0))


def test_resolution_tag_in_centimetres_gives_micrometres(tmp_path):
    tifffile.imwrite(
        tmp_path / "cm.tif", np.zeros((8, 8), np.uint8), resolution=(20000, 20000), resolutionunit="CENTIMETER"
    )
    _, meta = _read(tmp_path / "cm.tif")
    np.testing.assert_allclose(meta["spacing"], [0.5, 0.5])
    assert meta["spacing_known"]


def test_ome_metadata_gives_pixel_size_and_axes(tmp_path, rng):
    data = rng.random((4, 2, 10, 12), dtype=np.float32)
    tifffile.imwrite(
        tmp_path / "x.ome.tif",
        data,
        ome=True,
        metadata={"axes": "ZCYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.3, "PhysicalSizeZ": 1.1},
    )
    array, meta = _read(tmp_path / "x.ome.tif")
    assert meta["axes"] == "CZYX" and meta["tiff_format"] == "ome"
    np.testing.assert_allclose(meta["spacing"], [1.1, 0.3, 0.2])
    np.testing.assert_array_equal(array, np.moveaxis(data, 1, 0))


# --- the MONAI 1.6 pitfalls the reader exists for ------------------------------------------------------------


@pytest.fixture
def imagej_stack(tmp_path, rng):
    data = rng.integers(0, 4000, (6, 20, 16), dtype=np.uint16)
    path = tmp_path / "stack.tif"
    write_tiff(path, data, "ZYX", spacing={"X": 0.25, "Y": 0.25, "Z": 2.0})
    return path, data


def test_itk_reader_loses_imagej_voxel_size_but_ours_keeps_it(imagej_stack):
    path, _ = imagej_stack
    itk = LoadImage(reader=ITKReader(), image_only=True)(str(path))
    ours = LoadImage(reader=TiffReader(), image_only=True)(str(path))
    itk_steps = sorted(np.abs(np.diag(itk.affine.numpy())[:3]))
    assert not np.allclose(itk_steps, [0.25, 0.25, 2.0])  # the pitfall: ITK reports another voxel size
    np.testing.assert_allclose(ours.meta["spacing"], [2.0, 0.25, 0.25])
    np.testing.assert_allclose(np.diag(ours.affine.numpy())[:3], [2.0, 0.25, 0.25])


def test_pil_reader_reads_one_page_but_ours_reads_all(imagej_stack):
    path, data = imagej_stack
    pil = LoadImage(reader=PILReader(), image_only=True)(str(path))
    ours = load_image(path, dtype=None)
    assert pil.shape == (16, 20)  # first page only, and x/y swapped
    assert tuple(ours.shape) == (1, 6, 20, 16)
    np.testing.assert_array_equal(ours[0].numpy(), data)


def test_loadimage_uses_our_reader_and_does_not_fall_back(imagej_stack):
    path, _ = imagej_stack
    assert TiffReader().verify_suffix(str(path)) and TiffReader().verify_suffix("A.TIFF")
    assert not TiffReader().verify_suffix("a.png")
    # default LoadImage after importing common.io (reader registered) and an explicit reader both use ours
    for loader in (LoadImage(image_only=True), LoadImage(reader=TiffReader, image_only=True)):
        image = loader(str(path))
        assert image.meta["tiff_format"] == "imagej" and image.meta["axes"] == "ZYX"


# --- errors and properties -------------------------------------------------------------------------------------


def test_refused_file_is_not_read_by_a_fallback_reader(tmp_path, rng):
    """A truncated stack must fail, not come back as its first page through PILReader/ITKReader."""
    good = tmp_path / "g.tif"
    write_tiff(good, rng.integers(0, 255, (4, 64, 64), dtype=np.uint8), "ZYX", compression=None)
    raw = good.read_bytes()
    (tmp_path / "t.tif").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputDataError, match="truncated"):
        image_loader()(str(tmp_path / "t.tif"))
    with pytest.raises(InputDataError, match="truncated"):
        image_loaderd("image")({"image": str(tmp_path / "t.tif")})


def test_damaged_tiffs_raise_errors_naming_the_file(tmp_path, rng):
    good = tmp_path / "good.tif"
    write_tiff(good, rng.integers(0, 255, (4, 64, 64), dtype=np.uint8), "ZYX", compression=None)
    raw = good.read_bytes()
    (tmp_path / "empty.tif").write_bytes(b"")
    (tmp_path / "truncated.tif").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "garbage.tif").write_bytes(b"not a tiff at all" * 10)
    for name, problem in (("empty", "empty file"), ("truncated", "TIFF"), ("garbage", "not a readable TIFF")):
        with pytest.raises(InputDataError, match=problem) as err:
            load_image(tmp_path / f"{name}.tif")
        assert f"{name}.tif" in str(err.value)
    with pytest.raises(InputDataError, match="not found"):
        load_image(tmp_path / "missing.tif")


def test_nan_image_is_refused(tmp_path):
    data = np.ones((8, 8), np.float32)
    data[2, 3] = np.nan
    write_tiff(tmp_path / "nan.tif", data, "YX")
    with pytest.raises(InputDataError, match="nan.tif: image holds 1 NaN/Inf"):
        load_image(tmp_path / "nan.tif")


def test_header_reports_shape_without_pixels_and_refuses_huge_declared_sizes(imagej_stack):
    path, _ = imagej_stack
    header = read_header(path)
    assert header.spatial_shape == (6, 20, 16) and header.channels == 1 and header.axes == "CZYX"
    with pytest.raises(InputDataError, match="GiB limit"):
        read_header(path, max_bytes=1000)


def test_write_image_from_loaded_metatensor_keeps_geometry(imagej_stack, tmp_path):
    path, data = imagej_stack
    image = load_image(path, dtype=None)
    out = tmp_path / "out" / "copy.tif"
    write_image(out, image)
    again = load_image(out, dtype=None)
    np.testing.assert_array_equal(again.numpy(), image.numpy())
    np.testing.assert_allclose(again.meta["spacing"], image.meta["spacing"])
    assert again.meta["spatial_axes"] == "ZYX"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    axes=st.sampled_from(["YX", "ZYX", "TYX", "CYX", "ZCYX", "TZYX", "TZCYX"]),
    dtype=st.sampled_from([np.uint8, np.uint16, np.int16, np.float32]),
    sizes=st.lists(st.integers(1, 5), min_size=5, max_size=5),
    yx=st.tuples(st.integers(2, 9), st.integers(1, 9)),
)
def test_roundtrip_property(tmp_path_factory, axes, dtype, sizes, yx):
    shape = tuple(sizes[i] for i, a in enumerate(axes[:-2])) + yx
    rng = np.random.default_rng(0)
    data = _random(shape, dtype, rng)
    path = tmp_path_factory.mktemp("prop") / "p.tif"
    write_tiff(path, data, axes)
    array, meta = _read(path)
    order = "".join(a for a in "CTZYX" if a in axes)
    expected = np.transpose(data, [axes.index(a) for a in order])
    # axes of length 1 other than Y/X are squeezed by the ImageJ format; everything else is kept in order
    assert set(meta["axes"]) <= set(order) and {"Y", "X"} <= set(meta["axes"])
    assert [n for n in array.shape] == [expected.shape[order.index(a)] for a in meta["axes"]]
    np.testing.assert_array_equal(array.reshape(expected.shape), expected)
