"""Add-ons every method takes: the identity warm-up (weight, decay, skipped across channel counts), the polarity
hinge in the generator step and its margin, and STABLE's instance norm behaving the same in training and inference
at batch 1."""

import pytest
import torch

from common.methods import STABLE, make_method
from common.methods.base import mixture_pair

TINY_STABLE = {"channels": (4, 8), "n_info": 3, "ndf": 4}


def test_identity_warmup_decays_to_zero_and_pulls_towards_the_input():
    method = make_method("stable", 2, 1, 1, TINY_STABLE, {"identity_warmup": 10, "lambda_warmup": 4.0})
    assert method.warmup_weight(0) == 4.0 and method.warmup_weight(5) == 2.0 and method.warmup_weight(10) == 0.0
    a, b = torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16)
    early, late = method.generator_step(a, b, 0), method.generator_step(a, b, 10)
    assert "G_warmup" in early.terms and "G_warmup" not in late.terms
    expected = 4.0 * ((early.images["fake_B"] - a).abs().mean() + (early.images["fake_A"] - b).abs().mean())
    torch.testing.assert_close(early.terms["G_warmup"], expected.detach())
    unmixing = make_method("stable", 2, 1, 2, TINY_STABLE, {"identity_warmup": 10})
    assert unmixing.warmup_weight(0) == 0.0  # no identity between one and two channels


def test_mixture_warmup_pulls_the_mean_of_the_unmixed_channels_towards_the_mixture():
    method = make_method("stable", 2, 1, 2, TINY_STABLE, {"identity_warmup": 10, "warmup_mixture": True})
    assert method.warmup_weight(0) == 5.0 and method.warmup_weight(10) == 0.0
    torch.manual_seed(0)
    a, b = torch.rand(1, 1, 16, 16), torch.rand(1, 2, 16, 16)
    out = method.generator_step(a, b, 0)
    fake_b, fake_a = out.images["fake_B"], out.images["fake_A"]
    assert fake_b.shape[1] == 2 and fake_a.shape[1] == 1

    def fitted(mean, one):  # the least-squares gain from the channels' mean to the one-channel image, in [0.1, 10]
        return ((mean * one).sum() / (mean * mean).sum()).clamp(0.1, 10.0) * mean

    # the translated channels' mean against the mixture; the one-channel translation against the channels' mean
    mixture_b, mixture_real_b = fake_b.mean(1, keepdim=True), b.mean(1, keepdim=True)
    expected = 5.0 * ((fitted(mixture_b, a) - a).abs().mean() + (fitted(mixture_real_b, fake_a) - fake_a).abs().mean())
    torch.testing.assert_close(out.terms["G_warmup"], expected.detach())
    three_to_two = make_method("stable", 2, 3, 2, TINY_STABLE, {"identity_warmup": 10, "warmup_mixture": True})
    assert three_to_two.warmup_weight(0) == 0.0  # neither side is a one-channel mixture


def test_mixture_pair_frees_the_scale_and_binds_the_background():
    mixture = torch.rand(2, 1, 16, 16)
    markers = torch.cat([0.3 * mixture, 0.2 * mixture], dim=1)  # proportional: their mean is a quarter of the mixture
    fitted, one = mixture_pair(markers, mixture)
    torch.testing.assert_close(fitted, mixture)  # any gain is free
    assert one is mixture
    lifted = markers + torch.tensor([0.0, 0.5]).view(1, 2, 1, 1)  # a marker with a bright background everywhere
    fitted, _ = mixture_pair(mixture, lifted)
    assert (fitted - mixture).abs().mean() > 0.05  # no gain explains an offset
    inverted = torch.cat([mixture, 1.0 - mixture], dim=1)  # one marker inverted: the mean is flat
    fitted, _ = mixture_pair(inverted, mixture)
    assert (fitted - mixture).abs().mean() > 0.1
    same = torch.rand(2, 3, 8, 8)
    assert mixture_pair(same, same) == (same, same)  # channels that match are compared as they are


