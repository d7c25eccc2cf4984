"""DiffAugment: geometric, intensity-preserving, differentiable, training-mode only."""

import pytest
import torch

from common.methods import make_method
from common.ops.diff_augment import DiffAugment, diff_augment


@pytest.mark.parametrize("shape", [(3, 2, 32, 40), (2, 1, 8, 16, 12)])
def test_translation_shifts_whole_pixels_and_keeps_values(shape):
    torch.manual_seed(0)
    x = torch.rand(shape) + 1.0  # no zeros in the image: zeros in the output come from the padding only
    y = diff_augment(x, "translation")
    assert y.shape == x.shape
    for xi, yi in zip(x, y, strict=True):
        inside = yi[yi > 0]
        # every kept value is one of the input's (a shift, not a resampling), and most of the image is kept
        assert torch.isin(inside, xi).all() and inside.numel() >= 0.5 * xi.numel()


def test_cutout_zeroes_one_box_and_passes_gradients_elsewhere():
    torch.manual_seed(1)
    x = (torch.rand(2, 3, 32, 32) + 0.5).requires_grad_(True)
    y = diff_augment(x, "cutout")
    zero = y == 0
    assert 0.2 < zero.float().mean() < 0.3  # a 16x16 box of 32x32 per sample, in every channel
    assert torch.equal(zero[:, 0], zero[:, 1])
    y.sum().backward()
    assert torch.equal(x.grad == 0, zero) and torch.all(x.grad[~zero] == 1)


def test_module_is_the_identity_in_eval_mode_or_without_a_policy():
    x = torch.rand(1, 1, 16, 16)
    assert DiffAugment(None)(x) is x and DiffAugment("none")(x) is x
    augment = DiffAugment("translation,cutout").eval()
    assert augment(x) is x
    assert augment.train()(x).shape == x.shape


def test_unknown_operation_is_refused():
    with pytest.raises(ValueError, match="translation"):
        DiffAugment("color")


def test_methods_judge_augmented_images_when_asked():
    seen = []
    method = make_method(
        "cyclegan", hyperparameters={"ngf": 4, "n_blocks": 1, "ndf": 4}, addons={"augment_d": "cutout"}
    ).train()
    method.disc_b.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    x = torch.rand(1, 1, 32, 32) + 0.5
    method.judge(method.disc_b, x)
    assert (seen[-1] == 0).any() and method.hyperparameters()["augment_d"] == "cutout"
    plain = make_method("cyclegan", hyperparameters={"ngf": 4, "n_blocks": 1, "ndf": 4}).train()
    plain.disc_b.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    plain.judge(plain.disc_b, x)
    assert seen[-1] is x and plain.hyperparameters()["augment_d"] == "none"
