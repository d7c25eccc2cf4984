"""A corpus of malformed inputs: training and inference fail fast with one line naming the file and the problem,
write no partial output and leave every input untouched."""

import gzip
import hashlib
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
import torch

from common.data import make_unpaired_dataset
from common.errors import InputDataError
from common.inference import translate_files
from common.io import write_nifti, write_png, write_tiff

RNG = np.random.default_rng(0)


def _good_tif(path):
    write_tiff(path, RNG.integers(0, 4000, (40, 40), dtype=np.uint16), "YX", compression=None)


def _tif_bytes():
    import io

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, RNG.integers(0, 255, (4, 40, 40), dtype=np.uint8), imagej=True, metadata={"axes": "ZYX"})
    return buffer.getvalue()


def _nii_bytes():
    image = nib.Nifti1Image(RNG.random((20, 20, 6)).astype(np.float32), np.eye(4))
    return image.to_bytes()


def _float_tif(value):
    def make(path):
        data = RNG.random((40, 40)).astype(np.float32)
        data[5, 5] = value
        write_tiff(path, data, "YX")

    return make


def _write_bytes(data):
    return lambda path: path.write_bytes(data)


# (name, file name, maker, expected words in the message); each breaks one image of domain A
def _forged_tif_bytes() -> bytes:
    """A 64 x 64 uint8 TIFF whose header was edited to declare 60000 x 60000 pixels (3.4 GiB) it does not hold."""
    import io
    import struct

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((64, 64), np.uint8), metadata=None)
    data = bytearray(buffer.getvalue())
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tif:
        tags = tif.pages[0].tags
        for name in ("ImageWidth", "ImageLength", "RowsPerStrip"):
            struct.pack_into("<I", data, tags[name].valueoffset, 60000)
    return bytes(data)


def _mixed_pages(path: Path) -> None:
    """A multi-page TIFF whose last page has another size (reading the first series alone would drop it)."""
    with tifffile.TiffWriter(path) as tif:
        for shape in ((40, 40), (40, 40), (20, 20)):
            tif.write(np.zeros(shape, np.uint16) + 5, contiguous=False, metadata=None)


CASES = [
    ("zero-byte tif", "bad.tif", _write_bytes(b""), "empty file"),
    ("half tif", "bad.tif", lambda p: p.write_bytes(_tif_bytes()[: len(_tif_bytes()) // 2]), "truncated"),
    ("tif header only", "bad.tif", lambda p: p.write_bytes(_tif_bytes()[:16]), "TIFF"),
    ("garbage tif", "bad.tif", _write_bytes(b"\x00garbage" * 40), "TIFF"),
    ("tif with NaN", "bad.tif", _float_tif(np.nan), "NaN/Inf"),
    ("tif with +Inf", "bad.tif", _float_tif(np.inf), "NaN/Inf"),
    ("tif with -Inf", "bad.tif", _float_tif(-np.inf), "NaN/Inf"),
    (
        "tif cut inside its last page",
        "bad.tif",
        lambda p: p.write_bytes(_tif_bytes()[: 336 + 4 * 1600 - 10]),  # data start at 336, 4 pages of 1600 bytes
        "TIFF",
    ),
    (
        "complex tif",
        "bad.tif",
        lambda p: tifffile.imwrite(p, (np.ones((40, 40)) + 1j * np.ones((40, 40))).astype(np.complex64)),
        "complex-valued",
    ),
    ("3-channel tif", "bad.tif", lambda p: write_tiff(p, np.zeros((3, 40, 40), np.uint8) + 9, "CYX"), "channel"),
    ("2-channel tif", "bad.tif", lambda p: write_tiff(p, np.zeros((2, 40, 40), np.uint16) + 9, "CYX"), "channel"),
    ("zero-byte nii.gz", "bad.nii.gz", _write_bytes(b""), "empty file"),
    ("nii shorter than header", "bad.nii", lambda p: p.write_bytes(_nii_bytes()[:-900]), "truncated"),
    ("nii header only", "bad.nii", lambda p: p.write_bytes(_nii_bytes()[:348]), "NIfTI"),
    ("cut gzip stream", "bad.nii.gz", lambda p: p.write_bytes(gzip.compress(_nii_bytes())[:300]), "bad.nii.gz"),
    ("gzip of half a nii", "bad.nii.gz", lambda p: p.write_bytes(gzip.compress(_nii_bytes()[:2000])), "NIfTI"),
    ("junk nii", "bad.nii", _write_bytes(b"\x01" * 400), "NIfTI"),
    ("not gzip but .gz", "bad.nii.gz", lambda p: p.write_bytes(_nii_bytes()), "gzip"),
    (
        "nii with NaN",
        "bad.nii.gz",
        lambda p: write_nifti(p, np.full((20, 20, 6), np.nan, np.float32), np.eye(4)),
        "NaN/Inf",
    ),
    (
        "6-D nii",
        "bad.nii.gz",
        lambda p: nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 1, 1, 2), np.float32), np.eye(4)), p),
        "dimensions",
    ),
    ("zero-byte png", "bad.png", _write_bytes(b""), "empty file"),
    (
        "half png",
        "bad.png",
        lambda p: (write_png(p, RNG.integers(0, 255, (40, 40), dtype=np.uint8)), p.write_bytes(p.read_bytes()[:60])),
        "bad.png",
    ),
    ("garbage png", "bad.png", _write_bytes(b"\x89PNG" + b"\x00" * 50), "bad.png"),
    ("text as png", "bad.png", _write_bytes(b"hello, world"), "bad.png"),
    (
        "rgb png in grey domain",
        "bad.png",
        lambda p: write_png(p, RNG.integers(0, 255, (3, 40, 40), dtype=np.uint8)),
        "channel",
    ),
    ("forged header: 60000 x 60000 declared", "bad.tif", lambda p: p.write_bytes(_forged_tif_bytes()), "declares"),
    ("pages of different sizes", "bad.tif", lambda p: _mixed_pages(p), "separate images"),
    ("text file", "notes.txt", _write_bytes(b"lab notes"), "not an image"),
    ("unknown suffix", "scan.czi", _write_bytes(b"CZI" * 20), "not an image"),
    ("dangling symlink", "link.tif", lambda p: os.symlink(p.parent / "nowhere.tif", p), "not found"),
    ("huge declared size", "bad.tif", lambda p: tifffile.imwrite(p, np.zeros((32, 64, 64), np.uint8)), "GiB"),
]


