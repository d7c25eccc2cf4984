"""Model weight files: a ``{"model": state_dict}`` file (or a bare state dict), always loaded as weights only."""

from __future__ import annotations

import os

import torch

__all__ = ["load_model_weights"]


def load_model_weights(network: torch.nn.Module, path: str | os.PathLike) -> torch.nn.Module:
    """Load a ``{"model": state_dict}`` file (or a bare state dict) into ``network`` safely (weights only)."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    network.load_state_dict(data["model"] if isinstance(data, dict) and "model" in data else data)
    return network
