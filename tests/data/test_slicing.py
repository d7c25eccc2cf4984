import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from common.data import RandSliced, axes_to_slice, take_slice


def _movie(t=6, y=5, x=4):
    data = torch.arange(t * y * x, dtype=torch.float32).reshape(1, t, y, x)
    affine = torch.diag(torch.tensor([0.5, 2.0, 3.0, 1.0], dtype=torch.float64))
    return MetaTensor(data, affine=affine, meta={"spatial_axes": "TYX"})


def test_axes_to_slice_tiff_leading_axes_and_nifti_last_axis():
    assert axes_to_slice(_movie(), 2) == [0]
    assert axes_to_slice(MetaTensor(torch.zeros(1, 3, 4, 5, 6), meta={"spatial_axes": "TZYX"}), 2) == [0, 1]
    assert axes_to_slice(MetaTensor(torch.zeros(1, 3, 4, 5, 6), meta={"spatial_axes": "TZYX"}), 3) == [0]
    nifti = MetaTensor(torch.zeros(1, 7, 8, 9))
    assert axes_to_slice(nifti, 2) == [2]
    assert axes_to_slice(nifti, 2, slice_axis=0) == [0]
    assert axes_to_slice(torch.zeros(1, 7, 8), 2) == []


def test_take_slice_returns_the_frame_and_updates_meta():
    movie = _movie()
    frame = take_slice(movie, [0], [3])
    np.testing.assert_array_equal(frame.numpy(), movie[:, 3].numpy())
    assert frame.meta["spatial_axes"] == "YX"
    np.testing.assert_allclose(frame.affine.numpy(), np.diag([2.0, 3.0, 1.0]))


def test_rand_sliced_draws_every_frame_and_is_seeded():
    movie = _movie(t=6)
    picked = set()
    transform = RandSliced("image", spatial_dims=2).set_random_state(0)
    for _ in range(200):
        frame = transform({"image": movie})["image"]
        matches = [t for t in range(6) if torch.equal(frame, movie[:, t].as_tensor())]
        assert len(matches) == 1
        picked.add(matches[0])
    assert picked == set(range(6))
    a = [RandSliced("image").set_random_state(7)({"image": movie})["image"] for _ in range(3)]
    b = [RandSliced("image").set_random_state(7)({"image": movie})["image"] for _ in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_stream_sampler_shares_one_stream_between_ranks_and_resumes():
    from common.data import StreamSampler

    ranks = [StreamSampler(5, num_replicas=2, rank=r) for r in (0, 1)]
    shares = [list(s) for s in ranks]
    assert shares == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]  # disjoint, together the single-process stream
    for s in ranks:
        s.start = 3  # resuming at position 3 of each rank's share
    assert [list(s) for s in ranks] == [[6, 8], [7, 9]] and len(ranks[0]) == 2
    with pytest.raises(ValueError, match="rank"):
        StreamSampler(5, num_replicas=2, rank=2)
