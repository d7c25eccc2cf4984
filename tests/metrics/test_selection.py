"""Model-selection criteria: the fitted PSNR ignores intensity scale, and the unsupervised criterion is not fooled
by near-identity, inverted, flat or steganographic outputs."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from common.data import list_images
from common.engines import SelectionNetwork, reference_images, validation_items
from common.metrics.review import review_scores
from common.metrics.selection import RealismReference, cycle_error, fitted_pcc, fitted_psnr
from common.ops.dct import dct_lowpass
from common.phantoms import make_phantoms


@pytest.fixture(scope="module")
def denoising(tmp_path_factory):
    root = tmp_path_factory.mktemp("den")
    make_phantoms("denoising", root, n_train=3, n_test=1, n_val=2, size=64)
    return root


def test_fitted_psnr_ignores_scale_and_offset(rng):
    target = torch.as_tensor(rng.random((2, 32, 32)), dtype=torch.float32)
    noisy = target + 0.05 * torch.as_tensor(rng.standard_normal((2, 32, 32)), dtype=torch.float32)
    base = fitted_psnr(noisy, target)
    assert 20 < base < 40
    assert fitted_psnr(3.0 * noisy - 7.0, target) == pytest.approx(base, abs=1e-6)
    assert fitted_psnr(target, target) > 100
    assert fitted_pcc(-noisy, target) == pytest.approx(-fitted_pcc(noisy, target))


def test_fitted_psnr_never_prefers_an_inverted_translation(rng):
    """Selection's fit keeps the gain non-negative: an inverted translation scores as a flat one (its mean), and one
    inverted channel of two scores below a noisy upright pair, where a free slope would score full inversion as
    perfect."""
    target = torch.as_tensor(rng.random((2, 32, 32)), dtype=torch.float32)
    noisy = target + 0.3 * torch.as_tensor(rng.standard_normal((2, 32, 32)), dtype=torch.float32)
    assert fitted_psnr(1.0 - target, target) == pytest.approx(fitted_psnr(torch.full_like(target, 0.3), target))
    inverted_channel = torch.stack([1.0 - target[0], target[1]])
    assert fitted_psnr(noisy, target) > fitted_psnr(inverted_channel, target)


def test_fitted_psnr_fits_all_channels_at_once_as_the_review_does(rng):
    """One gain and offset for all channels: a translation with the right structure but the wrong balance between
    channels (an H&E of the wrong colour) scores below the right balance, and the score is the review's."""
    target = torch.as_tensor(rng.random((3, 32, 32)), dtype=torch.float32)
    noisy = target + 0.05 * torch.as_tensor(rng.standard_normal((3, 32, 32)), dtype=torch.float32)
    wrong_colour = noisy * torch.tensor([3.0, 1.0, 0.2]).reshape(3, 1, 1)
    assert fitted_psnr(noisy, target) > fitted_psnr(wrong_colour, target) + 3
    review = review_scores(noisy.permute(1, 2, 0).numpy(), target.permute(1, 2, 0).numpy())
    assert fitted_psnr(noisy, target) == pytest.approx(review["psnr"], abs=1e-4)


def test_review_scores_match_the_fit_and_baseline(rng):
    ref = rng.random((40, 40))
    scores = review_scores(5 * ref + 2, ref)
    assert scores["psnr"] > 100 and scores["ssim"] == pytest.approx(1.0) and scores["pcc"] == pytest.approx(1.0)
    inverted = review_scores(1 - ref, ref)
    assert inverted["pcc"] == pytest.approx(-1.0) and inverted["psnr"] > 100  # the fit hides inversion: PCC tells


def test_review_scores_a_thin_nifti_slab_plane_by_plane(rng):
    """A NIfTI slab ``(X, Y, Z)`` of 5 slices: SSIM over its 5 axial planes (the first axis would give 40x5 planes,
    narrower than SSIM's window), equal to the score of the same stack in ``(Z, Y, X)`` order."""
    ref = rng.random((40, 40, 5))
    noisy = ref + 0.1 * rng.standard_normal(ref.shape)
    slab = review_scores(noisy, ref)
    stack = review_scores(np.moveaxis(noisy, -1, 0), np.moveaxis(ref, -1, 0))
    assert slab == pytest.approx(stack)
    assert 0 < slab["ssim"] < 1


def test_validation_uses_the_validation_split_never_the_test_set(denoising, tmp_path):
    items = validation_items(denoising, spatial_dims=2, size=(32, 32), slices_per_image=1)
    assert len(items) == 2  # the two valA stacks, one slice each
    test_names = {p.rsplit("/", 1)[-1] for p in list_images(denoising / "testA")}
    assert not test_names & {p.rsplit("/", 1)[-1] for p in list_images(denoising / "valA")}
    make_phantoms("denoising", tmp_path, n_train=2, n_test=1, n_val=0, size=32)
    fallback = validation_items(tmp_path, spatial_dims=2, slices_per_image=1)
    assert len(fallback) == 2 and all(torch.equal(i["image"], i["label"]) for i in fallback)  # trainA, no truth


def test_realism_ranks_the_truth_above_identity_inversion_and_flat_outputs(denoising):
    reference = RealismReference(reference_images(denoising, 2, size=(64, 64), max_images=3, slices_per_image=3))
    items = validation_items(denoising, 2, size=(64, 64), slices_per_image=3)
    truth = [reference.realism(i["label"]) for i in items]
    identity = [reference.realism(i["image"].clamp(-1, 3)) for i in items]
    inverted = [reference.realism(1.0 - i["label"]) for i in items]
    flat = [reference.realism(torch.full_like(i["label"], float(i["label"].mean()))) for i in items]
    worst_truth = max(truth)
    assert worst_truth < min(identity) and worst_truth < min(inverted) and worst_truth < min(flat)
    assert all(math.isfinite(v) for v in truth + identity + inverted + flat)


class _Steganographer(nn.Module):
    """A two-sided 'method' whose translation is a fixed realistic image carrying its input in a faint
    checkerboard-modulated copy, which the reverse generator demodulates: a perfect plain cycle."""

    def __init__(self, realistic: torch.Tensor):
        super().__init__()
        self.spatial_dims, self.dct_cutoff = 2, 1.0
        self.trains_cycle = True  # its cycle is what it was made for
        self.register_buffer("realistic", realistic)
        y, x = torch.meshgrid(torch.arange(realistic.shape[-2]), torch.arange(realistic.shape[-1]), indexing="ij")
        self.register_buffer("carrier", ((x + y) % 2 * 2 - 1).float())
        self.generator_ab = lambda a: self.realistic + 1e-3 * self.carrier * a
        self.generator_ba = lambda b: (b - self.realistic) * self.carrier / 1e-3


def test_the_cycle_through_the_low_pass_exposes_steganography(denoising):
    item = validation_items(denoising, 2, size=(64, 64), slices_per_image=1)[0]
    a, b = item["image"][None], item["label"][None]
    method = _Steganographer(b)
    plain = method.generator_ba(method.generator_ab(a))
    assert cycle_error(plain[0], a[0]) < 1e-3  # fools the plain cycle
    output = SelectionNetwork(method)(a)
    assert output.shape[1] == 2
    assert cycle_error(output[0, 1:], a[0]) > 0.5  # not the cycle through the low-pass
    torch.testing.assert_close(output[0, :1], method.generator_ab(a)[0])
    honest = dct_lowpass(a, 0.5, 2)
    assert cycle_error(honest[0], a[0]) < cycle_error(output[0, 1:], a[0])
