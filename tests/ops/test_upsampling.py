"""Lanczos and DySample upsamplers, and the padding helper."""

import math

import pytest
import torch
import torch.nn.functional as F

from common.ops import DySample, LanczosUpsample, crop_to, lanczos2_taps, pad_to_multiple


@pytest.mark.parametrize("spatial_dims, shape", [(2, (2, 3, 5, 7)), (3, (1, 2, 4, 5, 3))])
def test_lanczos_reproduces_constants_exactly_without_checkerboard(spatial_dims, shape):
    up = LanczosUpsample(spatial_dims, shape[1])
    x = torch.full(shape, 3.25)
    out = up(x)
    assert out.shape == shape[:2] + tuple(2 * s for s in shape[2:])
    assert float((out - 3.25).abs().max()) < 3.25 * 1e-6  # float32 rounding only
    assert float(out.std()) < 1e-6  # no checkerboard: both phases sum to one, borders included
    assert torch.allclose(lanczos2_taps()[0::2].sum(), torch.tensor(1.0, dtype=torch.float64))


def _lanczos2(d: float) -> float:
    if d == 0:
        return 1.0
    if abs(d) >= 2:
        return 0.0
    return math.sin(math.pi * d) / (math.pi * d) * math.sin(math.pi * d / 2) / (math.pi * d / 2)


def test_lanczos_matches_the_definition_and_is_not_shifted():
    """Output sample o sits at input coordinate o / 2 - 0.25 and is the normalised Lanczos-2 interpolation."""
    torch.manual_seed(0)
    signal = torch.randn(20, dtype=torch.float64)
    out = LanczosUpsample(2, 1)(signal.reshape(1, 1, 1, 20).expand(1, 1, 3, 20).float())[0, 0, 1].double()
    for o in range(8, 32):
        x = o / 2 - 0.25
        taps = {n: _lanczos2(x - n) for n in range(int(x) - 2, int(x) + 3)}
        expected = sum(w * signal[n] for n, w in taps.items()) / sum(taps.values())
        assert float(out[o]) == pytest.approx(float(expected), abs=1e-5)
    ramp = torch.arange(16.0).reshape(1, 1, 1, 16).expand(1, 1, 4, 16)
    error = LanczosUpsample(2, 1)(ramp)[0, 0, 0] - (torch.arange(32.0) / 2 - 0.25)
    assert abs(float(error[4:-4].mean())) < 1e-5  # the phases' errors cancel: no half-pixel shift


@pytest.mark.parametrize("spatial_dims, shape, groups", [(2, (2, 8, 7, 9), 4), (3, (1, 4, 3, 5, 6), 2)])
def test_dysample_with_zero_offsets_is_bilinear(spatial_dims, shape, groups):
    x = torch.randn(shape)
    up = DySample(spatial_dims, shape[1], groups=groups)
    zero = torch.zeros((shape[0], spatial_dims * groups * 2**spatial_dims) + shape[2:])
    mode = "bilinear" if spatial_dims == 2 else "trilinear"
    expected = F.interpolate(x, scale_factor=2, mode=mode, align_corners=False)
    torch.testing.assert_close(up.sample(x, zero), expected, atol=1e-5, rtol=1e-5)
    # and a freshly initialised operator starts close to it
    with torch.no_grad():
        assert float((up(x) - expected).abs().max()) < 0.05


def test_dysample_offsets_move_samples_and_get_gradients():
    x = torch.randn(1, 4, 6, 6, requires_grad=True)
    up = DySample(2, 4, groups=1, dynamic_scope=True)
    ramp = torch.arange(8.0).reshape(1, 1, 1, 8).expand(1, 4, 8, 8)  # grows by 1 per input pixel along x
    offsets = torch.zeros(1, 2, 16, 16)
    offsets[:, 0] = 1.0  # every output samples one input pixel further along x
    packed = F.pixel_unshuffle(offsets, 2)  # the low-resolution layout DySample predicts
    shifted, plain = up.sample(ramp, packed), up.sample(ramp, torch.zeros_like(packed))
    assert float((shifted - plain)[..., 2:-4].mean()) == pytest.approx(1.0, abs=1e-5)
    up(x).sum().backward()
    assert all(p.grad is not None for p in up.parameters()) and x.grad is not None


def test_dysample_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divisible"):
        DySample(2, 6, groups=4)
    with pytest.raises(ValueError, match="spatial_dims"):
        DySample(1, 4)


@pytest.mark.parametrize("shape, multiple", [((1, 2, 13, 9), 8), ((1, 1, 3, 5, 7), 4), ((1, 1, 16, 16), 4)])
def test_pad_to_multiple_and_crop_back(shape, multiple):
    x = torch.randn(shape)
    padded, sizes = pad_to_multiple(x, multiple)
    assert all(s % multiple == 0 for s in padded.shape[2:])
    assert sizes == list(shape[2:])
    torch.testing.assert_close(crop_to(padded, sizes), x)
    assert math.prod(padded.shape) >= math.prod(shape)


def test_dysample_survives_nan_offsets_in_backward():
    """grid_sample's CPU backward segfaults on NaN coordinates; DySample keeps them finite."""
    x = torch.rand(1, 4, 6, 6, requires_grad=True)
    up = DySample(2, 4, groups=1)
    out = up.sample(x, torch.full((1, 8, 6, 6), float("nan")))
    out.sum().backward()  # would crash the interpreter without the guard
    assert x.grad is not None and out.shape == (1, 4, 12, 12)


@pytest.mark.parametrize("size", [128, 256])
def test_dysample_sampling_grid_stays_fp32_under_bf16_autocast(size):
    # a bf16 grid has an 8-bit mantissa: at 256 -> 512 px it misplaced samples by 2.5 output pixels
    torch.manual_seed(0)
    up = DySample(2, 8, groups=4)
    x = torch.randn(1, 8, size, size).bfloat16()
    offsets = up.offset(x.float()) * 0.25
    reference = up.sampling_grid(x.float(), offsets)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        grid = up.sampling_grid(x, offsets.bfloat16())
        out = up(x)
    assert grid.dtype == torch.float32 and out.dtype == torch.bfloat16
    offset_rounding = (offsets - offsets.bfloat16().float()).abs().max() * 2 / size
    assert (grid - reference).abs().max() <= offset_rounding + 1e-6  # no error beyond the offsets' own rounding
    assert (grid - reference).abs().max() * size / 2 < 1e-3  # in input pixels
