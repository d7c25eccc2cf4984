"""DCT low-pass, image pool, schedules and scale augmentation."""

import math

import pytest
import torch

from common.ops import (
    DCTLowPass,
    ExponentialDecay,
    ImagePool,
    LinearDecay,
    RandScaleAugment,
    SigmoidRamp,
    dct_lowpass,
    dct_matrix,
    high_frequency_fraction,
)


def _basis(shape, k):
    """A separable DCT-II basis image with frequency index k along every spatial axis."""
    out = torch.ones(shape, dtype=torch.float64)
    for axis, n in enumerate(shape[2:]):
        i = torch.arange(n, dtype=torch.float64)
        profile = torch.cos(math.pi * min(k, n - 1) * (i + 0.5) / n)
        out = out * profile.reshape([-1] + [1] * (len(shape) - 3 - axis))
    return out


def _smooth(shape):
    return 1.0 + _basis(shape, 1) + 0.5 * _basis(shape, 2)


def test_dct_matrix_is_orthonormal():
    m = dct_matrix(13, dtype=torch.float64)
    torch.testing.assert_close(m @ m.T, torch.eye(13, dtype=torch.float64))


@pytest.mark.parametrize("shape, spatial_dims", [((2, 1, 32, 24), 2), ((1, 2, 8, 16, 12), 3)])
def test_dct_lowpass_removes_hidden_high_frequency_and_keeps_smooth_images(shape, spatial_dims):
    smooth = _smooth(shape)
    torch.testing.assert_close(dct_lowpass(smooth, 0.5, spatial_dims), smooth, atol=1e-9, rtol=0)
    hidden = _basis(shape, max(shape[2:]))  # the highest frequency of each axis
    stego = smooth + 0.02 * hidden  # a low-amplitude steganographic pattern
    torch.testing.assert_close(dct_lowpass(stego, 0.5, spatial_dims), smooth, atol=1e-9, rtol=0)
    assert float(high_frequency_fraction(stego, 0.5, spatial_dims).min()) > 1e-5
    assert float(high_frequency_fraction(smooth, 0.5, spatial_dims).max()) < 1e-12
    checker = sum(torch.arange(s).reshape([-1] + [1] * (len(shape) - 3 - i)) for i, s in enumerate(shape[2:])) % 2
    pattern = 0.02 * (2.0 * checker - 1.0)
    residual = dct_lowpass(smooth + pattern, 0.5, spatial_dims) - smooth
    assert float(residual.pow(2).sum()) < 0.05 * float(pattern.pow(2).sum())  # most of a checkerboard goes


def test_dct_module_is_differentiable_and_validates():
    x = torch.randn(1, 1, 16, 16, requires_grad=True)
    DCTLowPass(0.25)(x).pow(2).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="cutoff"):
        DCTLowPass(0.0)


def test_image_pool_fills_then_swaps_with_the_promised_probability():
    pool = ImagePool(size=4, seed=1)
    first = torch.arange(4.0).reshape(4, 1, 1, 1)
    torch.testing.assert_close(pool.query(first), first)  # filling: returned as given
    assert len(pool) == 4
    returned_old, n = 0, 2000
    for i in range(n):
        new = torch.full((1, 1, 1, 1), 100.0 + i)
        out = pool.query(new)
        returned_old += int(out.item() != new.item())
        assert len(pool) == 4
    assert abs(returned_old / n - 0.5) < 0.05
    stored = {float(v) for v in torch.cat(pool.images).flatten()}
    assert all(v >= 100 for v in stored)  # old images were swapped out over time


def test_image_pool_state_round_trip_continues_identically():
    a = ImagePool(size=3, seed=7)
    for i in range(5):
        a.query(torch.full((2, 1, 2, 2), float(i)))
    b = ImagePool(size=3, seed=0)
    b.load_state_dict(a.state_dict())
    for i in range(5, 12):
        x = torch.full((2, 1, 2, 2), float(i))
        torch.testing.assert_close(a.query(x), b.query(x))
    assert ImagePool(0).query(torch.ones(2, 1, 2, 2)).shape == (2, 1, 2, 2)


def test_schedules():
    ramp = SigmoidRamp(1.0, 10.0, 100)
    values = [ramp(s) for s in range(0, 101, 10)]
    assert values[0] == pytest.approx(1.0) and values[-1] == pytest.approx(10.0)
    assert all(b >= a for a, b in zip(values, values[1:], strict=False)) and ramp(200) == pytest.approx(10.0)
    assert values[5] == pytest.approx(5.5, abs=0.1)  # midpoint
    decay = LinearDecay(total=200, decay_start=100)
    assert decay(0) == decay(99) == 1.0 and decay(150) == pytest.approx(0.5) and decay(200) == 0.0
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, decay)
    for _ in range(150):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert ExponentialDecay(1.0, 0.5, every=10)(20) == pytest.approx(0.25)


def test_scale_augment_applies_one_factor_to_all_inputs_in_range():
    aug = RandScaleAugment(0.75, 1.5, seed=3)
    sizes = set()
    for _ in range(30):
        a, b = aug(torch.randn(1, 1, 40, 40), torch.randn(1, 2, 40, 40))
        assert a.shape[-2:] == b.shape[-2:]
        assert 30 <= a.shape[-1] <= 60
        sizes.add(a.shape[-1])
    assert len(sizes) > 5
    x = torch.randn(1, 1, 20, 20, requires_grad=True)
    aug(x)[0].sum().backward()
    assert x.grad is not None
    aug.eval()
    assert aug(x)[0].shape == x.shape


def test_dct_lowpass_runs_in_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    x = torch.randn(1, 1, 64, 64)
    reference = dct_lowpass(x, 0.5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        filtered = dct_lowpass(x, 0.5)
    assert filtered.dtype == torch.float32
    assert torch.allclose(filtered, reference, atol=1e-5)
    # a bf16 input is filtered in fp32 and handed back in bf16: only the output's own rounding remains
    filtered_bf16 = dct_lowpass(x.bfloat16(), 0.5)
    assert filtered_bf16.dtype == torch.bfloat16
    exact = dct_lowpass(x.bfloat16().float(), 0.5)
    assert (filtered_bf16.float() - exact).abs().max() <= exact.abs().max() * 2**-8
