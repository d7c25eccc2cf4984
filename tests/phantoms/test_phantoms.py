"""Every phantom task writes its layout in its real format, deterministically, with consistent ground truth."""

import csv
import json

import numpy as np
import pytest
from scipy import ndimage

from common.data import make_unpaired_dataset, paired_test_items
from common.io import load_image
from common.phantoms import TASKS, make_phantoms, task_sampler
from common.phantoms.nuclei import random_ellipses

SIZES = {name: 48 for name in TASKS} | {"mri_t2_pd": 32}
FORMATS = {  # (A suffix, B suffix, A channels, B channels)
    "calcium": (".tif", ".tif", 1, 1),
    "if_unmixing": (".tif", ".tif", 1, 2),
    "denoising": (".tif", ".tif", 1, 1),
    "ihc_he_translation": (".png", ".png", 3, 3),
    "mri_t2_pd": (".nii.gz", ".nii.gz", 1, 1),
    "virtual_he_staining": (".tif", ".png", 2, 3),
    "phase_to_dapi": (".tif", ".tif", 1, 1),
    "mask_to_nuclei": (".tif", ".tif", 1, 1),
}


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    root = tmp_path_factory.mktemp("phantoms")
    for task in TASKS:
        make_phantoms(task, root / task, n_train=2, n_test=1, size=SIZES[task], seed=5)
    return root


def _load(path):
    return load_image(path, dtype=None).numpy()


@pytest.mark.parametrize("task", list(TASKS))
def test_layout_formats_and_training_pipeline(phantoms, task):
    root = phantoms / task
    info = json.loads((root / "phantom.json").read_text())
    assert info["task"] == task and info["seed"] == 5
    suffix_a, suffix_b, ch_a, ch_b = FORMATS[task]
    for folder, suffix, count in (("trainA", suffix_a, 2), ("trainB", suffix_b, 2), ("testA", suffix_a, 1)):
        files = sorted((root / folder).iterdir())
        assert len(files) == count and all(f.name.endswith(suffix) for f in files)
    item = paired_test_items(root)[0]
    assert item.B is not None and item.A_labels is not None and item.B_labels is not None
    a, b = load_image(item.A), load_image(item.B)
    assert a.shape[0] == ch_a and b.shape[0] == ch_b
    assert a.shape[1:] == b.shape[1:]  # aligned ground truth
    labels = _load(item.A_labels)
    assert labels.shape[-2:] == a.shape[-2:] and labels.max() > 0
    norm = {"mode": "range"} if suffix_a == ".png" else None
    ds = make_unpaired_dataset(root, patch_size=(16, 16), normalization_a=norm, length=2)
    assert ds[0]["A"].shape == (ch_a, 16, 16) and ds[0]["B"].shape == (ch_b, 16, 16)


@pytest.mark.parametrize("task", list(TASKS))
def test_deterministic_by_seed_and_unpaired(tmp_path, phantoms, task):
    again = make_phantoms(task, tmp_path / "again", n_train=2, n_test=1, size=SIZES[task], seed=5)
    other = make_phantoms(task, tmp_path / "other", n_train=2, n_test=1, size=SIZES[task], seed=6)
    first = sorted((phantoms / task / "testA").iterdir())[0]
    np.testing.assert_array_equal(_load(first), _load(tmp_path / "again" / "testA" / first.name))
    assert not np.array_equal(_load(first), _load(tmp_path / "other" / "testA" / first.name))
    assert again["files"] == other["files"]
    # unpaired: trainA[i] and trainB[i] are renderings of different random fields
    sampler = task_sampler(task)
    field_a = sampler(np.random.default_rng([5, 1, 0]), size=SIZES[task])
    field_b = sampler(np.random.default_rng([5, 2, 0]), size=SIZES[task])
    stored = _load(sorted((phantoms / task / "trainA").iterdir())[0])
    np.testing.assert_array_equal(stored.squeeze(), field_a.a.data.squeeze())
    assert not np.array_equal(field_a.labels_a.data, field_b.labels_a.data)


