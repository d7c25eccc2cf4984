"""The error head trained beside the generators: it learns where the cycle errs, travels with the model files and
checkpoints, and stays off for methods without a cycle."""

import logging
from types import SimpleNamespace

import pytest
import torch
from monai.data import DataLoader
from scipy.stats import spearmanr

from common.data import StreamSampler, make_unpaired_dataset
from common.engines import ERROR_HEAD_LOSS, ErrorHeadTrainer, LossLogger, ModelSaver, UnpairedTrainer, read_loss_log
from common.inference import load_error_head
from common.methods import make_method
from common.phantoms import make_phantoms

CYCLEGAN = {"ngf": 4, "n_blocks": 1, "ndf": 4}
CUT = {"ngf": 4, "n_blocks": 1, "ndf": 4, "num_patches": 16, "embed_dim": 16}
SMALL = (8, 8, 16, 16, 32, 8)


def _cycle_images(generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A batch whose cycle error is large exactly where the synthetic A image has its bright discs."""
    fake_a = torch.zeros(4, 1, 32, 32)
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    for i in range(4):
        for _ in range(3):
            cy, cx = torch.randint(4, 28, (2,), generator=generator)
            fake_a[i, 0][(yy - cy) ** 2 + (xx - cx) ** 2 < 16] = 1.0
    b = torch.rand(4, 1, 32, 32, generator=generator)
    noise = torch.randn(4, 1, 32, 32, generator=generator)
    rec_b = b + (0.02 + 0.5 * fake_a) * noise
    return {"fake_A": fake_a, "rec_B": rec_b, "B": b}


def _translation_errs(generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A batch whose A image says nothing (noise) and whose translation carries bright discs that are its error."""
    images = _cycle_images(generator)
    discs, b = images.pop("fake_A"), images["B"]
    images["fake_A"] = torch.rand(b.shape, generator=generator)
    images["rec_B"] = b + discs + 0.02 * torch.randn(b.shape, generator=generator)
    return images | {"discs": discs}


def _train_and_predict(trainer: ErrorHeadTrainer, batches, steps: int = 150) -> tuple[torch.Tensor, dict]:
    generator = torch.Generator().manual_seed(0)
    first = None
    for _ in range(steps):
        images = batches(generator)
        state = SimpleNamespace(output=[{"images": images, "loss": {}}])
        trainer(SimpleNamespace(state=state))
        first = first if first is not None else state.output[0]["loss"][ERROR_HEAD_LOSS]
    assert state.output[0]["loss"][ERROR_HEAD_LOSS] < first
    held_out = batches(torch.Generator().manual_seed(99))
    with torch.no_grad():
        predicted = trainer.head.eval().error(held_out["fake_A"], held_out["rec_B"])
    return predicted, held_out


@pytest.mark.parametrize("conditioned", [True, False])
def test_head_learns_where_the_cycle_errs(conditioned):
    torch.manual_seed(0)
    method = make_method("cyclegan", 2, 1, 1, CYCLEGAN)
    trainer = ErrorHeadTrainer(method, features=SMALL, learning_rate=3e-3, conditioned=conditioned)
    assert trainer.enabled and trainer.head.in_channels == 1 and trainer.head.out_channels == 1
    assert trainer.head.conditioned is conditioned
    predicted, held_out = _train_and_predict(trainer, _cycle_images)
    error = (held_out["rec_B"] - held_out["B"]).abs()
    assert spearmanr(predicted.flatten().numpy(), error.flatten().numpy())[0] > 0.2
    # the true error scale is 26x larger on the discs (0.52 against 0.02); an untrained head predicts ~1x
    inside = predicted[held_out["fake_A"] > 0].mean() / predicted[held_out["fake_A"] == 0].mean()
    assert inside > 10


def test_only_a_conditioned_head_sees_errors_that_show_in_the_translation():
    inside = {}
    for conditioned in (True, False):
        torch.manual_seed(0)
        trainer = ErrorHeadTrainer(
            make_method("cyclegan", 2, 1, 1, CYCLEGAN), features=SMALL, learning_rate=3e-3, conditioned=conditioned
        )
        predicted, held_out = _train_and_predict(trainer, _translation_errs)
        discs = held_out["discs"] > 0
        inside[conditioned] = float(predicted[discs].mean() / predicted[~discs].mean())
    # the error is 1.0 on the discs against ~0.02 off them; the A image is noise that cannot tell where they are
    assert inside[True] > 10 and inside[False] < 2, inside


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("mask")
    make_phantoms("mask_to_nuclei", root, n_train=2, n_test=1, size=32)
    return make_unpaired_dataset(root, patch_size=(32, 32), length=50, seed=1)


def test_head_trains_inside_the_trainer_and_travels_with_model_files_and_checkpoints(tmp_path, data):
    torch.manual_seed(0)
    method = make_method("cyclegan", 2, 1, 1, CYCLEGAN)
    head_trainer = ErrorHeadTrainer(method, features=SMALL)
    before = {k: v.clone() for k, v in head_trainer.head.state_dict().items()}
    opt_g, opt_d = method.make_optimizers()
    sampler = StreamSampler(len(data))
    loader = DataLoader(data, batch_size=1, sampler=sampler)
    handlers = [head_trainer, LossLogger(tmp_path / "losses.csv")]
    trainer = UnpairedTrainer("cpu", 3, loader, method, opt_g, opt_d, sampler=sampler, train_handlers=handlers)
    trainer.run()
    rows = read_loss_log(tmp_path / "losses.csv")
    assert len(rows) == 3 and all(float(r[ERROR_HEAD_LOSS]) > -20 for r in rows)
    after = head_trainer.head.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the head learnt, the generators untouched by it
    ModelSaver(tmp_path / "model.pt", extras=head_trainer.saved())(trainer)
    loaded = load_error_head(tmp_path / "model.pt")
    torch.testing.assert_close(loaded.state_dict(), {k: v.cpu() for k, v in after.items()})
    assert not loaded.training
    state = head_trainer.state_dict()
    fresh = ErrorHeadTrainer(make_method("cyclegan", 2, 1, 1, CYCLEGAN), features=SMALL)
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.head.state_dict(), after)
    assert fresh.optimizer.state_dict()["state"].keys() == head_trainer.optimizer.state_dict()["state"].keys()


