"""A few iterations of every method on tiny phantom patches: finite losses, and both G and D are updated."""

import pytest
import torch
from ignite.engine import Events
from monai.data import DataLoader

from common.data import make_unpaired_dataset
from common.engines import UnpairedTrainer
from common.methods import METHODS, make_method
from common.phantoms import make_phantoms

TINY = {
    "cyclegan": {"ngf": 4, "n_blocks": 1, "ndf": 4},
    "utom": {"ngf": 4, "n_blocks": 1, "ndf": 4},
    "ui2i": {"features": (4, 8, 16), "ndf": 4, "content_hidden": 8},
    "stable": {"channels": (4, 8), "n_info": 3, "ndf": 4},
    "cut": {"ngf": 4, "n_blocks": 1, "ndf": 4, "num_patches": 16, "embed_dim": 16},
    "fastcut": {"ngf": 4, "n_blocks": 1, "ndf": 4, "num_patches": 16, "embed_dim": 16},
}
THREE_D = ["cyclegan", "ui2i", "stable", "cut"]


@pytest.fixture(scope="module")
def calcium(tmp_path_factory):
    root = tmp_path_factory.mktemp("cal")
    make_phantoms("calcium", root, n_train=2, n_test=1, size=32)
    return root


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    root = tmp_path_factory.mktemp("den")
    make_phantoms("denoising", root, n_train=2, n_test=1, size=32)
    return root


def _train(method, dataset, iterations=3):
    opt_g, opt_d = method.make_optimizers()
    before_g = [p.detach().clone() for p in method.generator_parameters()]
    before_d = [p.detach().clone() for p in method.discriminator_parameters()]
    outputs = []
    trainer = UnpairedTrainer("cpu", iterations, DataLoader(dataset, batch_size=2), method, opt_g, opt_d)
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: outputs.append(e.state.output[0]["loss"]))
    trainer.run()
    assert trainer.state.iteration == iterations and len(outputs) == iterations
    for losses in outputs:
        assert all(torch.isfinite(torch.tensor(v)) for v in losses.values()), losses
    changed_g = sum(not torch.equal(a, b) for a, b in zip(before_g, method.generator_parameters(), strict=True))
    changed_d = sum(not torch.equal(a, b) for a, b in zip(before_d, method.discriminator_parameters(), strict=True))
    assert changed_g > 0.5 * len(before_g) and changed_d > 0.5 * len(before_d)
    return outputs


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_trains_in_2d(calcium, name):
    torch.manual_seed(0)
    dataset = make_unpaired_dataset(calcium, patch_size=(32, 32), length=6, seed=0)
    outputs = _train(make_method(name, 2, 1, 1, TINY[name]), dataset)
    assert "loss_G" in outputs[-1] and "lr_G" in outputs[-1]


@pytest.mark.parametrize("name", THREE_D)
def test_methods_train_in_3d(stacks, name):
    torch.manual_seed(0)
    dataset = make_unpaired_dataset(stacks, patch_size=(16, 16, 16), spatial_dims=3, length=4, seed=0)
    hp = dict(TINY[name]) | {"n_layers_d": 2}
    _train(make_method(name, 3, 1, 1, hp), dataset, iterations=2)


def test_addons_appear_as_loss_terms(calcium):
    dataset = make_unpaired_dataset(calcium, patch_size=(32, 32), length=4, seed=0)
    method = make_method("cyclegan", 2, 1, 1, TINY["cyclegan"], {"lambda_fsesim": 1.0, "dct_cutoff": 0.5})
    outputs = _train(method, dataset, iterations=2)
    assert outputs[-1]["G_fsesim"] > 0


def test_method_state_round_trip_keeps_pools(calcium):
    a = make_method("cyclegan", 2, 1, 1, TINY["cyclegan"] | {"pool_size": 4})
    a.pool_b.query(torch.rand(3, 1, 8, 8))
    b = make_method("cyclegan", 2, 1, 1, TINY["cyclegan"] | {"pool_size": 4})
    b.load_state_dict(a.state_dict())
    assert len(b.pool_b) == 3
    torch.testing.assert_close(torch.cat(b.pool_b.images), torch.cat(a.pool_b.images))


