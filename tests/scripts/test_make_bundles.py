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
    """Each bundle's train.json stays short enough to read (under 213 lines)."""
    for train in (SCRIPTS.parent / "bundles").glob("*/configs/train.json"):
        assert len(train.read_text().splitlines()) < 213, train


def test_a_changed_config_needs_a_new_version(make_bundles, monkeypatch):
    """``write`` and ``check`` refuse configs that changed under the version they were released with; a new version
    (with its changelog line) lets them through, and the metadata carries that version and line."""
    from bundlegen import versions
    from bundlegen.tasks import TASKS

    files = make_bundles.files("denoising", TASKS["denoising"])
    released = {"denoising": versions.release_entry("denoising", files)}
    assert versions.unbumped("denoising", files, released) is None
    changed = files | {"configs/train.json": files["configs/train.json"].replace('"seed": 0', '"seed": 1')}
    assert changed != files
    why = versions.unbumped("denoising", changed, released)
    assert why and "bundles/denoising" in why and versions.version("denoising") in why
    # the docs and the metadata are not configs: changing them alone needs no version
    assert versions.unbumped("denoising", files | {"docs/README.md": "other"}, released) is None
    monkeypatch.setitem(versions._OWN, "denoising", versions._OWN["denoising"] | {"9.0.0": "a test change"})
    assert versions.unbumped("denoising", changed, released) is None
    metadata = json.loads(make_bundles.files("denoising", TASKS["denoising"])["configs/metadata.json"])
    assert metadata["version"] == "9.0.0" and next(iter(metadata["changelog"].items())) == ("9.0.0", "a test change")


def test_every_bundle_is_released_at_its_current_version():
    """``released.json`` matches the committed configs, and no bundle is still at the first version."""
    released = json.loads((SCRIPTS / "bundlegen" / "released.json").read_text())
    for name, entry in released.items():
        metadata = json.loads((SCRIPTS.parent / "bundles" / name / "configs" / "metadata.json").read_text())
        assert metadata["version"] == entry["version"] != "0.1.0", name
        assert len(metadata["changelog"]) >= 2 and metadata["version"] in metadata["changelog"], name