def test_existing_dataset_is_not_overwritten(tmp_path):
    make_phantoms("mask_to_nuclei", tmp_path / "d", n_train=1, n_test=0, size=32)
    with pytest.raises(FileExistsError, match="already holds"):
        make_phantoms("mask_to_nuclei", tmp_path / "d", n_train=1, n_test=0, size=32)
    with pytest.raises(ValueError, match="unknown phantom task"):
        make_phantoms("nope", tmp_path / "e")


def test_ellipses_do_not_touch_and_labels_match_parameters(rng):
    labels, ellipses = random_ellipses((96, 96), 40, rng, margin=2.0)
    assert labels.max() == len(ellipses) > 10
    inside = [
        i
        for i, e in enumerate(ellipses, start=1)
        if all(r + 1 < c < 95 - r for c, r in zip(e.center, [max(e.axes)] * 2, strict=True))
    ]
    assert len(inside) > 10
    for i, e in enumerate(ellipses, start=1):
        mask = labels == i
        ring = ndimage.binary_dilation(mask, iterations=2) & ~mask
        assert not np.any((labels[ring] > 0) & (labels[ring] != i))  # a gap of margin pixels
        if i not in inside:
            continue  # cut by the image border
        cy, cx = ndimage.center_of_mass(mask)
        assert abs(cy - e.center[0]) < 1.0 and abs(cx - e.center[1]) < 1.0
        assert mask.sum() == pytest.approx(np.pi * e.axes[0] * e.axes[1], rel=0.25)


# --- task-specific ground truth ----------------------------------------------------------------------------------


def _test_files(root):
    item = paired_test_items(root)[0]
    return item, _load(item.A), _load(item.B), _load(item.A_labels), _load(item.B_labels)


def test_calcium_nuclei_sit_inside_rims_and_follow_traces(phantoms):
    item, movie_a, movie_b, somata, nuclei = _test_files(phantoms / "calcium")
    somata, nuclei = somata[0], nuclei[0]
    mean_a, mean_b = movie_a[0].mean(0), movie_b[0].mean(0)
    ids = [i for i in np.unique(somata) if i]
    assert set(ids) == set(np.unique(nuclei)) - {0}
    rows = list(csv.reader(open(phantoms / "calcium" / "testA_traces" / "calcium_test000.csv")))
    header, values = rows[0], np.array(rows[1:], dtype=float)
    assert header[1:] == [f"cell_{i}" for i in range(1, len(ids) + 1)] and len(values) == movie_a.shape[1]
    for i in ids:
        nucleus, soma = nuclei == i, somata == i
        rim = soma & ~ndimage.binary_dilation(nucleus, iterations=1)
        assert np.all(soma[nucleus])  # the nucleus lies within its soma
        assert mean_a[nucleus].mean() < mean_a[rim].mean()  # A: bright rim, dark nucleus
        assert mean_b[nucleus].mean() > mean_b[rim].mean()  # B: filled nucleus
        trace_b = movie_b[0][:, nucleus].mean(1)
        if values[:, i].std() > 0.05 * values[:, i].mean():
            assert np.corrcoef(trace_b, values[:, i])[0, 1] > 0.9  # the movie follows the true activity


def test_if_unmixing_mixture_is_the_sum_of_the_channels(phantoms):
    _, mixed, channels, nuclei, _ = _test_files(phantoms / "if_unmixing")
    total = channels.astype(float).sum(0)
    assert np.corrcoef(mixed[0].ravel(), total.ravel())[0, 1] > 0.95
    inside = nuclei[0] > 0
    assert channels[0][inside].mean() > 3 * channels[0][~inside].mean()  # channel 0 is nuclear