def test_unknown_method_and_keyword_are_reported():
    with pytest.raises(ValueError, match="unknown method 'pix2pix'"):
        make_method("pix2pix")
    with pytest.raises(ValueError, match="method 'stable'.*lambda_nonsense"):
        make_method("stable", hyperparameters={"lambda_nonsense": 1})


def test_identity_terms_only_when_channels_match():
    assert make_method("cyclegan", 2, 1, 1, TINY["cyclegan"]).identity
    assert not make_method("cyclegan", 2, 1, 2, TINY["cyclegan"]).identity
    assert make_method("cut", 2, 1, 2, TINY["cut"]).adapter is not None


def test_fused_adam_by_default_on_cpu_and_the_same_update_as_the_loop():
    """Same updates up to rounding, where the gradient is not itself rounding noise: the biases before instance
    norms have a zero gradient in exact arithmetic, and Adam turns their ~1e-10 noise into steps of +-lr whose sign
    rounding decides."""
    steps, grads = [], []
    for fused in (None, False):
        torch.manual_seed(0)
        method = make_method("cyclegan", 2, 1, 1, {"ngf": 4, "n_blocks": 1, "ndf": 4})
        opt_g, opt_d = method.make_optimizers(fused=fused)
        assert opt_g.defaults["fused"] is (fused is None) and opt_d.defaults["fused"] is (fused is None)
        a, b = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(1)), torch.rand(1, 1, 32, 32)
        for _ in range(2):
            out = method.generator_step(a, b, 0)
            opt_g.zero_grad()
            out.loss.backward()
            grads.append(torch.cat([p.grad.flatten() for p in method.generator_parameters()]))
            opt_g.step()
        steps.append(torch.cat([p.detach().flatten() for p in method.generator_parameters()]))
    real = torch.stack([g.abs() > 1e-5 for g in grads]).all(dim=0)
    assert real.float().mean() > 0.9
    assert torch.allclose(steps[0][real], steps[1][real], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_generator_step_freezes_discriminators_and_always_unfreezes_them(name, monkeypatch):
    method = make_method(name, 2, 1, 1, TINY[name], {"identity_warmup": 4})
    real_a, real_b = torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32)
    out = method.generator_step(real_a, real_b, 0)
    assert out.loss.requires_grad and "G_warmup" in out.terms  # add-on terms come from the shared template
    out.loss.backward()
    assert all(p.grad is None for p in method.discriminator_parameters())  # frozen during the G objective
    assert all(p.requires_grad for p in method.discriminator_parameters())

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(method, "generator_terms", broken)
    with pytest.raises(RuntimeError, match="boom"):
        method.generator_step(real_a, real_b, 0)
    assert all(p.requires_grad for p in method.discriminator_parameters())


