"""Resuming from checkpoints that lack an optional part of the state (the error head of older runs)."""

import logging

import pytest
import torch
from ignite.engine import Engine

from common.engines import ResumeLoader


def _objects(seed: int) -> dict[str, torch.nn.Module]:
    torch.manual_seed(seed)
    return {"net": torch.nn.Linear(3, 2), "head": torch.nn.Linear(2, 1)}


def test_optional_parts_missing_from_the_file_stay_as_they_are_and_the_rest_is_restored(tmp_path, caplog):
    saved = _objects(0)
    torch.save({"net": saved["net"].state_dict()}, tmp_path / "old.pt")  # written before "head" was saved
    fresh = _objects(1)
    head_before = {k: v.clone() for k, v in fresh["head"].state_dict().items()}
    loader = ResumeLoader(str(tmp_path / "old.pt"), fresh, optional=["head"])
    with caplog.at_level(logging.WARNING):
        loader(Engine(lambda e, b: None))
    torch.testing.assert_close(fresh["net"].state_dict(), saved["net"].state_dict())
    torch.testing.assert_close(fresh["head"].state_dict(), head_before)
    assert "old.pt has no head" in caplog.text and set(loader.load_dict) == {"net", "head"}


def test_a_complete_file_restores_everything_and_required_parts_stay_required(tmp_path):
    saved = _objects(0)
    torch.save({name: obj.state_dict() for name, obj in saved.items()}, tmp_path / "full.pt")
    fresh = _objects(1)
    ResumeLoader(str(tmp_path / "full.pt"), fresh, optional=["head"])(Engine(lambda e, b: None))
    torch.testing.assert_close(fresh["head"].state_dict(), saved["head"].state_dict())
    torch.save({"head": saved["head"].state_dict()}, tmp_path / "no_net.pt")
    with pytest.raises(ValueError, match="Key 'net'"):
        ResumeLoader(str(tmp_path / "no_net.pt"), _objects(1), optional=["head"])(Engine(lambda e, b: None))
    with pytest.raises(ValueError, match="optional names"):
        ResumeLoader(str(tmp_path / "full.pt"), _objects(1), optional=["error_head"])


def test_a_fresh_run_has_nothing_to_resume_and_attaching_does_nothing():
    engine = Engine(lambda e, b: None)
    loader = ResumeLoader(None, _objects(1), optional=["head"])
    loader.attach(engine)
    assert loader.fresh and not engine.has_event_handler(loader)
