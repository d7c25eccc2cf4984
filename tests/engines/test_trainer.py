"""Trainer mechanics: exact budget, NaN guard, AMP, EMA, checkpoint helpers, loss log."""

import random

import numpy as np
import pytest
import torch
from ignite.engine import Events
from monai.data import DataLoader

from common.data import StreamSampler, make_unpaired_dataset
from common.engines import (
    LossLogger,
    ModelSaver,
    NonFiniteLossError,
    RNGState,
    UnpairedTrainer,
    latest_checkpoint,
    load_model_weights,
    read_loss_log,
)
from common.methods import ModelSpec, make_method, resolve_hyperparameters
from common.phantoms import make_phantoms

TINY = {"channels": (4, 8), "n_info": 2, "ndf": 4}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("mask")
    make_phantoms("mask_to_nuclei", root, n_train=2, n_test=1, size=32)
    return make_unpaired_dataset(root, patch_size=(32, 32), length=50, seed=1)


def _trainer(data, iterations, **kwargs):
    method = make_method("stable", 2, 1, 1, TINY)
    opt_g, opt_d = method.make_optimizers()
    sampler = StreamSampler(len(data))
    loader = DataLoader(data, batch_size=1, sampler=sampler)
    return UnpairedTrainer("cpu", iterations, loader, method, opt_g, opt_d, sampler=sampler, **kwargs)


def test_stops_exactly_at_the_budget(data):
    trainer = _trainer(data, 7, epoch_length=3)
    trainer.run()
    assert trainer.state.iteration == 7


def test_stop_after_keeps_the_schedule(data):
    trainer = _trainer(data, 10, epoch_length=4, stop_after=3)
    trainer.run()
    assert trainer.state.iteration == 3 and trainer.max_iterations == 10


def test_command_line_null_switches_options_off(data):
    """``--ema_decay null --grad_clip none --stop_after null`` (strings from Fire) mean off, as ``None`` does."""
    trainer = _trainer(data, 4, epoch_length=2, ema_decay="null", grad_clip="none", stop_after="null")
    trainer.run()
    assert trainer.ema is None and trainer.grad_clip is None and trainer.stop_after is None
    assert trainer.state.iteration == 4
    assert _trainer(data, 4, grad_clip="2.5").grad_clip == 2.5
    for bad in ("abc", 0, -1.0, True):
        with pytest.raises(ValueError, match="grad_clip must be a positive number or null"):
            _trainer(data, 4, grad_clip=bad)


def test_nan_loss_stops_with_the_term_and_iteration(data):
    trainer = _trainer(data, 5)
    with torch.no_grad():
        trainer.method.encoder_a.head[-1].weight.fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match=r"G_.*NaN/Inf at iteration 1"):
        trainer.run()


def test_bf16_autocast_and_ema(data):
    trainer = _trainer(data, 3, amp=True, ema_decay=0.5)
    trainer.run()
    ema = trainer.deployable_generator()
    assert ema is trainer.ema.module
    raw = dict(trainer.method.generator_ab.named_parameters())
    assert any(not torch.equal(p, raw[n]) for n, p in ema.named_parameters())


def test_ema_state_round_trips_with_the_trainer(data):
    trainer = _trainer(data, 3, ema_decay=0.9)
    trainer.run()
    state = trainer.state_dict()
    assert int(state["ema"]["n_averaged"]) == 3
    fresh = _trainer(data, 3, ema_decay=0.9)
    fresh.load_state_dict(state)
    assert fresh.state.iteration == 3 and int(fresh.ema.n_averaged) == 3
    for (name, p), q in zip(trainer.ema.module.named_parameters(), fresh.ema.module.parameters(), strict=True):
        assert torch.equal(p, q), name


def test_a_built_ema_is_used_and_bad_ema_settings_are_refused(data):
    from common.engines import deployable_network, generator_ema

    method = make_method("stable", 2, 1, 1, TINY)
    assert generator_ema(method.generator_ab, None) is None
    assert deployable_network(method.generator_ab, None) is method.generator_ab
    for spelled in ("null", "None", "none"):  # the command line's way to switch it off (common.flags)
        assert generator_ema(method.generator_ab, spelled) is None
    for bad in (0, 1, 1.5, True, "0.9"):
        with pytest.raises(ValueError, match="ema_decay"):
            generator_ema(method.generator_ab, bad)
    ema = generator_ema(method.generator_ab, 0.5)
    assert deployable_network(method.generator_ab, ema) is ema.module
    opt_g, opt_d = method.make_optimizers()
    sampler = StreamSampler(len(data))
    loader = DataLoader(data, batch_size=1, sampler=sampler)
    trainer = UnpairedTrainer("cpu", 2, loader, method, opt_g, opt_d, sampler=sampler, ema=ema)
    trainer.run()
    assert trainer.deployable_generator() is ema.module and int(ema.n_averaged) == 2
    with pytest.raises(ValueError, match="not both"):
        UnpairedTrainer("cpu", 2, loader, method, opt_g, opt_d, ema=ema, ema_decay=0.5)
    with pytest.raises(ValueError, match="AveragedModel"):
        UnpairedTrainer("cpu", 2, loader, method, opt_g, opt_d, ema=method.generator_ab)


