"""The Gaussian-blur baseline: width chosen on the validation pairs only, blur in the image plane only."""

import nibabel as nib
import numpy as np
import pytest
import tifffile

from common.errors import InputDataError
from common.evaluation import blur_scores, gaussian_baseline
from common.evaluation.baseline import in_plane_axes


def _smooth(rng, shape):
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(rng.random(shape), 3) * 10


def _noisy_pairs(root, split, n, rng, noise):
    (root / f"{split}A").mkdir(parents=True)
    (root / f"{split}B").mkdir(parents=True)
    for i in range(n):
        clean = _smooth(rng, (48, 48))
        tifffile.imwrite(
            root / f"{split}A" / f"im{i}.tif", (clean + noise * rng.standard_normal(clean.shape)).astype(np.float32)
        )
        tifffile.imwrite(root / f"{split}B" / f"im{i}.tif", clean.astype(np.float32))


def test_width_follows_the_validation_noise_not_the_test_set(tmp_path):
    rng = np.random.default_rng(0)
    noisy, clean = tmp_path / "noisy", tmp_path / "clean"
    _noisy_pairs(noisy, "val", 2, rng, noise=0.5)
    _noisy_pairs(noisy, "test", 2, rng, noise=0.5)
    _noisy_pairs(clean, "val", 2, rng, noise=0.0)
    _noisy_pairs(clean, "test", 2, rng, noise=0.5)  # a noisy test set must not widen the blur chosen on val
    strong, weak = gaussian_baseline(noisy), gaussian_baseline(clean)
    assert strong["sigma"] > weak["sigma"] == 0.5
    assert strong["psnr"] > blur_scores(noisy, "test", 0.5)["psnr"] + 3  # the blur removes noise
    assert strong["n"] == 2 and set(strong["validation"]) == {0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0}
    with pytest.raises(ValueError, match="positive"):
        gaussian_baseline(noisy, sigmas=[0])


def test_volumes_are_blurred_in_plane_and_missing_pairs_refused(tmp_path):
    assert in_plane_axes("a.nii.gz", 3) == (0, 1)
    assert in_plane_axes("a.tif", 3) == (1, 2)
    assert in_plane_axes("a.png", 3) == (0, 1)  # Y X RGB
    rng = np.random.default_rng(1)
    for split in ("test",):
        (tmp_path / f"{split}A").mkdir()
        (tmp_path / f"{split}B").mkdir()
    volume = np.zeros((16, 16, 8), np.float32)
    volume[..., 3] = _smooth(rng, (16, 16))  # one bright slice: an in-plane blur leaves the others at 0
    from scipy.ndimage import gaussian_filter

    truth = gaussian_filter(volume, (1.0, 1.0, 0.0))  # what an in-plane blur of width 1 gives
    nib.save(nib.Nifti1Image(volume, np.eye(4)), tmp_path / "testA" / "v.nii.gz")
    nib.save(nib.Nifti1Image(truth, np.eye(4)), tmp_path / "testB" / "v.nii.gz")
    scores = blur_scores(tmp_path, "test", 1.0)
    assert scores["psnr"] > 60 and scores["n"] == 1  # a blur along Z too would spread the slice: far lower
    with pytest.raises(InputDataError, match="valA"):
        blur_scores(tmp_path, "val", 1.0)
