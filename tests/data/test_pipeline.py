"""The unpaired pipeline yields A and B patches of the requested shape and range from every input kind."""

import numpy as np
import pytest
import torch
from monai.data import DataLoader

from common.data import check_domain, make_unpaired_dataset
from common.errors import InputDataError
from common.io import write_nifti, write_png, write_tiff


def _write(folder, name, data, axes, **kw):
    folder.mkdir(parents=True, exist_ok=True)
    write_tiff(folder / name, data, axes, **kw)


@pytest.fixture
def mixed_dataset(tmp_path, rng):
    """trainA: TYX movies of different lengths and sizes; trainB: 2D images and a ZYX stack."""
    root = tmp_path / "ds"
    _write(root / "trainA", "m1.tif", rng.integers(0, 4000, (7, 40, 36), dtype=np.uint16), "TYX")
    _write(root / "trainA", "m2.tif", rng.integers(0, 4000, (3, 50, 50), dtype=np.uint16), "TYX")
    _write(root / "trainB", "i1.tif", rng.random((33, 41), dtype=np.float32), "YX")
    _write(root / "trainB", "s1.tif", rng.integers(0, 255, (5, 40, 40), dtype=np.uint8), "ZYX")
    return root


def test_patches_have_requested_shape_and_range(mixed_dataset):
    ds = make_unpaired_dataset(mixed_dataset, patch_size=(32, 24), normalization_a={"clip": True}, length=12)
    assert len(ds) == 12
    for i in range(12):
        item = ds[i]
        assert item["A"].shape == (1, 32, 24) and item["B"].shape == (1, 32, 24)
        assert item["A"].dtype == torch.float32
        assert 0.0 <= float(item["A"].min()) and float(item["A"].max()) <= 1.0  # clipped percentiles
        assert item["A_file"].endswith((".tif",)) and item["B_file"]


def test_range_normalisation_and_signed_output_range(tmp_path, rng):
    rgb = rng.integers(0, 256, (3, 40, 40), dtype=np.uint8)
    for d in ("trainA", "trainB"):
        (tmp_path / d).mkdir()
        write_png(tmp_path / d / "x.png", rgb)
    norm = {"mode": "range", "a_min": 0, "a_max": 255, "b_min": -1, "b_max": 1}
    ds = make_unpaired_dataset(tmp_path, patch_size=(40, 40), normalization_a=norm, normalization_b=norm, augment=False)
    item = ds[0]
    expected = torch.as_tensor(rgb, dtype=torch.float32) / 127.5 - 1
    torch.testing.assert_close(item["A"], expected)
    assert item["A"].shape == (3, 40, 40)


def test_smaller_images_are_padded_with_the_background_value(tmp_path, rng):
    for d in ("trainA", "trainB"):
        _write(tmp_path / d, "small.tif", rng.random((10, 12), dtype=np.float32) + 1, "YX")
    ds = make_unpaired_dataset(tmp_path, patch_size=(16, 16), normalization_a={"clip": True})
    item = ds[0]
    assert item["A"].shape == (1, 16, 16)
    assert (item["A"] == 0).sum() >= 16 * 16 - 10 * 12  # the pad is b_min


def test_nifti_volumes_give_2d_slices_and_3d_patches(tmp_path, rng):
    for d in ("trainA", "trainB"):
        (tmp_path / d).mkdir()
        write_nifti(tmp_path / d / "v.nii.gz", rng.random((30, 28, 12)).astype(np.float32), np.diag([1, 1, 2, 1.0]))
    ds2 = make_unpaired_dataset(tmp_path, patch_size=(24, 24))
    assert ds2[0]["A"].shape == (1, 24, 24)
    ds3 = make_unpaired_dataset(tmp_path, patch_size=(16, 16, 8), spatial_dims=3)
    assert ds3[0]["A"].shape == (1, 16, 16, 8) and ds3[0]["B"].shape == (1, 16, 16, 8)


def test_3d_patches_from_stacks_and_movies_of_stacks(tmp_path, rng):
    _write(tmp_path / "trainA", "tz.tif", rng.integers(0, 999, (4, 6, 20, 20), dtype=np.uint16), "TZYX")
    _write(tmp_path / "trainB", "z.tif", rng.integers(0, 999, (6, 20, 20), dtype=np.uint16), "ZYX")
    ds = make_unpaired_dataset(tmp_path, patch_size=(4, 16, 16), spatial_dims=3)
    assert ds[0]["A"].shape == (1, 4, 16, 16) and ds[0]["B"].shape == (1, 4, 16, 16)