def test_rng_state_round_trip():
    state = RNGState()
    saved = state.state_dict()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.rand(5), np.random.rand(5), random.random()
    state.load_state_dict(saved)
    again = (torch.rand(3), np.random.rand(3), random.random())
    torch.testing.assert_close(expected[0], again[0])
    np.testing.assert_array_equal(expected[1], again[1])
    assert expected[2] == again[2]


def test_latest_checkpoint_and_model_file(tmp_path, data):
    for name in ("checkpoint_iteration=2.pt", "checkpoint_iteration=10.pt", "checkpoint_final_iteration=6.pt"):
        (tmp_path / name).write_bytes(b"x")
    assert latest_checkpoint(tmp_path).endswith("iteration=10.pt")
    assert latest_checkpoint(tmp_path / "none") is None
    trainer = _trainer(data, 2)
    ModelSaver(tmp_path / "model.pt", spec={"method": "stable", "hyperparameters": TINY})(trainer)
    stored = torch.load(tmp_path / "model.pt", weights_only=True)
    assert list(stored) == ["model"]
    spec = ModelSpec.load(tmp_path / "model.pt", {"method": "cyclegan", "x": 1})
    assert spec.method == "stable" and spec.hyperparameters == {"channels": [4, 8], "n_info": 2, "ndf": 4}
    assert spec.extra == {"x": 1}
    fresh = make_method("stable", 2, 1, 1, TINY).generator_ab
    load_model_weights(fresh, tmp_path / "model.pt")
    torch.testing.assert_close(fresh.state_dict(), trainer.method.generator_ab.state_dict())


def test_loss_log_drops_rows_after_the_resume_point(tmp_path, data):
    log = tmp_path / "losses.csv"
    trainer = _trainer(data, 4)
    LossLogger(log).attach(trainer)
    trainer.run()
    assert [r["iteration"] for r in read_loss_log(log)] == ["1", "2", "3", "4"]
    resumed = _trainer(data, 6)
    resumed.load_state_dict({"iteration": 2, "epoch_length": 100, "max_epochs": 1})  # as if resumed at 2
    LossLogger(log).attach(resumed)
    resumed.run()
    assert [r["iteration"] for r in read_loss_log(log)] == ["1", "2", "3", "4", "5", "6"]
    assert set(read_loss_log(log)[0]) >= {"loss_G", "loss_D", "G_info_A", "lr_G", "lr_D"}


def test_validation_without_ground_truth_uses_the_unsupervised_criterion(tmp_path):
    from common.engines import (
        SelectionNetwork,
        has_ground_truth,
        reference_images,
        validation_items,
        validation_metrics,
        validation_network,
    )

    make_phantoms("phase_to_dapi", tmp_path, n_train=1, n_test=1, n_val=2, size=32)
    assert has_ground_truth(tmp_path)
    key, extra = validation_metrics(True)
    assert list(key) == ["val_psnr"] and list(extra) == ["val_pcc"]
    for f in (tmp_path / "valB").iterdir():
        f.unlink()
    assert not has_ground_truth(tmp_path)
    items = validation_items(tmp_path, size=(32, 32), slices_per_image=2)
    assert len(items) == 2 and torch.equal(items[0]["image"], items[0]["label"])  # label = input: cycle target
    method = make_method("stable", 2, 1, 1, TINY)
    network = validation_network(method, ground_truth=False)
    assert isinstance(network, SelectionNetwork) and network(items[0]["image"][None]).shape == (1, 2, 32, 32)
    key, extra = validation_metrics(False, reference=reference_images(tmp_path, size=(32, 32)), channels_b=1)
    assert list(key) == ["val_selection"] and list(extra) == ["val_realism", "val_cycle"]
    one_sided = validation_network(make_method("cut", 2, 1, 1, {"ngf": 4, "n_blocks": 1, "ndf": 4}), False)
    assert one_sided(items[0]["image"][None]).shape == (1, 1, 32, 32)  # realism only
    no_cycle = validation_network(make_method("stable", 2, 1, 1, TINY | {"lambda_cyc": 0.0}), False)
    assert no_cycle(items[0]["image"][None]).shape == (1, 1, 32, 32)  # an untrained cycle says nothing
    with pytest.raises(ValueError, match="reference"):
        validation_metrics(False)


