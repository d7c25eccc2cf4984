"""The polarity hinge: zero for the right sign, positive and differentiable for the wrong one, blind to
within-block contrast changes."""

import pytest
import torch

from common.losses import low_resolution_correlation, polarity_loss


def _blobs(size=64):
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    centres = [(16, 16), (40, 20), (24, 48), (50, 50)]
    return sum(torch.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 40.0) for cx, cy in centres)[None, None].float()


def test_right_sign_costs_nothing_and_inversion_costs():
    a = _blobs()
    assert float(polarity_loss(a, 3 * a + 1)) == 0.0
    assert float(polarity_loss(a, 1 - a)) == pytest.approx(1.0, abs=1e-3)
    assert float(polarity_loss(a, 1 - a, polarity=-1)) == 0.0
    fake = (1 - a).requires_grad_(True)
    polarity_loss(a, fake).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_rim_to_filled_cell_keeps_positive_polarity():
    """A cytosolic rim (A) and a filled nucleus (B) at the same place: opposite pixel contrast inside the cell,
    the same sign once averaged over 8-pixel blocks."""
    y, x = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    r = ((x - 32) ** 2 + (y - 32) ** 2).float().sqrt()
    rim = ((r > 6) & (r < 12)).float()[None, None]
    filled = (r < 6).float()[None, None]
    assert float(low_resolution_correlation(rim, filled, block=1)) < 0  # pixel-wise: anti-correlated
    assert float(low_resolution_correlation(rim, filled)) > 0.5
    assert float(polarity_loss(rim, filled)) == 0.0


def test_channels_and_3d():
    a = torch.rand(2, 1, 16, 16, 16)
    two = torch.cat([a, 2 * a], dim=1)
    torch.testing.assert_close(low_resolution_correlation(a, two, block=4), torch.ones(2), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="polarity"):
        polarity_loss(a, a, polarity=0)


def test_margin_charges_a_weak_layout_and_spares_the_right_one():
    """With a margin the hinge is a structure anchor: blobs moved away from the input's pay (their coarse
    correlation is low although positive), the same blobs in place pay nothing."""
    a = _blobs()
    moved = torch.roll(a, shifts=(9, 13), dims=(2, 3))
    weak = float(low_resolution_correlation(a, moved))
    assert -0.5 < weak < 0.5
    assert float(polarity_loss(a, moved, margin=0.6)) == pytest.approx(0.6 - weak, abs=1e-5)
    assert float(polarity_loss(a, 2 * a + 0.1, margin=0.6)) == 0.0
    assert float(polarity_loss(a, moved)) <= max(0.0, -weak) + 1e-6  # without margin only a wrong sign pays
    fake = moved.clone().requires_grad_(True)
    polarity_loss(a, fake, margin=0.6).backward()
    assert fake.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="margin"):
        polarity_loss(a, a, margin=1.0)


def test_per_channel_catches_one_inverted_channel_of_two():
    """An unmixing whose second marker comes out inverted: the channels' mean can keep the input's polarity (the
    first channel dominates), each channel on its own cannot."""
    a = _blobs()
    unmixed = torch.cat([2.0 * a, 1.0 - 0.5 * a], dim=1)
    assert float(polarity_loss(a, unmixed)) == 0.0
    per_channel = float(polarity_loss(a, unmixed, per_channel=True))
    assert per_channel == pytest.approx(0.5, abs=1e-3)  # the inverted channel's hinge (1.0), averaged over two
    assert float(polarity_loss(a, torch.cat([a, 3 * a], dim=1), per_channel=True)) == 0.0
    assert float(polarity_loss(a, unmixed, block=1, per_channel=True)) == pytest.approx(0.5, abs=1e-3)
    with pytest.raises(ValueError, match="block"):
        polarity_loss(a, a, block=0)


def test_per_channel_margin_binds_the_mean_and_only_the_sign_of_each_channel():
    """A sparse second marker (one of the four blobs) correlates weakly with the mixture: with a margin the channels'
    mean must follow the input closely, but the weak marker on its own pays nothing as long as its sign is right."""
    a = _blobs()
    y, x = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    sparse = torch.exp(-((x - 50) ** 2 + (y - 50) ** 2) / 40.0)[None, None].float()
    weak = float(low_resolution_correlation(a, sparse))
    assert 0.0 < weak < 0.9
    unmixed = torch.cat([a, 0.1 * sparse], dim=1)
    assert float(polarity_loss(a, unmixed, margin=0.9, per_channel=True)) == 0.0
    inverted = torch.cat([a, -0.1 * sparse], dim=1)  # the mean still follows the input; the marker is inverted
    assert float(polarity_loss(a, inverted, margin=0.9)) == 0.0
    assert float(polarity_loss(a, inverted, margin=0.9, per_channel=True)) == pytest.approx(weak / 2, abs=1e-3)