def test_multichannel_domains_keep_channels(tmp_path, rng):
    _write(tmp_path / "trainA", "a.tif", rng.integers(0, 999, (24, 24), dtype=np.uint16), "YX")
    _write(tmp_path / "trainB", "b.tif", rng.integers(0, 999, (2, 24, 24), dtype=np.uint16), "CYX")
    ds = make_unpaired_dataset(tmp_path, patch_size=(16, 16), channels_a=1, channels_b=2)
    assert ds[0]["A"].shape == (1, 16, 16) and ds[0]["B"].shape == (2, 16, 16)


def test_gray_images_can_join_an_rgb_domain(tmp_path, rng):
    (tmp_path / "trainA").mkdir()
    write_png(tmp_path / "trainA" / "rgb.png", rng.integers(0, 256, (3, 20, 20), dtype=np.uint8))
    write_png(tmp_path / "trainA" / "gray.png", rng.integers(0, 256, (20, 20), dtype=np.uint8))
    _write(tmp_path / "trainB", "b.tif", rng.integers(0, 999, (20, 20), dtype=np.uint16), "YX")
    with pytest.raises(InputDataError, match="mixed channel counts"):
        make_unpaired_dataset(tmp_path, patch_size=(16, 16))
    ds = make_unpaired_dataset(tmp_path, patch_size=(16, 16), channels_a=3, gray_to_rgb=True, length=6)
    assert all(ds[i]["A"].shape == (3, 16, 16) for i in range(6))


def test_a_and_b_are_drawn_independently(tmp_path):
    """Each A image is paired with every B image over many draws: no fixed A-B pairing."""
    for i in range(3):
        _write(tmp_path / "trainA", f"a{i}.tif", np.full((16, 16), i, np.float32), "YX")
    for j in range(4):
        _write(tmp_path / "trainB", f"b{j}.tif", np.full((16, 16), j, np.float32), "YX")
    ds = make_unpaired_dataset(
        tmp_path, patch_size=(8, 8), normalization_a={"mode": "none"}, normalization_b={"mode": "none"}, length=300
    )
    loader = DataLoader(ds, batch_size=10, num_workers=0)
    pairs = set()
    counts = np.zeros((3, 4))
    for batch in loader:
        for a, b in zip(batch["A"][:, 0, 0, 0].tolist(), batch["B"][:, 0, 0, 0].tolist(), strict=True):
            pairs.add((a, b))
            counts[int(a), int(b)] += 1
    assert len(pairs) == 12
    assert counts.sum(axis=0).min() > 40  # every B image drawn about 300/4 times


def test_same_seed_same_patches_across_workers(mixed_dataset):
    def run(seed, workers):
        torch.manual_seed(seed)
        ds = make_unpaired_dataset(mixed_dataset, patch_size=(16, 16), length=8)
        loader = DataLoader(ds, batch_size=4, num_workers=workers)
        return torch.cat([b["A"] for b in loader]), torch.cat([b["B"] for b in loader])

    a1, b1 = run(3, 0)
    a2, b2 = run(3, 0)
    a3, _ = run(4, 0)
    assert torch.equal(a1, a2) and torch.equal(b1, b2)
    assert not torch.equal(a1, a3)


