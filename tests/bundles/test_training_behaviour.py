"""The bundles' training behaviour is locked: the same seed gives the same first 20 losses as the stored ones.

A change of wiring (configs, components, engines) must not change what a training run does (within float rounding
across CPUs: 0.5%); a change of defaults or of a method does, and then regenerates the stored losses on purpose::

    UPDATE_FIRST_LOSSES=1 python -m pytest tests/bundles/test_training_behaviour.py

(and bumps the bundles' versions, which ``make_bundles.py check`` asks for anyway).
"""

import json
import math
import os
from pathlib import Path

import pytest
from monai.bundle import ConfigWorkflow

from common.engines import read_loss_log

ROOT = Path(__file__).resolve().parents[2]
STORED = Path(__file__).parent / "first_losses.json"
ITERATIONS = 20
#: the bundles of the two light default methods (STABLE, Ui2i); the wiring is the same in all eight
BUNDLES = ("denoising", "if_unmixing")


def first_losses(name: str, output_dir: Path) -> dict[str, list[float]]:
    """Every logged loss of the first iterations of the bundle's own defaults (on its 32-px phantoms)."""
    overrides = {
        "output_dir": str(output_dir),
        "patch_size": [32, 32],
        "val_size": [32, 32],
        "phantom_size": 32,
        "max_iterations": ITERATIONS,
        "val_interval": 10,
        "checkpoint_interval": 10,
        "sample_interval": 10,
        "epoch_length": 10,
        "seed": 3,
    }
    config = ROOT / "bundles" / name / "configs" / "train.json"
    workflow = ConfigWorkflow(config_file=str(config), workflow_type="train", **overrides)
    workflow.initialize()
    workflow.run()
    workflow.finalize()
    rows = read_loss_log(output_dir / "losses.csv")
    columns = [k for k in rows[0] if k not in ("iteration", "epoch") and all(r[k] for r in rows)]
    return {k: [float(r[k]) for r in rows] for k in columns}


@pytest.mark.parametrize("name", BUNDLES)
def test_first_losses_are_the_stored_ones(name, tmp_path):
    losses = first_losses(name, tmp_path)
    assert all(len(v) == ITERATIONS for v in losses.values())
    stored = json.loads(STORED.read_text()) if STORED.exists() else {}
    if os.environ.get("UPDATE_FIRST_LOSSES"):
        stored[name] = losses
        STORED.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"stored the first losses of {name}")
    assert name in stored, f"no stored losses for {name}: run with UPDATE_FIRST_LOSSES=1"
    assert sorted(losses) == sorted(stored[name])
    for key, values in losses.items():
        for i, (got, want) in enumerate(zip(values, stored[name][key], strict=True)):
            assert math.isclose(got, want, rel_tol=5e-3, abs_tol=1e-4), f"{name} {key} at iteration {i + 1}"