def test_unsupervised_selection_charges_a_translation_whose_structure_left_the_input(tmp_path):
    """With a task polarity the criterion adds ``val_structure`` (1 - r of 8-px block means): the input itself
    scores 0, a translation moved by half the image scores worse, an inverted one worst; realism is the same for
    all three, so the structure term decides."""
    from common.engines import reference_images, validation_metrics

    make_phantoms("denoising", tmp_path, n_train=1, n_test=1, n_val=1, size=64)
    reference = reference_images(tmp_path, size=(64, 64))
    key, extra = validation_metrics(False, reference=reference, channels_b=1, polarity=1)
    assert list(extra) == ["val_realism", "val_cycle", "val_structure"]
    source = reference[0][:, 0] if reference[0].ndim == 4 else reference[0]  # (1, Y, X)
    score = {}
    for name, pred in {"same": source, "moved": source.roll(32, dims=-1), "inverted": 1.0 - source}.items():
        for metric in (key | extra).values():
            metric.reset()
            metric.update(([pred], [source]))
        score[name] = {k: m.compute() for k, m in (key | extra).items()}
    assert score["same"]["val_structure"] == pytest.approx(0.0, abs=1e-4)
    assert score["same"]["val_structure"] < score["moved"]["val_structure"] < score["inverted"]["val_structure"]
    assert score["moved"]["val_realism"] == pytest.approx(score["same"]["val_realism"], rel=0.2)
    assert score["same"]["val_selection"] < score["moved"]["val_selection"]
    assert "val_structure" not in validation_metrics(False, reference=reference, channels_b=1)[1]
    with pytest.raises(ValueError, match="polarity"):
        validation_metrics(False, reference=reference, channels_b=1, polarity=2)


def test_deployable_weights_bake_absn_in_and_leave_the_network_working():
    from common.engines import deployable_state_dict
    from common.methods import ModelSpec

    hyperparameters = resolve_hyperparameters("ui2i", {"features": [4, 8, 16], "ndf": 4})  # as a spec stores them
    spec = {"method": "ui2i", "channels_a": 1, "channels_b": 2, "hyperparameters": hyperparameters}
    method = make_method("ui2i", 2, 1, 2, spec["hyperparameters"])
    x = torch.rand(1, 1, 16, 16)
    method.eval()
    with torch.no_grad():
        expected = method.generator_ab(x)
    state = deployable_state_dict(method.generator_ab)
    assert not any("parametrizations" in k for k in state)
    with torch.no_grad():
        torch.testing.assert_close(method.generator_ab(x), expected)  # the original still works
    plain = ModelSpec.from_dict(spec).build_generator().eval()
    plain.load_state_dict(state)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), expected)
        torch.testing.assert_close(torch.jit.script(plain)(x), expected)


class _Payload:
    """Unpickling this runs code: what a booby-trapped checkpoint would carry."""

    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/i2i_payload_ran",))


def test_checkpoints_carrying_code_are_refused(tmp_path):
    import os

    from common.engines import load_method

    if os.path.exists("/tmp/i2i_payload_ran"):
        os.remove("/tmp/i2i_payload_ran")
    bad = tmp_path / "model.pt"
    torch.save({"model": {"weight": torch.zeros(1)}, "extra": _Payload()}, bad)
    with pytest.raises(Exception, match="refused: the file carries code"):
        load_model_weights(torch.nn.Linear(1, 1), bad)
    with pytest.raises(Exception, match="refused: the file carries code"):
        load_method({"method": "stable", "hyperparameters": TINY}, bad)
    assert not os.path.exists("/tmp/i2i_payload_ran")  # the payload never ran


def test_atomic_checkpoint_saver_keeps_the_newest_and_never_leaves_partial_files(tmp_path, data):
    from common.engines import AtomicCheckpointSaver

    trainer = _trainer(data, 7)
    AtomicCheckpointSaver(tmp_path, {"method": trainer.method, "trainer": trainer}, save_interval=2, n_saved=2).attach(
        trainer
    )
    trainer.run()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["checkpoint_final_iteration=7.pt", "checkpoint_iteration=4.pt", "checkpoint_iteration=6.pt"]
    state = torch.load(tmp_path / "checkpoint_iteration=6.pt", weights_only=True)
    assert state["trainer"]["iteration"] == 6 and "method" in state


