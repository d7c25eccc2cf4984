import pytest
import torch

from common.losses import (
    FAKE,
    IDENTITY,
    REAL,
    GANLoss,
    PatchNCELoss,
    PatchSampleMLP,
    fsesim_loss,
    npair_contrastive_loss,
    saliency_consistency_loss,
    stacked_domain_loss,
)


def test_gan_losses_prefer_correct_predictions():
    for mode, (real, fake) in {"lsgan": (1.0, 0.0), "vanilla": (3.0, -3.0), "hinge": (3.0, -3.0)}.items():
        good_real, bad_real = torch.full((1, 1, 4, 4), real), torch.full((1, 1, 4, 4), fake)
        loss = GANLoss(mode)
        assert loss(good_real, True) < loss(bad_real, True)
        assert loss(bad_real, False) < loss(good_real, False)
        assert loss(good_real, for_discriminator=False) < loss(bad_real, for_discriminator=False)
    assert GANLoss("lsgan")(torch.ones(1, 1, 2, 2), True) == 0
    assert GANLoss("lsgan")(torch.zeros(1, 1, 2, 2), False) == 0
    assert GANLoss("hinge")(torch.full((1, 1, 2, 2), 2.0), True) == 0
    with pytest.raises(ValueError, match="mode"):
        GANLoss("wgan")


def test_gan_loss_accepts_monai_feature_lists_and_scales():
    loss = GANLoss("lsgan")
    features = [torch.randn(1, 8, 4, 4), torch.ones(1, 1, 2, 2)]
    assert loss(features, True) == 0
    assert loss([features, [torch.randn(2), torch.zeros(1, 1, 1, 1)]], True) == pytest.approx(0.5)


def test_stacked_domain_loss_is_class_cross_entropy():
    logits = torch.zeros(2, 3, 4, 4)
    logits[:, FAKE] = 10.0
    assert stacked_domain_loss(logits, FAKE) < 1e-3
    assert stacked_domain_loss(logits, REAL) > 5 and stacked_domain_loss(logits, IDENTITY) > 5
    with pytest.raises(ValueError):
        stacked_domain_loss(logits, 3)


def test_patchnce_is_lower_for_identical_than_shuffled_features():
    torch.manual_seed(0)
    feats = [torch.randn(2, 16, 12, 12), torch.randn(2, 32, 6, 6)]
    head = PatchSampleMLP([16, 32], embed_dim=64, num_patches=32)
    loss = PatchNCELoss(0.07)
    keys, ids = head(feats)
    same, _ = head(feats, ids)
    shuffled_feats = [f.flatten(2)[..., torch.randperm(f[0, 0].numel())].reshape(f.shape) for f in feats]
    shuffled, _ = head(shuffled_feats, ids)
    assert loss(same, keys) < 0.5 * loss(shuffled, keys)
    assert loss(same, keys) < 0.1  # identical patches pick their positive
    loss(shuffled, keys).backward()
    assert all(p.grad is not None for p in head.parameters())


def test_npair_contrastive_prefers_matching_locations():
    z = torch.randn(1, 32, 8, 8)
    assert npair_contrastive_loss(z, z) < npair_contrastive_loss(z, z.flip(-1))
    assert npair_contrastive_loss(z, z + 0.01 * torch.randn_like(z)) < 0.5


def test_saliency_consistency_sees_inverted_foreground():
    x = torch.zeros(1, 1, 16, 16)
    x[..., 4:12, 4:12] = 1.0
    assert saliency_consistency_loss(x, 0.8 * x, 0.5, 0.4) < 0.01
    assert saliency_consistency_loss(x, 1.0 - x, 0.5, 0.5) > 0.9


def test_fsesim_ignores_appearance_but_sees_structure():
    torch.manual_seed(1)
    f = torch.randn(1, 8, 16, 16)
    same_structure = 3.0 * f + 0.0  # new appearance (scale) but same self-similarity
    moved = torch.roll(f, shifts=3, dims=-1)
    g = torch.Generator().manual_seed(0)
    assert fsesim_loss(f, same_structure, generator=g) < 1e-5
    assert fsesim_loss(f, moved, generator=torch.Generator().manual_seed(0)) > 0.1
    assert fsesim_loss(f, moved, distance="cosine", generator=torch.Generator().manual_seed(0)) > 0.05


def test_laplace_likelihood_is_lowest_where_the_scale_is_the_error():
    from common.losses import laplace_nll

    error = torch.tensor([[[[0.01, 0.1], [1.0, 3.0]]]])
    log_scale = torch.zeros_like(error, requires_grad=True)
    optimizer = torch.optim.SGD([log_scale], lr=0.5)
    for _ in range(300):
        optimizer.zero_grad()
        laplace_nll(error, log_scale).backward()
        optimizer.step()
    torch.testing.assert_close(torch.exp(log_scale.detach()), error, rtol=0.02, atol=1e-4)
    with pytest.raises(ValueError, match="shapes differ"):
        laplace_nll(error, torch.zeros(1, 1, 2, 3))
