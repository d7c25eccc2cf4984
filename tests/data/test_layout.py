import numpy as np
import pytest

from common.data import image_stem, list_images, paired_test_items, resolve_files
from common.errors import InputDataError
from common.io import write_png, write_tiff


def _img(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_tiff(path, np.zeros((8, 8), np.uint8), "YX")
    return path


def test_image_stem_strips_compound_suffixes():
    assert image_stem("/x/cell_01.ome.tif") == "cell_01"
    assert image_stem("vol.nii.gz") == "vol"
    assert image_stem("tile.PNG") == "tile"


def test_list_images_sorted_skips_hidden_and_refuses_foreign_files(tmp_path):
    for name in ("b.tif", "a.tif"):
        _img(tmp_path / "d" / name)
    (tmp_path / "d" / ".DS_Store").write_bytes(b"x")
    assert [p.split("/")[-1] for p in list_images(tmp_path / "d")] == ["a.tif", "b.tif"]
    (tmp_path / "d" / "notes.txt").write_text("x")
    with pytest.raises(InputDataError, match="notes.txt: not an image file"):
        list_images(tmp_path / "d")


def test_list_images_missing_or_empty_folder(tmp_path):
    with pytest.raises(InputDataError, match="trainA: folder not found"):
        list_images(tmp_path / "trainA")
    (tmp_path / "trainB").mkdir()
    with pytest.raises(InputDataError, match="trainB: folder holds no image files"):
        list_images(tmp_path / "trainB")
    assert list_images(tmp_path / "nothing", required=False) == []


def test_resolve_files_from_folder_glob_and_list(tmp_path):
    files = [str(_img(tmp_path / "x" / f"{i}.tif")) for i in range(3)]
    assert resolve_files(tmp_path / "x") == files
    assert resolve_files(str(tmp_path / "x" / "*.tif")) == files
    assert resolve_files(files[:1]) == files[:1]
    with pytest.raises(InputDataError, match="matches no file"):
        resolve_files(str(tmp_path / "x" / "*.nii.gz"))
    with pytest.raises(InputDataError, match="file not found"):
        resolve_files([str(tmp_path / "x" / "gone.tif")])


def test_paired_test_items_match_by_name(tmp_path):
    for name in ("f1", "f2"):
        _img(tmp_path / "testA" / f"{name}.tif")
    _img(tmp_path / "testB" / "f1.tif")
    write_png(tmp_path / "testB" / "other.png", np.zeros((8, 8), np.uint8))
    _img(tmp_path / "testA_labels" / "f2.tif")
    items = paired_test_items(tmp_path)
    assert [image_stem(i.A) for i in items] == ["f1", "f2"]
    assert image_stem(items[0].B) == "f1" and items[0].A_labels is None
    assert items[1].B is None and image_stem(items[1].A_labels) == "f2"
