"""Inputs unlike a model's training data are named in one warning; inference translates them anyway."""

import logging

import numpy as np
import pytest
import torch

from common.inference import translate_files
from common.inference.domain_check import unlike_training, warn_unlike_training
from common.io import write_tiff

TRAINING = {"name": "test data", "a_percentiles": [10.0, 200.0, 1000.0]}


def _images(folder, scales):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, scale in enumerate(scales):
        write_tiff(folder / f"im{i}.tif", (rng.random((32, 32)) * 1000 * scale).astype(np.float32), "YX")
    return sorted(folder.iterdir())


def test_unlike_inputs_are_those_far_from_the_training_percentile(tmp_path):
    files = _images(tmp_path / "in", [1.0, 3.0, 0.01, 100.0])
    unlike = [f for f, _ in unlike_training(files, TRAINING)]
    assert unlike == [str(files[2]), str(files[3])]
    with pytest.raises(ValueError, match="tolerance"):
        unlike_training(files, TRAINING, tolerance=1.0)
    assert warn_unlike_training(files, None) == [] and warn_unlike_training(files, {"name": "x"}) == []


def test_translate_files_warns_once_and_still_translates(tmp_path, caplog):
    _images(tmp_path / "in", [1.0, 100.0, 100.0])
    net = torch.nn.Conv2d(1, 1, 1)
    with caplog.at_level(logging.WARNING, logger="common.inference.domain_check"):
        written = translate_files(
            net,
            tmp_path / "in",
            tmp_path / "out",
            spec={"normalization_a": {"mode": "none"}, "channels_a": 1, "training_data": TRAINING},
        )
    warnings = [r.getMessage() for r in caplog.records if r.name == "common.inference.domain_check"]
    assert len(warnings) == 1 and warnings[0].startswith("2 of 3 input(s)") and "test data" in warnings[0]
    assert len(written) == 3
