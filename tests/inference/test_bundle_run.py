"""The MONAI Deploy application's core on CPU: a bundle folder translates a folder of images and a DICOM-series
volume (as the SDK hands it over) the way the bundle's own inference does. The App SDK itself is an optional
install; the application is run by the last test only where it is installed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from monai.bundle import ConfigWorkflow

from common.errors import InputDataError
from common.inference import translate_with_bundle, volume_to_nifti
from common.io import load_image

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mri_bundle(tmp_path_factory, quick_bundle):
    """The MRI bundle trained for 2 iterations, laid out as it is shipped: configs/ and models/model.pt."""
    out = tmp_path_factory.mktemp("mri_run")
    workflow = ConfigWorkflow(
        config_file=str(ROOT / "bundles" / "mri_t2_pd" / "configs" / "train.json"),
        workflow_type="train",
        **quick_bundle("stable", output_dir=str(out), max_iterations=2),
    )
    workflow.initialize()
    workflow.run()
    bundle = out / "bundle"
    shutil.copytree(ROOT / "bundles" / "mri_t2_pd" / "configs", bundle / "configs")
    (bundle / "models").mkdir()
    for f in ("model.pt", "model.json"):
        shutil.copy(out / f, bundle / "models" / f)
    return bundle, out / "phantoms"


def test_folder_translation_keeps_geometry(mri_bundle, tmp_path):
    bundle, phantoms = mri_bundle
    written = translate_with_bundle(bundle, str(phantoms / "testA"), tmp_path / "out")
    sources = sorted((phantoms / "testA").glob("*.nii*"))
    assert sorted(p.name for p in written) == [s.name for s in sources]
    for source in sources:
        a, b = nib.load(source), nib.load(tmp_path / "out" / source.name)
        assert a.shape == b.shape and np.allclose(a.affine, b.affine)


def test_dicom_series_volume_becomes_a_translated_nifti_with_its_affine(mri_bundle, tmp_path):
    bundle, phantoms = mri_bundle
    volume_xyz = np.asarray(nib.load(sorted((phantoms / "testA").glob("*.nii*"))[0]).dataobj, dtype=np.float32)
    affine = np.diag([0.9, 0.9, 3.0, 1.0])
    affine[:3, 3] = [-10.0, 5.0, 2.0]
    series = np.transpose(volume_xyz, (2, 1, 0))  # (slices, rows, columns): the SDK's volume layout
    source = volume_to_nifti(series, affine, tmp_path / "scratch" / "series.nii.gz")
    assert np.array_equal(np.asarray(nib.load(source).dataobj), volume_xyz)
    (written,) = translate_with_bundle(bundle, [str(source)], tmp_path / "out")
    out = nib.load(written)
    assert out.shape == volume_xyz.shape and np.allclose(out.affine, affine)
    assert np.isfinite(np.asarray(out.dataobj)).all()
    with pytest.raises(ValueError, match="3 axes"):
        volume_to_nifti(series[0], affine, tmp_path / "bad.nii.gz")


def test_missing_model_or_config_is_a_clear_error(tmp_path, mri_bundle):
    bundle, phantoms = mri_bundle
    with pytest.raises(InputDataError, match="inference.json"):
        translate_with_bundle(tmp_path, str(phantoms / "testA"), tmp_path / "out")
    with pytest.raises(InputDataError, match="no trained model"):
        translate_with_bundle(bundle, str(phantoms / "testA"), tmp_path / "out", checkpoint=tmp_path / "none.pt")
    assert not (tmp_path / "out").exists()


def test_deploy_application_runs_where_the_sdk_is_installed(mri_bundle, tmp_path):
    pytest.importorskip("monai.deploy.core", reason="MONAI Deploy App SDK is the optional '.[deploy]' install")
    bundle, phantoms = mri_bundle
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, str(ROOT / "deploy" / "app.py"), "-i", str(phantoms / "testA"), "-o", str(tmp_path / "o")]
    done = subprocess.run([*cmd, "-m", str(bundle)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for source in (phantoms / "testA").glob("*.nii*"):
        assert load_image(tmp_path / "o" / source.name).shape == load_image(source).shape


def _write_dicom_series(volume_zyx: np.ndarray, folder: Path, spacing=(0.9, 0.9, 3.0)) -> None:
    """A minimal MR series (one file per slice) with pydicom."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    folder.mkdir(parents=True)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    pixels = np.round((volume_zyx - volume_zyx.min()) / (np.ptp(volume_zyx) + 1e-8) * 4000).astype(np.uint16)
    for k, plane in enumerate(pixels):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = MRImageStorage, generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(folder / f"{k:03d}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.PatientID, ds.PatientName, ds.SeriesNumber, ds.InstanceNumber = "MR", "P1", "Test^P", 1, k + 1
        ds.ImagePositionPatient = [0.0, 0.0, float(k * spacing[2])]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing, ds.SliceThickness = [spacing[0], spacing[1]], spacing[2]
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = plane.tobytes()
        ds.save_as(folder / f"{k:03d}.dcm", enforce_file_format=True)


def test_deploy_application_translates_a_dicom_series(mri_bundle, tmp_path):
    pytest.importorskip("monai.deploy.core", reason="MONAI Deploy App SDK is the optional '.[deploy]' install")
    pytest.importorskip("pydicom")
    bundle, phantoms = mri_bundle
    volume_xyz = np.asarray(nib.load(sorted((phantoms / "testA").glob("*.nii*"))[0]).dataobj, dtype=np.float32)
    _write_dicom_series(np.transpose(volume_xyz, (2, 1, 0)), tmp_path / "dicom")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, str(ROOT / "deploy" / "app.py"), "-i", str(tmp_path / "dicom"), "-o", str(tmp_path / "o")]
    done = subprocess.run([*cmd, "-m", str(bundle), "--dicom"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (written,) = list((tmp_path / "o").glob("*.nii.gz"))
    out = nib.load(written)
    assert out.shape == volume_xyz.shape
    assert np.allclose(np.abs(np.diag(out.affine))[:3], [0.9, 0.9, 3.0], atol=1e-4)
    assert np.isfinite(np.asarray(out.dataobj)).all()