def test_polarity_term_in_the_generator_step():
    method = make_method(
        "cyclegan", 2, 1, 1, {"ngf": 4, "n_blocks": 1, "ndf": 4}, {"lambda_polarity": 1.0, "polarity": 1}
    )
    out = method.generator_step(torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32), 0)
    assert "G_polarity" in out.terms and 0.0 <= float(out.terms["G_polarity"]) <= 2.0
    with pytest.raises(ValueError, match="polarity"):
        make_method("cyclegan", 2, 1, 1, {"ngf": 4, "n_blocks": 1, "ndf": 4}, {"polarity": 2})


def test_polarity_margin_is_an_addon_of_every_method():
    torch.manual_seed(1)
    a, b = torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32)
    addons = {"lambda_polarity": 1.0, "polarity": 1}
    plain = make_method("stable", 2, 1, 1, TINY_STABLE, addons)
    anchored = make_method("stable", 2, 1, 1, TINY_STABLE, addons | {"polarity_margin": 0.9})
    anchored.load_state_dict(plain.state_dict())
    torch.manual_seed(0)
    low = plain.generator_step(a, b, 0).terms["G_polarity"]
    torch.manual_seed(0)
    high = anchored.generator_step(a, b, 0).terms["G_polarity"]
    assert float(high) > float(low) and anchored.hyperparameters()["polarity_margin"] == 0.9
    with pytest.raises(ValueError, match="polarity_margin"):
        make_method("stable", 2, 1, 1, TINY_STABLE, addons | {"polarity_margin": -0.1})


@pytest.mark.parametrize("norm, same", [("instance", True), ("none", True), ("batch", False)])
def test_stable_norm_train_and_eval_agree_at_batch_one(norm, same):
    torch.manual_seed(0)
    generator = STABLE(2, 1, 1, n_info=3, channels=(8, 16), norm=norm).generator_ab
    x = 5.0 * torch.rand(1, 1, 32, 32) + 2.0  # far from the running statistics' initial 0 / 1
    with torch.no_grad():
        generator.train()
        train = generator(x)
        generator.eval()
        inference = generator(x)
    assert torch.allclose(train, inference, atol=1e-5) is same


@pytest.mark.parametrize(
    "task, margin", [("calcium", 0.6), ("denoising", 0.9), ("if_unmixing", 0.9), ("mri_t2_pd", 0.0)]
)
def test_bundles_anchor_the_layout_where_it_was_measured(task, margin):
    """calcium, if_unmixing and denoising train every method with a margin; others do not."""
    import json
    from pathlib import Path

    from monai.bundle import ConfigParser

    import common

    config = json.loads((Path(common.PROJECT_ROOT) / "bundles" / task / "configs" / "train.json").read_text())
    for method in ("stable", "cyclegan"):
        parser = ConfigParser(config)
        parser["data_root"], parser["method"] = "unused", method
        if method == "cyclegan":
            parser["hyperparameters#cyclegan"] = {"ngf": 4, "n_blocks": 1, "ndf": 4}
        built = parser.get_parsed_content("method_def")
        assert built.polarity_margin == margin and built.polarity == 1 and built.lambda_polarity == 1.0


@pytest.mark.parametrize("name", ["ui2i", "cyclegan"])
def test_mixing_term_in_the_generator_step_of_an_unmixing(name):
    """``lambda_mixing``: the input must be a non-negative mix of the translated channels (and the reverse
    translation a mix of the real B channels); off by default; B with more than 4 channels is refused."""
    tiny = {"ui2i": {"features": [4, 8, 16], "ndf": 4, "content_hidden": 4}, "cyclegan": {"ngf": 4, "n_blocks": 1}}
    a, b = torch.rand(1, 1, 32, 32), torch.rand(1, 2, 32, 32)
    method = make_method(name, 2, 1, 2, tiny[name], {"lambda_mixing": 2.0})
    out = method.generator_step(a, b, 0)
    assert 0.0 <= float(out.terms["G_mixing"]) <= 4.0  # two directions, each in [0, 1], weight 2
    assert method.hyperparameters()["lambda_mixing"] == 2.0
    assert "G_mixing" not in make_method(name, 2, 1, 2, tiny[name]).generator_step(a, b, 0).terms
    with pytest.raises(ValueError, match="at most 4 channels"):
        make_method(name, 2, 1, 5, tiny[name], {"lambda_mixing": 1.0})
    with pytest.raises(ValueError, match="lambda_mixing must be non-negative"):
        make_method(name, 2, 1, 2, tiny[name], {"lambda_mixing": -1.0})