def test_nan_loss_saves_a_last_good_checkpoint_then_stops(tmp_path, data):
    from common.engines import AtomicCheckpointSaver

    trainer = _trainer(data, 6)
    AtomicCheckpointSaver(tmp_path, {"method": trainer.method, "trainer": trainer}, save_interval=2).attach(trainer)
    poisoned = {"done": False}

    def poison(engine):
        if engine.state.iteration == 3 and not poisoned["done"]:
            poisoned["done"] = True
            with torch.no_grad():
                trainer.method.encoder_a.head[-1].bias.fill_(float("inf"))

    trainer.add_event_handler(Events.ITERATION_STARTED, poison)
    with pytest.raises(NonFiniteLossError, match="iteration 3"):
        trainer.run()
    saved = torch.load(tmp_path / "checkpoint_nonfinite_iteration=3.pt", weights_only=True)
    assert saved["trainer"]["iteration"] == 3
    assert latest_checkpoint(tmp_path).endswith("nonfinite_iteration=3.pt")


# Ui2i's default domain discriminator has instance norm, which channels-last refuses: its ABSN variant is checked here
@pytest.mark.parametrize(
    "name, settings", [("stable", TINY), ("ui2i", {"features": (4, 8), "ndf": 4, "disc_norm": "absn"})]
)
def test_channels_last_computes_the_same_losses_and_gradients(data, name, settings):
    losses, grads = [], []
    for channels_last in (False, True):
        torch.manual_seed(0)
        method = make_method(name, 2, 1, 1, settings)
        opt_g, opt_d = method.make_optimizers()
        sampler = StreamSampler(len(data))
        loader = DataLoader(data, batch_size=1, sampler=sampler)
        trainer = UnpairedTrainer("cpu", 1, loader, method, opt_g, opt_d, sampler=sampler, channels_last=channels_last)
        trainer.run()
        convs = [m.weight for m in method.modules() if isinstance(m, torch.nn.Conv2d) and min(m.weight.shape[1:]) > 1]
        assert convs and all(w.is_contiguous(memory_format=torch.channels_last) == channels_last for w in convs)
        losses.append(trainer.state.output[0]["loss"])
        # one iteration: generator gradients at the initial weights, discriminator gradients on the same fakes
        grads.append(torch.cat([p.grad.flatten() for p in method.parameters() if p.grad is not None]))
    for key in ("loss_G", "loss_D"):
        assert losses[0][key] == pytest.approx(losses[1][key], rel=1e-4, abs=1e-6)
    assert grads[0].shape == grads[1].shape and grads[0].norm() > 0
    assert (grads[0] - grads[1]).norm() < 1e-3 * grads[0].norm()


def test_channels_last_is_refused_for_instance_norm_networks(data):
    # torch 2.13's CPU instance_norm backward is wrong for channels-last gradients: the guard must stop it
    method = make_method("cyclegan", 2, 1, 1, {"ngf": 4, "n_blocks": 1, "ndf": 4})
    opt_g, opt_d = method.make_optimizers()
    with pytest.raises(ValueError, match="instance norms .* wrong gradients"):
        UnpairedTrainer("cpu", 1, [], method, opt_g, opt_d, channels_last=True)


def test_compiled_networks_compute_the_same_losses_and_gradients(data):
    settings = {"ngf": 4, "n_blocks": 1, "ndf": 4, "n_layers_d": 2}
    losses, grads, keys = [], [], []
    for compiled in (False, True):
        torch.manual_seed(0)
        method = make_method("cyclegan", 2, 1, 1, settings)
        opt_g, opt_d = method.make_optimizers()
        sampler = StreamSampler(len(data))
        loader = DataLoader(data, batch_size=1, sampler=sampler)
        trainer = UnpairedTrainer("cpu", 1, loader, method, opt_g, opt_d, sampler=sampler, compile=compiled)
        trainer.run()
        losses.append(trainer.state.output[0]["loss"])
        grads.append(torch.cat([p.grad.flatten() for p in method.parameters() if p.grad is not None]))
        keys.append(list(method.state_dict()))
    assert keys[0] == keys[1]  # compiled in place: checkpoints are interchangeable
    for key in ("loss_G", "loss_D"):
        assert losses[0][key] == pytest.approx(losses[1][key], rel=1e-4, abs=1e-6)
    assert grads[0].shape == grads[1].shape
    assert (grads[0] - grads[1]).norm() < 1e-3 * grads[0].norm()
