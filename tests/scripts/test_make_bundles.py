"""The bundle generator's JSON layout: the same JSON as ``json.dumps``, laid out compactly and predictably."""

import importlib
import json
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture()
def make_bundles(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    return importlib.import_module("make_bundles")


def test_compact_json_round_trips_and_packs_entries_within_the_width(make_bundles):
    value = {
        "imports": ["$import os", "$import torch"],
        "seed": 0,
        "method": "stable",
        "max_iterations": 2000,
        "hyperparameters": {"stable": {f"setting_{i}": i * 0.5 for i in range(12)}, "cyclegan": {}},
        "handlers": [{"_target_": f"Handler{i}", "path": "$os.path.join(@output_dir, 'x.csv')"} for i in range(3)],
    }
    text = make_bundles.compact_json(value, width=80, rows=(("seed", "method", "max_iterations"),))
    assert json.loads(text) == value
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    # grouped top-level settings share one line; ungrouped top-level keys keep their own
    assert '    "seed": 0, "method": "stable", "max_iterations": 2000,' in lines
    assert '    "imports": ["$import os", "$import torch"],' in lines
    # a nested object's entries are packed: 12 settings on fewer than 12 lines
    settings = [line for line in lines if '"setting_' in line]
    assert 1 < len(settings) < 12
    # a list of objects keeps one object per line
    assert sum('"_target_": "Handler' in line for line in lines) == 3
    assert all(line.count("_target_") <= 1 for line in lines)


def test_compact_json_keeps_short_values_on_one_line(make_bundles):
    short = {"patch_size": [256, 256], "norm": None}
    assert make_bundles.compact_json(short) == '{"patch_size": [256, 256], "norm": null}'
    assert make_bundles.compact_json([]) == "[]"


def test_generated_train_configs_read_at_a_glance():
    """Issue 16's aim: each bundle's train.json well under half of the 426 lines it had."""
    for train in (SCRIPTS.parent / "bundles").glob("*/configs/train.json"):
        assert len(train.read_text().splitlines()) < 213, train