def test_residual_stable_starts_as_the_identity_learns_and_ships_as_such():
    """``residual``: both generators are exactly the identity at initialisation, the zeroed heads still get
    gradients (so the change can be learned), and the deployable generator rebuilt from the spec is residual too."""
    from common.methods import STABLE, ModelSpec

    torch.manual_seed(0)
    method = STABLE(2, 1, 1, channels=(4, 8), n_info=2, ndf=4, residual=True)
    a, b = torch.rand(2, 1, 20, 28), torch.rand(2, 1, 20, 28)
    assert torch.equal(method.generator_ab(a), a) and torch.equal(method.generator_ba(b), b)
    step = method.generator_step(a, b, 0)
    step.loss.backward()
    assert float(method.decoder_b.head[-1].weight.grad.abs().sum()) > 0
    assert method.hyperparameters()["residual"] is True
    spec = {"method": "stable", "spatial_dims": 2, "channels_a": 1, "channels_b": 1}
    hyperparameters = {"channels": [4, 8], "n_info": 2, "ndf": 4, "residual": True}
    deployed = ModelSpec.from_dict(spec | {"hyperparameters": hyperparameters}).build_generator()
    deployed.load_state_dict(method.generator_ab.state_dict())
    with torch.no_grad():
        method.decoder_b.head[-1].bias.fill_(0.25)
        deployed.decoder.head[-1].bias.fill_(0.25)
        torch.testing.assert_close(deployed(a), a + 0.25)
        torch.testing.assert_close(method.generator_ab(a), a + 0.25)
    assert STABLE(2, 1, 1, channels=(4, 8), n_info=2, ndf=4, residual="false").generator_ab.residual is False
    with pytest.raises(ValueError, match="residual needs as many channels"):
        STABLE(2, 1, 2, channels=(4, 8), n_info=2, ndf=4, residual=True)


@pytest.mark.parametrize("disc_norm", ["absn", "instance", "none"])
def test_ui2i_discriminator_normalisation_choices(calcium, disc_norm):
    from torch.nn.utils import parametrize

    method = make_method("ui2i", hyperparameters=TINY["ui2i"] | {"disc_norm": disc_norm}, channels_a=1, channels_b=1)
    layers = list(method.disc_domain.modules()) + list(method.disc_content.modules())
    normalised = [m for m in layers if parametrize.is_parametrized(m, "weight")]
    instance = [m for m in method.disc_domain.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert bool(normalised) == (disc_norm == "absn") and bool(instance) == (disc_norm == "instance")
    # the generators keep ABSN whatever the discriminators use
    assert any(parametrize.is_parametrized(m, "weight") for m in method.generator_ab.modules())
    assert method.hyperparameters()["disc_norm"] == disc_norm
    _train(method, make_unpaired_dataset(calcium, patch_size=(32, 32), length=4), iterations=2)
    with pytest.raises(ValueError, match="disc_norm"):
        make_method("ui2i", hyperparameters=TINY["ui2i"] | {"disc_norm": "batch"})


def test_ui2i_learning_rate_follows_the_generators_width():
    """Ui2i's Adam rate is the paper's 2e-4 at the paper's width (64 features in the first level) and scales with
    sqrt(64 / width) elsewhere (4e-4 for the benchmark's 16): narrow networks converged faster and agreed over seeds
    at 4e-4, the paper's width stalled there. An explicit rate wins."""
    from common.methods.ui2i import PAPER_LR, Ui2i, width_scaled_lr

    assert width_scaled_lr(64) == pytest.approx(2e-4) and width_scaled_lr(16) == pytest.approx(4e-4)
    assert width_scaled_lr(256) == pytest.approx(1e-4) and width_scaled_lr(8, lr=1e-3, reference_width=8) == 1e-3
    for bad in ({"width": 0}, {"width": 2.5}, {"width": 16, "lr": 0.0}, {"width": 16, "reference_width": -1}):
        with pytest.raises(ValueError, match="width|lr"):
            width_scaled_lr(**bad)
    for features, expected in (((16, 32), 4e-4), ((4, 8, 16), 8e-4), ((64, 128), 2e-4)):
        method = make_method("ui2i", hyperparameters={"features": features, "ndf": 4, "content_hidden": 8})
        opt_g, opt_d = method.make_optimizers()
        assert opt_g.param_groups[0]["lr"] == pytest.approx(expected) == opt_d.param_groups[0]["lr"]
        assert method.make_optimizers(lr=1e-5)[0].param_groups[0]["lr"] == pytest.approx(1e-5)
    assert Ui2i.optimizer["lr"] == PAPER_LR  # instances do not change the class's paper settings
    assert make_method("cyclegan", hyperparameters=TINY["cyclegan"]).make_optimizers()[0].param_groups[0]["lr"] == 2e-4