def _hashes(root: Path) -> dict:
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _dataset(root: Path, name: str, filename: str, make) -> Path:
    for domain in ("trainA", "trainB"):
        (root / domain).mkdir(parents=True)
        for i in range(2):
            _good_tif(root / domain / f"ok{i}.tif")
    make(root / "trainA" / filename)
    return root


@pytest.mark.parametrize("name, filename, make, words", CASES, ids=[c[0] for c in CASES])
def test_training_refuses_with_one_line_naming_the_file(tmp_path, name, filename, make, words):
    root = _dataset(tmp_path / "data", name, filename, make)
    before = _hashes(root)
    with pytest.raises(InputDataError) as error:
        if name == "huge declared size":  # a limit below this small file stands for a huge declared size
            _header_check(root)
        else:
            make_unpaired_dataset(root, patch_size=(32, 32), channels_a=1)
    message = str(error.value)
    assert "\n" not in message and words.lower() in message.lower()
    assert filename in message or "trainA" in message
    assert _hashes(root) == before


def _header_check(root):
    from common.data import check_domain, list_images

    return check_domain(list_images(root / "trainA"), "trainA", channels=1, max_bytes=64 * 1024)


@pytest.mark.parametrize("name, filename, make, words", CASES, ids=[c[0] for c in CASES])
def test_inference_refuses_and_writes_nothing(tmp_path, name, filename, make, words):
    if name == "huge declared size":
        pytest.skip("inference reads headers with the default limit; covered by the training check")
    inputs = tmp_path / "in"
    inputs.mkdir()
    _good_tif(inputs / "a_first.tif")  # would be written before the bad file if inputs were not checked first
    make(inputs / filename)
    before = _hashes(inputs)
    out = tmp_path / "out"
    net = torch.nn.Conv2d(1, 1, 3, padding=1)
    with pytest.raises(InputDataError) as error:
        translate_files(net, inputs, out, spec={"normalization_a": {"mode": "none"}, "channels_a": 1})
    assert "\n" not in str(error.value) and words.lower() in str(error.value).lower()
    assert not out.exists() or not any(out.iterdir())  # no partial output
    assert _hashes(inputs) == before


def test_missing_and_empty_domain_folders(tmp_path):
    (tmp_path / "trainA").mkdir()
    _good_tif(tmp_path / "trainA" / "a.tif")
    with pytest.raises(InputDataError, match="trainB: folder not found"):
        make_unpaired_dataset(tmp_path)
    (tmp_path / "trainB").mkdir()
    with pytest.raises(InputDataError, match="trainB: folder holds no image files"):
        make_unpaired_dataset(tmp_path)


def test_mixed_channel_counts_and_constant_images(tmp_path):
    for domain in ("trainA", "trainB"):
        (tmp_path / domain).mkdir()
        write_tiff(tmp_path / domain / "flat.tif", np.full((40, 40), 7, np.uint16), "YX")  # valid: no division by 0
    item = make_unpaired_dataset(tmp_path, patch_size=(32, 32))[0]
    assert torch.isfinite(item["A"]).all()
    write_tiff(tmp_path / "trainA" / "two.tif", np.zeros((2, 40, 40), np.uint16), "CYX")
    with pytest.raises(InputDataError, match="mixed channel counts"):
        make_unpaired_dataset(tmp_path, patch_size=(32, 32))


def test_bundle_command_line_ends_with_one_line_naming_the_file(tmp_path):
    import subprocess
    import sys

    root = _dataset(tmp_path / "data", "empty", "broken.tif", _write_bytes(b""))
    config = Path(__file__).resolve().parents[2] / "bundles" / "calcium" / "configs" / "train.json"
    cmd = [
        sys.executable,
        "-m",
        "monai.bundle",
        "run",
        "training",
        "--config_file",
        str(config),
        "--dataset_dir",
        str(root),
        "--output_dir",
        str(tmp_path / "out"),
        "--max_iterations",
        "2",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"error: {root / 'trainA' / 'broken.tif'}: empty file (0 bytes)"
    assert "Traceback" not in done.stderr