def test_worker_processes_yield_valid_distinct_patches(mixed_dataset, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ds = make_unpaired_dataset(mixed_dataset, patch_size=(16, 16), length=8)
    batches = list(DataLoader(ds, batch_size=2, num_workers=2))
    a = torch.cat([b["A"] for b in batches])
    assert a.shape == (8, 1, 16, 16)
    assert len({tuple(x.flatten()[:20].tolist()) for x in a}) > 1  # workers do not repeat one another


# --- bad input, caught before any pixel is used ------------------------------------------------------------------


def test_missing_and_empty_domains(tmp_path, rng):
    with pytest.raises(InputDataError, match="trainA: folder not found"):
        make_unpaired_dataset(tmp_path)
    (tmp_path / "trainA").mkdir()
    _write(tmp_path / "trainB", "b.tif", rng.random((8, 8), dtype=np.float32), "YX")
    with pytest.raises(InputDataError, match="trainA: folder holds no image"):
        make_unpaired_dataset(tmp_path)


def test_nan_image_in_a_domain_names_the_file(tmp_path, rng):
    bad = rng.random((20, 20), dtype=np.float32)
    bad[3, 3] = np.inf
    _write(tmp_path / "trainA", "good.tif", rng.random((20, 20), dtype=np.float32), "YX")
    _write(tmp_path / "trainA", "bad.tif", bad, "YX")
    _write(tmp_path / "trainB", "b.tif", rng.random((20, 20), dtype=np.float32), "YX")
    with pytest.raises(InputDataError, match=r"bad.tif: image holds 1 NaN/Inf"):
        make_unpaired_dataset(tmp_path, patch_size=(16, 16))


def test_wrong_channels_and_dimensions(tmp_path, rng):
    _write(tmp_path / "a", "rgb.tif", rng.integers(0, 255, (3, 20, 20), dtype=np.uint8), "CYX")
    _write(tmp_path / "b", "gray.tif", rng.integers(0, 255, (20, 20), dtype=np.uint8), "YX")
    with pytest.raises(InputDataError, match="rgb.tif: domain A: image has 3 channel"):
        make_unpaired_dataset(files_a=tmp_path / "a", files_b=tmp_path / "b", channels_a=1, patch_size=(8, 8))
    with pytest.raises(InputDataError, match="gray.tif: .*2 spatial dimensions"):
        check_domain([str(tmp_path / "b" / "gray.tif")], "trainB", spatial_dims=3)


def test_truncated_file_in_a_domain_is_reported_before_training(tmp_path, rng):
    _write(tmp_path / "trainA", "ok.tif", rng.integers(0, 255, (4, 32, 32), dtype=np.uint8), "ZYX", compression=None)
    raw = (tmp_path / "trainA" / "ok.tif").read_bytes()
    (tmp_path / "trainA" / "cut.tif").write_bytes(raw[: len(raw) // 2])
    _write(tmp_path / "trainB", "b.tif", rng.random((32, 32), dtype=np.float32), "YX")
    with pytest.raises(InputDataError, match="cut.tif: .*truncated"):
        make_unpaired_dataset(tmp_path, patch_size=(16, 16))


def test_constant_image_does_not_divide_by_zero(tmp_path):
    _write(tmp_path / "trainA", "flat.tif", np.full((20, 20), 7, np.uint16), "YX")
    _write(tmp_path / "trainB", "flat.tif", np.full((20, 20), 7, np.uint16), "YX")
    item = make_unpaired_dataset(tmp_path, patch_size=(16, 16))[0]
    assert torch.isfinite(item["A"]).all()


def test_argument_validation():
    with pytest.raises(ValueError, match="dataset_dir or both"):
        make_unpaired_dataset()
    with pytest.raises(ValueError, match="split"):
        make_unpaired_dataset("x", split="val")


def test_scale_range_rescales_frames_before_the_patch_is_cut(tmp_path):
    """A ramp rising by 1 per pixel along X rises by 1 / factor after rescaling by ``factor``: with factors in
    [2, 3] every patch's slope lies in [1/3, 1/2]; the same seed draws the same factor; bad ranges are refused."""
    ramp = np.tile(np.arange(64, dtype=np.float32), (64, 1))
    for d in ("trainA", "trainB"):
        _write(tmp_path / d, "ramp.tif", ramp, "YX")
    none = {"mode": "none"}
    settings = dict(patch_size=(16, 16), normalization_a=none, normalization_b=none, augment=False, length=6, seed=3)
    scaled = make_unpaired_dataset(tmp_path, scale_range=(2.0, 3.0), **settings)
    for i in range(6):
        patch = scaled[i]["A"][0]
        slope = float((patch[:, 1:] - patch[:, :-1])[:, 2:-2].mean())
        assert 1 / 3 - 0.02 <= slope <= 1 / 2 + 0.02, slope
    again = make_unpaired_dataset(tmp_path, scale_range=(2.0, 3.0), **settings)
    torch.testing.assert_close(again[4]["A"], scaled[4]["A"])
    plain = make_unpaired_dataset(tmp_path, **settings)
    assert float((plain[0]["A"][0][:, 1:] - plain[0]["A"][0][:, :-1]).mean()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="scale_range"):
        make_unpaired_dataset(tmp_path, scale_range=(2.0, 1.0), **settings)
