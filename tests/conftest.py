"""Shared fixtures: a seeded generator, and the settings that train any bundle in seconds."""

import json

import numpy as np
import pytest

#: per method, networks small enough to train a bundle for a few iterations in seconds on one CPU thread
TINY_NETWORKS = {
    "stable": {"channels": [4, 8], "ndf": 8},
    "cyclegan": {"ngf": 4, "n_blocks": 1, "ndf": 8},
    "utom": {"ngf": 4, "n_blocks": 1, "ndf": 8},
    "ui2i": {"features": [4, 8, 16], "ndf": 8, "content_hidden": 8},
    "cut": {"ngf": 4, "n_blocks": 1, "ndf": 8, "num_patches": 16},
    "fastcut": {"ngf": 4, "n_blocks": 1, "ndf": 8, "num_patches": 16},
}


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def quick_bundle():
    """``quick_bundle(*methods, **extra)``: bundle overrides for a run of seconds: 32-px patches, validation crops
    and phantoms, validation / checkpoints / sample grids every 2 iterations, and :data:`TINY_NETWORKS` for each of
    ``methods`` (default: all), updated with ``extra``."""

    def settings(*methods: str, **extra) -> dict:
        out = {
            "patch_size": [32, 32],
            "val_size": [32, 32],
            "phantom_size": 32,
            "val_interval": 2,
            "checkpoint_interval": 2,
            "sample_interval": 2,
            "epoch_length": 3,
        }
        for method in methods or TINY_NETWORKS:
            out |= {f"hyperparameters#{method}#{k}": v for k, v in TINY_NETWORKS[method].items()}
        return out | extra

    return settings


@pytest.fixture(scope="session")
def as_cli():
    """``as_cli(overrides)``: the ``--key value`` arguments of a bundle command line (values as compact JSON)."""

    def arguments(overrides: dict) -> list[str]:
        out = []
        for key, value in overrides.items():
            out += [f"--{key}", value if isinstance(value, str) else json.dumps(value).replace(" ", "")]
        return out

    return arguments