def test_denoising_pairs_share_structure_at_different_snr(phantoms):
    _, noisy, clean, labels, _ = _test_files(phantoms / "denoising")
    noisy, clean = noisy[0].astype(float), clean[0].astype(float)
    residual_noisy = noisy - ndimage.gaussian_filter(noisy, 1.0)
    residual_clean = clean - ndimage.gaussian_filter(clean, 1.0)
    assert residual_noisy.std() > 4 * residual_clean.std()
    inside = labels[0] > 0
    assert clean[inside].mean() > 2 * clean[~inside].mean()
    assert np.corrcoef(ndimage.gaussian_filter(noisy, 2).ravel(), clean.ravel())[0, 1] > 0.8


def test_stained_tiles_show_nuclei_in_their_colours(phantoms):
    _, ihc, he, labels, _ = _test_files(phantoms / "ihc_he_translation")
    inside = ndimage.binary_erosion(labels[0] > 0, iterations=1)
    outside = ~ndimage.binary_dilation(labels[0] > 0, iterations=3)
    he = he.astype(float)
    assert he[:, inside].mean() < he[:, outside].mean() - 30  # nuclei darker
    assert he[2, inside].mean() > he[0, inside].mean()  # hematoxylin blue-purple
    assert he[0, outside].mean() > he[1, outside].mean() + 30  # eosin pink
    assert ihc.astype(float)[:, outside].mean() > he[:, outside].mean()  # IHC background nearly unstained


def test_virtual_he_fluorescence_and_stain_agree(phantoms):
    _, fluo, he, labels, _ = _test_files(phantoms / "virtual_he_staining")
    inside = labels[0] > 0
    assert fluo[0][inside].mean() > 3 * fluo[0][~inside].mean()
    assert he.astype(float)[:, inside].mean() < he.astype(float)[:, ~inside].mean()


def test_phase_to_dapi_relief_and_nuclei(phantoms):
    _, dic, dapi, labels, _ = _test_files(phantoms / "phase_to_dapi")
    inside = labels[0] > 0
    near = ndimage.binary_dilation(inside, iterations=4)
    far = ~ndimage.binary_dilation(inside, iterations=12)
    assert dapi[0][inside].mean() > 3 * dapi[0][~inside].mean()
    relief = np.abs(ndimage.gaussian_filter(dic[0].astype(float), 1.0) - np.median(dic[0]))
    assert relief[near].mean() > 1.5 * relief[far].mean()


def test_mask_to_nuclei_renders_the_mask(phantoms):
    item, mask, image, labels, _ = _test_files(phantoms / "mask_to_nuclei")
    np.testing.assert_array_equal(mask, labels)
    inside = mask[0] > 0
    assert image[0][inside].mean() > 3 * image[0][~inside].mean()


def test_mri_contrasts_share_anatomy_and_affine(phantoms):
    item = paired_test_items(phantoms / "mri_t2_pd")[0]
    t2, pd, tissue = (load_image(p) for p in (item.A, item.B, item.A_labels))
    np.testing.assert_allclose(t2.affine.numpy(), pd.affine.numpy())
    np.testing.assert_allclose(t2.affine.numpy(), tissue.affine.numpy())
    assert not np.allclose(t2.affine.numpy(), np.eye(4))  # a real, oblique affine
    t2, pd, tissue = t2[0].numpy(), pd[0].numpy(), tissue[0].numpy().astype(int)
    mean = {k: (t2[tissue == k].mean(), pd[tissue == k].mean()) for k in (1, 2, 3)}  # csf, gm, wm
    assert mean[1][0] > mean[2][0] > mean[3][0]  # T2: CSF > GM > WM
    assert mean[1][1] > mean[3][1] and mean[2][1] > mean[3][1]  # PD: CSF, GM > WM
    assert (mean[2][1] - mean[3][1]) / mean[3][1] > 0  # and PD contrast differs from T2's
    assert mean[1][0] / mean[3][0] > mean[1][1] / mean[3][1]  # CSF/WM ratio larger in T2