def test_methods_without_a_cycle_get_no_head(caplog):
    with caplog.at_level(logging.WARNING):
        trainer = ErrorHeadTrainer(make_method("cut", 2, 1, 1, CUT))
    assert not trainer.enabled and trainer.saved() == {} and trainer.state_dict() == {}
    assert "no learned error head" in caplog.text
    trainer.load_state_dict({"head": {}, "optimizer": {}})  # a checkpoint of another run: nothing to load into
    off = ErrorHeadTrainer(make_method("cyclegan", 2, 1, 1, CYCLEGAN), enabled=False)
    assert not off.enabled and off.saved() == {}
    # switches overridden on the command line arrive as strings: "false" must switch off, not read as truthy
    word = ErrorHeadTrainer(make_method("cyclegan", 2, 1, 1, CYCLEGAN), enabled="false", calibrated="false")
    assert not word.enabled and word.calibrated is False
    with pytest.raises(ValueError, match="error_head_trainer#calibrated"):
        ErrorHeadTrainer(make_method("cyclegan", 2, 1, 1, CYCLEGAN), calibrated="maybe")
    with pytest.raises(ValueError, match="learning_rate"):
        ErrorHeadTrainer(make_method("cyclegan", 2, 1, 1, CYCLEGAN), learning_rate=0)


def test_model_files_without_a_head_load_none(tmp_path):
    torch.save({"model": {}}, tmp_path / "model.pt")
    assert load_error_head(tmp_path / "model.pt") is None


def test_moving_average_of_the_head_is_what_model_files_carry_and_checkpoints_restore():
    torch.manual_seed(0)
    trainer = ErrorHeadTrainer(make_method("cyclegan", 2, 1, 1, CYCLEGAN), features=SMALL, ema_decay=0.5)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        trainer(SimpleNamespace(state=SimpleNamespace(output=[{"images": _cycle_images(generator), "loss": {}}])))
    saved = trainer.saved()["error_head"]
    assert saved is trainer.ema.module and saved is not trainer.head
    name = next(iter(trainer.head.state_dict()))
    assert not torch.equal(saved.state_dict()[name], trainer.head.state_dict()[name])  # an average, not the head
    fresh = ErrorHeadTrainer(make_method("cyclegan", 2, 1, 1, CYCLEGAN), features=SMALL, ema_decay=0.5)
    fresh.load_state_dict(trainer.state_dict())
    torch.testing.assert_close(fresh.saved()["error_head"].state_dict(), saved.state_dict())
    with pytest.raises(ValueError, match="ema_decay"):
        ErrorHeadTrainer(make_method("cyclegan", 2, 1, 1, CYCLEGAN), ema_decay=1.5)


def test_calibrated_target_ignores_a_gain_and_offset_of_the_reconstruction():
    b = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    images = {"fake_A": b.clone(), "rec_B": 2 * b + 0.3, "B": b}  # wrong only by a calibration
    losses = {}
    for calibrated in (False, True):
        trainer = ErrorHeadTrainer(make_method("cyclegan", 2, 1, 1, CYCLEGAN), features=SMALL, calibrated=calibrated)
        record = {"images": images, "loss": {}}
        trainer(SimpleNamespace(state=SimpleNamespace(output=[record])))
        losses[calibrated] = record["loss"][ERROR_HEAD_LOSS]
    # the same initial head (its own seed): error ~0 after calibration, |b + 0.3| ~ 0.8 without
    assert losses[True] < losses[False] - 0.5
