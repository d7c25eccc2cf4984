"""Neighbor2Neighbor: neighbouring sub-images, a loss that a denoiser lowers and an identity does not, training
from noisy images alone that removes noise, and the add-on every method takes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from common.losses.neighbor2neighbor import neighbor2neighbor_loss, neighbor_subsample
from common.methods import make_method


def _scene(n=4, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, size // 8, size // 8, generator=g)
    clean = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return clean, clean + 0.2 * torch.randn(clean.shape, generator=g)


def test_sub_images_take_two_adjacent_pixels_of_every_cell():
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    first, second, index = neighbor_subsample(x, generator=torch.Generator().manual_seed(0))
    assert first.shape == second.shape == (2, 3, 2, 3) and index.shape == (2, 2, 2, 3)
    picks = index[:, 0] ^ index[:, 1]
    assert set(picks.unique().tolist()) <= {1, 2}  # a horizontal or vertical neighbour, never the pixel itself
    # every channel takes the same pixel, inside its own 2 x 2 cell
    for n in range(2):
        for i in range(2):
            for j in range(3):
                k = int(index[n, 0, i, j])
                assert torch.equal(first[n, :, i, j], x[n, :, 2 * i + k // 2, 2 * j + k % 2])
    again = neighbor_subsample(x, index)
    assert torch.equal(again[0], first) and torch.equal(again[1], second)
    with pytest.raises(ValueError, match="even"):
        neighbor_subsample(x[..., :5])


def test_the_translation_s_intensity_scale_is_free_and_its_sign_is_not():
    _, noisy = _scene()
    blur = nn.Conv2d(1, 1, 3, padding=1, bias=False, padding_mode="replicate")
    with torch.no_grad():
        blur.weight.fill_(1 / 9)

    def rescaled(x):
        return 3.0 * blur(x) + 1.0

    with torch.no_grad():
        first, second = (
            neighbor2neighbor_loss(f, noisy, generator=torch.Generator().manual_seed(0)) for f in (blur, rescaled)
        )
        unfitted = neighbor2neighbor_loss(
            rescaled, noisy, fit_intensity=False, generator=torch.Generator().manual_seed(0)
        )
        inverted = neighbor2neighbor_loss(lambda x: -blur(x), noisy, generator=torch.Generator().manual_seed(0))
    assert float(first) == pytest.approx(float(second), rel=1e-4)
    assert unfitted > 10 * first
    assert inverted > 3 * first  # the scale is free, the sign is not


def _fitted_error(pred, clean):
    design = torch.stack([pred.flatten(), torch.ones(pred.numel())], 1)
    coef = torch.linalg.lstsq(design, clean.flatten()[:, None]).solution
    return F.mse_loss((design @ coef).reshape(clean.shape), clean)


@pytest.mark.parametrize("fit", [False, True])
def test_training_on_noisy_images_alone_removes_noise(fit):
    clean, noisy = _scene(n=8, seed=1)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 1, 3, padding=1))
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(150):
        loss = neighbor2neighbor_loss(net, noisy, fit_intensity=fit)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        error = _fitted_error(net(noisy), clean) if fit else F.mse_loss(net(noisy), clean)
    assert error < 0.5 * F.mse_loss(noisy, clean)  # at least 3 dB cleaner, never having seen a clean pixel


def test_every_method_takes_the_add_on():
    real_a, real_b = torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32)
    method = make_method(
        "cyclegan",
        hyperparameters={"ngf": 4, "n_blocks": 1, "ndf": 4},
        addons={"lambda_selfsup": 3.0},
    )
    terms = method.generator_step(real_a, real_b, step=0).terms
    assert "G_selfsup" in terms and terms["G_selfsup"] > 0
    assert (
        "G_selfsup"
        not in make_method("cyclegan", hyperparameters={"ngf": 4, "n_blocks": 1})
        .generator_step(real_a, real_b, step=0)
        .terms
    )
    with pytest.raises(ValueError, match="lambda_selfsup needs 2D images"):
        make_method("cyclegan", channels_b=3, addons={"lambda_selfsup": 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        make_method("cyclegan", addons={"lambda_selfsup": -1.0})
