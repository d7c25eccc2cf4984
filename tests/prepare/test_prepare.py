"""Every preparation command on miniature archives and folders built here with the real sets' names and layouts:
the splits keep domains apart (no subject, tile, field or pixel in both training domains), tests stay paired,
and bad sources give one clear error without touching anything the user has."""

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
from PIL import Image

from common.data.layout import image_stem, list_images
from common.errors import InputDataError
from common.io import load_image
from common.prepare import (
    download,
    extract,
    prepare_cellprofiler_unmixing,
    prepare_deepliif,
    prepare_folders,
    prepare_in_silico_labeling,
    prepare_ixi,
    prepare_penicillium,
    prepare_planaria,
    prepare_spm_templates,
    prepare_stable_release,
    prepare_templates_to_subject,
    prepare_w2s,
)

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(0)


def _stems(folder: Path) -> set[str]:
    return {image_stem(p) for p in list_images(folder, required=False)}


def _nifti(path: Path, shape=(12, 14, 10)) -> None:
    nib.save(nib.Nifti1Image(RNG.random(shape).astype(np.float32), np.diag([1.2, 1.2, 1.2, 1.0])), path)


def _tar(folder: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w") as t:
        for f in sorted(folder.rglob("*")):
            t.add(f, arcname=str(f.relative_to(folder)))
    return archive


def test_ixi_splits_subjects_between_domains(tmp_path):
    (tmp_path / "archives").mkdir()
    for modality in ("T2", "PD"):
        folder = tmp_path / f"src_{modality}"
        folder.mkdir()
        for k in range(2, 12):
            if modality == "PD" and k == 11:
                continue  # a subject with T2 only is left out
            _nifti(folder / f"IXI{k:03d}-Guys-{800 + k}-{modality}.nii.gz")
        _tar(folder, tmp_path / "archives" / f"IXI-{modality}.tar")  # as distributed: one tar per contrast
    record = prepare_ixi(tmp_path / "archives", tmp_path / "out", n_train=254, n_test=64, seed=1)
    out = tmp_path / "out"
    a, b, ta, tb = (_stems(out / s) for s in ("trainA", "trainB", "testA", "testB"))
    assert not a & b and not (a | b) & ta  # no subject in both domains, none in train and test
    assert ta == tb and len(a | b | ta) == 9  # test pairs; 9 subjects have both scans
    assert record["counts"]["testA"] == 2  # 254:64 of 9 subjects
    assert json.loads((out / "prepared.json").read_text())["settings"]["seed"] == 1
    with pytest.raises(InputDataError, match="not empty"):
        prepare_ixi(tmp_path / "archives", out)


def test_spm_templates_slabs_keep_affine_and_alternate(tmp_path):
    src = tmp_path / "spm"
    src.mkdir()
    affine = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
    for c in ("T2", "PD"):
        nib.save(nib.Nifti1Image(RNG.random((10, 12, 40)).astype(np.float32), affine), src / f"avg152{c}.nii")
    prepare_spm_templates(src, tmp_path / "out", slab=4, margin=2)
    out = tmp_path / "out"
    a, b, t = (_stems(out / s) for s in ("trainA", "trainB", "testA"))
    assert a and b and t and not a & b and not (a | b) & t and _stems(out / "testB") == t
    first = sorted((out / "trainB").iterdir())[0]
    start = int(first.name[4:7])
    image = nib.load(first)
    assert image.shape == (10, 12, 4)
    assert np.allclose(image.affine[:3, 3], affine[:3, :3] @ [0, 0, start] + affine[:3, 3])
    volume = np.asarray(nib.load(src / "avg152PD.nii").dataobj)
    assert np.allclose(np.asarray(image.dataobj), volume[:, :, start : start + 4])


def test_templates_to_subject_trains_on_templates_and_tests_on_the_subject_resampled(tmp_path):
    """Templates give trainA / trainB / validation slabs; the subject's A scan is the test input and its B scan,
    resampled through both affines onto the A grid, the truth (trilinear: exact for an intensity linear in space)."""
    src, person = tmp_path / "spm", tmp_path / "subject"
    src.mkdir(), person.mkdir()
    affine = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
    for c in ("T2", "PD"):
        nib.save(nib.Nifti1Image(RNG.random((10, 12, 40)).astype(np.float32), affine), src / f"avg152{c}.nii")
    # the subject: A with thick slices along z, B with thick slices along x, both covering the same box
    affine_a = np.diag([1.0, 1.0, 6.0, 1.0])
    affine_b = np.diag([6.0, 1.0, 1.0, 1.0])
    nib.save(nib.Nifti1Image(RNG.random((30, 20, 5)).astype(np.float32), affine_a), person / "s-T2.nii.gz")
    i, j, k = np.meshgrid(np.arange(5), np.arange(20), np.arange(30), indexing="ij")
    world_b = (6.0 * i, 1.0 * j, 1.0 * k)
    volume_b = (2.0 * world_b[0] + 0.5 * world_b[1] - world_b[2] + 100).astype(np.float32)
    nib.save(nib.Nifti1Image(volume_b, affine_b), person / "s-PD.nii.gz")
    prepare_templates_to_subject(src, tmp_path / "out", subject=person, slab=4, margin=2)
    out = tmp_path / "out"
    assert _stems(out / "trainA") and _stems(out / "trainB") and _stems(out / "valA") == _stems(out / "valB")
    assert not _stems(out / "trainA") & _stems(out / "trainB")
    truth = nib.load(out / "testB" / "s-T2.nii.gz")
    assert _stems(out / "testA") == {"s-T2"} and truth.shape == (30, 20, 5)
    assert np.allclose(truth.affine, affine_a)
    x, y, z = np.meshgrid(np.arange(30), np.arange(20), 6.0 * np.arange(5), indexing="ij")
    expected = 2.0 * x + 0.5 * y - z + 100
    inside = (x <= 24) & (z <= 29)  # B covers x in [0, 24] and z in [0, 29]
    assert np.allclose(np.asarray(truth.dataobj)[inside], expected[inside], atol=1e-3)
    (person / "s-PD.nii.gz").unlink()  # a subject without its B scan: one clear line naming the folder
    with pytest.raises(InputDataError, match=r"subject: needs a \*PD"):
        prepare_templates_to_subject(src, tmp_path / "out2", subject=person, slab=4, margin=2)
    assert not (tmp_path / "out2").exists()


def test_penicillium_parts_do_not_overlap(tmp_path):
    low, high = RNG.random((4, 16, 50)).astype(np.float32), RNG.random((4, 16, 50)).astype(np.float32)
    with zipfile.ZipFile(tmp_path / "penicillium.zip", "w") as z:
        for name, vol in (("penicillium_low_snr.tif", low), ("penicillium_high_snr.tif", high)):
            buffer = io.BytesIO()
            tifffile.imwrite(buffer, vol)
            z.writestr(f"Penicillium/{name}", buffer.getvalue())
    record = prepare_penicillium(tmp_path / "penicillium.zip", tmp_path / "out", work=tmp_path / "work")
    x = record["settings"]["x_splits"]
    parts = {
        s: load_image(tmp_path / "out" / s / "penicillium.tif")[0].numpy()
        for s in record["counts"]
        if record["counts"][s]
    }
    assert parts["trainA"].shape[-1] + parts["trainB"].shape[-1] + parts["testA"].shape[-1] == 50
    assert np.allclose(parts["trainA"], low[:, :, : x[1]]) and np.allclose(parts["trainB"], high[:, :, x[1] : x[2]])
    assert np.allclose(parts["testA"], low[:, :, x[2] :]) and np.allclose(parts["testB"], high[:, :, x[2] :])


def test_planaria_patches_halved_and_test_paired(tmp_path):
    base = tmp_path / "src" / "Denoising_Planaria"
    (base / "train_data").mkdir(parents=True)
    x, y = RNG.random((6, 1, 4, 8, 8)).astype(np.float32), RNG.random((6, 1, 4, 8, 8)).astype(np.float32)
    np.savez(base / "train_data" / "data_label.npz", X=x, Y=y, axes="SCZYX")
    for sub in ("condition_1", "GT"):
        (base / "test_data" / sub).mkdir(parents=True)
        tifffile.imwrite(base / "test_data" / sub / "EXP278_Smed_fixed_RedDot1_sub_5_N7_m0012.tif", x[0, 0])
    archive = tmp_path / "Denoising_Planaria.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(base, arcname="Denoising_Planaria")
    prepare_planaria(archive, tmp_path / "out", work=tmp_path / "work")
    a, b = _stems(tmp_path / "out" / "trainA"), _stems(tmp_path / "out" / "trainB")
    assert len(a) == len(b) == 3 and not a & b
    k = int(sorted(a)[0][5:])
    assert np.allclose(load_image(tmp_path / "out" / "trainA" / f"patch{k:05d}.tif")[0].numpy(), x[k, 0])
    assert _stems(tmp_path / "out" / "testA") == _stems(tmp_path / "out" / "testB")


def test_stable_release_copied_as_distributed_with_checksum(tmp_path):
    src = tmp_path / "release" / "Calcium_imaging"
    for split in ("trainA", "trainB", "testA", "testB"):
        (src / split).mkdir(parents=True)
        tifffile.imwrite(src / split / f"{split}_movie.tif", RNG.integers(0, 999, (3, 8, 8), dtype=np.uint16))
    archive = tmp_path / "calcium.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in src.rglob("*.tif"):
            z.write(f, f.relative_to(tmp_path / "release"))
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    with pytest.raises(InputDataError, match="checksum"):
        prepare_stable_release(archive, tmp_path / "bad", checksum="md5:" + "0" * 32, work=tmp_path / "w0")
    assert not (tmp_path / "bad").exists()
    record = prepare_stable_release(archive, tmp_path / "out", checksum=f"md5:{md5}", work=tmp_path / "w1")
    assert record["counts"]["trainA"] == record["counts"]["testB"] == 1


def _isl_png(path: Path, value: np.ndarray) -> None:
    Image.fromarray(value).save(path)


def test_in_silico_labeling_spatial_split(tmp_path):
    src = tmp_path / "isl" / "train"
    src.mkdir(parents=True)
    fields = {}
    for well in ("B2", "C3", "D4"):
        stem = f"lab-Rubin,condition-scott_1_0,acquisition_date,year-2016,month-2,day-6,well-{well},depth_computation"
        for z in range(3):
            img = RNG.integers(0, 255, (16, 20), dtype=np.uint8)
            _isl_png(src / f"{stem},channel,value-TRANSMITTED,z_depth-{z}.png", img)
            fields.setdefault(well, {})[z] = img
        _isl_png(
            src / f"{stem},value-MAXPROJECT,channel,value-DAPI_CONFOCAL.png",
            RNG.integers(0, 255, (16, 20), dtype=np.uint8),
        )
    prepare_in_silico_labeling(tmp_path / "isl", tmp_path / "out")
    out = tmp_path / "out"
    a = load_image(sorted((out / "trainA").iterdir())[0])[0].numpy()
    b = load_image(sorted((out / "trainB").iterdir())[0])[0].numpy()
    assert a.shape == (16, 10) and b.shape == (16, 10)  # left half A, right half B
    assert np.allclose(a, fields["B2"][1][:, :10])  # the middle focal plane
    assert _stems(out / "testA") == _stems(out / "testB") == {"field002"}


def test_deepliif_panels_split_into_domains(tmp_path):
    train, val = tmp_path / "DeepLIIF" / "DeepLIIF_Training_Set", tmp_path / "DeepLIIF" / "DeepLIIF_Validation_Set"
    train.mkdir(parents=True)
    val.mkdir(parents=True)
    panels = {}
    for folder, names in ((train, ("Lung1", "Lung2", "Bladder1", "Bladder2")), (val, ("Lung9",))):
        for name in names:
            row = RNG.integers(0, 255, (16, 96, 3), dtype=np.uint8)
            seg = np.zeros((16, 16, 3), np.uint8)
            seg[2:6, 2:6, 0] = 255  # a positive nucleus (red)
            seg[9:13, 9:13, 2] = 255  # a negative nucleus (blue)
            row[:, 80:] = seg
            Image.fromarray(row).save(folder / f"{name}.png")
            panels[name] = row
    prepare_deepliif(tmp_path / "DeepLIIF", tmp_path / "out", panel_a="ihc", panel_b="dapi")
    out = tmp_path / "out"
    a, b = _stems(out / "trainA"), _stems(out / "trainB")
    assert len(a) == len(b) == 2 and not a & b
    name = sorted(b)[0]
    dapi = load_image(out / "trainB" / f"{name}.png", dtype=None).numpy()
    assert np.array_equal(np.moveaxis(dapi, 0, -1).reshape(16, 16, 3), panels[name][:, 32:48])
    assert _stems(out / "testA") == _stems(out / "testB") == {"Lung9"}
    labels = load_image(out / "testB_labels" / "Lung9.tif", dtype=None)[0].numpy()
    assert len(np.unique(labels)) == 3  # background + 2 nuclei
    with pytest.raises(InputDataError, match="panels"):
        Image.fromarray(RNG.integers(0, 255, (16, 50, 3), dtype=np.uint8)).save(train / "odd.png")
        prepare_deepliif(tmp_path / "DeepLIIF", tmp_path / "out2")


def test_w2s_and_cellprofiler_keep_fields_and_tiles_apart(tmp_path):
    w2s = tmp_path / "w2s"
    for sub in ("noisy", "clean"):
        (w2s / sub).mkdir(parents=True)
        for k in range(1, 7):
            tifffile.imwrite(w2s / sub / f"field{k:03d}.tif", RNG.integers(0, 255, (3, 8, 8), dtype=np.uint8))
    prepare_w2s(w2s, tmp_path / "w2s_out", n_test=2)
    fields = {d: {s.split("_")[0] for s in _stems(tmp_path / "w2s_out" / d)} for d in ("trainA", "trainB", "testA")}
    assert not fields["trainA"] & fields["trainB"] and fields["testA"] == {"field005", "field006"}
    cp = tmp_path / "cp"
    cp.mkdir()
    dna, ph3 = RNG.integers(0, 255, (64, 64), dtype=np.uint8), RNG.integers(0, 255, (64, 64), dtype=np.uint8)
    tifffile.imwrite(cp / "dna.tif", dna)
    tifffile.imwrite(cp / "ph3.tif", ph3)
    prepare_cellprofiler_unmixing(cp, tmp_path / "cp_out", tile=32)
    out = tmp_path / "cp_out"
    assert not _stems(out / "trainA") & _stems(out / "trainB")
    name = sorted(_stems(out / "testA"))[0]
    mixture = load_image(out / "testA" / f"{name}.tif")[0].numpy()
    parts = load_image(out / "testB" / f"{name}.tif").numpy()
    assert parts.shape[0] == 2 and np.allclose(mixture, parts[0] + parts[1])


def test_folders_validate_formats_and_channels(tmp_path):
    a, b = tmp_path / "mine_a", tmp_path / "mine_b"
    a.mkdir()
    b.mkdir()
    for k in range(5):
        tifffile.imwrite(a / f"a{k}.tif", RNG.random((8, 8)).astype(np.float32))
        tifffile.imwrite(b / f"b{k}.tif", RNG.random((8, 8)).astype(np.float32))
    record = prepare_folders(a=a, b=b, out=tmp_path / "out", test_fraction=0.2)
    assert record["counts"]["trainA"] == 4 and record["counts"]["testA"] == 1 and record["counts"]["trainB"] == 5
    tifffile.imwrite(b / "rgb.tif", RNG.integers(0, 255, (8, 8, 3), dtype=np.uint8), photometric="rgb")
    with pytest.raises(InputDataError, match="channel"):
        prepare_folders(a=a, b=b, out=tmp_path / "out2")
    (b / "rgb.tif").unlink()
    (a / "broken.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(InputDataError, match="broken.tif"):
        prepare_folders(a=a, b=b, out=tmp_path / "out3")
    assert not (tmp_path / "out2").exists() and not (tmp_path / "out3").exists()


def test_download_verifies_and_extract_refuses_traversal(tmp_path):
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"x" * 1000)
    sha = hashlib.sha256(payload.read_bytes()).hexdigest()
    with pytest.raises(InputDataError, match="checksum"):
        download(payload.as_uri(), tmp_path / "dl" / "a.bin", checksum="sha256:" + "1" * 64)
    assert not (tmp_path / "dl" / "a.bin").exists()  # a wrong file never takes the final name
    got = download(payload.as_uri(), tmp_path / "dl" / "b.bin", checksum=f"sha256:{sha}")
    assert got.read_bytes() == payload.read_bytes()
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as t:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        t.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(InputDataError, match="outside"):
        extract(evil, tmp_path / "x")
    assert not (tmp_path / "escaped.txt").exists()


def test_command_line(tmp_path):
    cp = tmp_path / "cp"
    cp.mkdir()
    for name in ("dna.tif", "ph3.tif"):
        tifffile.imwrite(cp / name, RNG.integers(0, 255, (64, 64), dtype=np.uint8))
    script = str(ROOT / "scripts" / "prepare_data.py")
    cmd = [
        sys.executable,
        script,
        "cellprofiler_unmixing",
        "--source",
        str(cp),
        "--out",
        str(tmp_path / "o"),
        "--tile",
        "32",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["trainA"] == 2
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "not empty" in again.stderr and "Traceback" not in again.stderr
