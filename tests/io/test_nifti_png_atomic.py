"""NIfTI keeps the affine, PNG keeps orientation and colour, writes are atomic and never overwrite."""

import gzip
import os

import nibabel as nib
import numpy as np
import pytest

from common.errors import InputDataError
from common.io import atomic_path, load_image, read_header, write_image, write_nifti, write_png


@pytest.fixture
def oblique_affine():
    angle = np.deg2rad(7)
    affine = np.eye(4)
    affine[:3, :3] = np.array(
        [[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]]
    ) @ np.diag([0.9, 1.1, 2.5])
    affine[:3, 3] = [-40.0, 12.5, 7.0]
    return affine


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.uint8])
def test_nifti_roundtrip_keeps_affine_and_values(tmp_path, rng, oblique_affine, suffix, dtype):
    volume = (rng.random((12, 10, 7)) * 200).astype(dtype)
    path = tmp_path / f"vol{suffix}"
    write_nifti(path, volume, oblique_affine)
    image = load_image(path, dtype=None)
    assert tuple(image.shape) == (1, 12, 10, 7)
    np.testing.assert_allclose(image.affine.numpy(), oblique_affine, atol=1e-5)
    np.testing.assert_array_equal(image[0].numpy(), volume)
    stored = nib.load(path)
    assert int(stored.header["sform_code"]) == 1 and int(stored.header["qform_code"]) == 1


def test_write_image_of_loaded_volume_keeps_affine_and_multichannel(tmp_path, rng, oblique_affine):
    write_nifti(tmp_path / "in.nii.gz", rng.random((8, 9, 5)).astype(np.float32), oblique_affine)
    image = load_image(tmp_path / "in.nii.gz")
    two = np.concatenate([image.numpy(), 2 * image.numpy()])
    write_image(tmp_path / "out.nii.gz", two, meta=image.meta)
    back = load_image(tmp_path / "out.nii.gz")
    assert tuple(back.shape) == (2, 8, 9, 5)
    np.testing.assert_allclose(back.affine.numpy(), oblique_affine, atol=1e-5)
    np.testing.assert_allclose(back[1].numpy(), 2 * image[0].numpy(), rtol=1e-6)


def test_truncated_and_damaged_nifti_are_refused(tmp_path, rng, oblique_affine):
    write_nifti(tmp_path / "ok.nii", rng.random((16, 16, 8)).astype(np.float32), oblique_affine)
    raw = (tmp_path / "ok.nii").read_bytes()
    (tmp_path / "short.nii").write_bytes(raw[: len(raw) - 1000])  # header claims more data than the file holds
    with pytest.raises(InputDataError, match="short.nii: truncated NIfTI"):
        read_header(tmp_path / "short.nii")
    with pytest.raises(InputDataError, match="short.nii"):
        load_image(tmp_path / "short.nii")
    (tmp_path / "half.nii.gz").write_bytes(gzip.compress(raw[: len(raw) // 2]))  # intact stream, too little data
    with pytest.raises(InputDataError, match="half.nii.gz: damaged or truncated NIfTI"):
        read_header(tmp_path / "half.nii.gz")
    (tmp_path / "cut.nii.gz").write_bytes(gzip.compress(raw)[:400])  # the stream itself is cut
    with pytest.raises(InputDataError, match="cut.nii.gz"):
        load_image(tmp_path / "cut.nii.gz")
    (tmp_path / "junk.nii").write_bytes(b"\x00" * 100)
    with pytest.raises(InputDataError, match="junk.nii"):
        read_header(tmp_path / "junk.nii")


def test_png_rgb_and_16bit_keep_orientation(tmp_path, rng):
    rgb = rng.integers(0, 256, (3, 20, 31), dtype=np.uint8)  # non-square: a swap of rows/columns would show
    write_png(tmp_path / "rgb.png", rgb)
    image = load_image(tmp_path / "rgb.png", dtype=None)
    assert tuple(image.shape) == (3, 20, 31) and image.meta["spatial_axes"] == "YX"
    np.testing.assert_array_equal(image.numpy(), rgb)
    gray = rng.integers(0, 65535, (20, 31), dtype=np.uint16)
    write_png(tmp_path / "gray.png", gray)
    np.testing.assert_array_equal(load_image(tmp_path / "gray.png", dtype=None)[0].numpy(), gray)
    assert read_header(tmp_path / "rgb.png").channels == 3
    with pytest.raises(ValueError, match="uint8 or uint16"):
        write_png(tmp_path / "f.png", rng.random((8, 8)))


def test_atomic_writes_never_overwrite_and_leave_nothing_on_failure(tmp_path):
    target = tmp_path / "keep.tif"
    target.write_bytes(b"user data")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        write_image(target, np.zeros((1, 4, 4), np.uint8))
    assert target.read_bytes() == b"user data"
    failing = tmp_path / "new.nii.gz"
    with pytest.raises(RuntimeError), atomic_path(failing) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer crashed")
    assert not failing.exists() and os.listdir(tmp_path) == ["keep.tif"]
    with atomic_path(target, overwrite=True) as tmp:
        assert tmp.name.endswith(".tif") and tmp.parent == tmp_path
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"


def test_unwritable_output_folder_is_reported(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(PermissionError, match="not writable"):
            write_png(locked / "x.png", np.zeros((4, 4), np.uint8))
    finally:
        locked.chmod(0o700)


def test_unsupported_and_missing_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputDataError, match="notes.txt: unsupported file type"):
        load_image(tmp_path / "notes.txt")
    with pytest.raises(InputDataError, match="missing.nii.gz: file not found"):
        load_image(tmp_path / "missing.nii.gz")
    with pytest.raises(ValueError, match="unsupported output type"):
        write_image(tmp_path / "x.jpg2", np.zeros((1, 4, 4)))


def test_stale_temporaries_of_killed_writes_are_removed_and_nothing_else(tmp_path):
    from common.io.atomic import remove_stale_temporaries

    stale = tmp_path / ".checkpoint_iteration=12.pt.ab12cd.tmp.pt"
    stale.write_bytes(b"")
    keep = [tmp_path / "checkpoint_iteration=10.pt", tmp_path / ".hidden_user_file", tmp_path / "notes.tmp.txt"]
    for path in keep:
        path.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path, "checkpoint_*.pt") == [stale]
    assert all(path.exists() for path in keep)


def test_output_folder_that_cannot_be_created_is_reported(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(PermissionError, match="a_file/out: output folder cannot be created"):
        write_png(tmp_path / "a_file" / "out" / "x.png", np.zeros((4, 4), np.uint8))
