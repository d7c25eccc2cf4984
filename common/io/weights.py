"""Model weight files: a ``{"model": state_dict}`` file (or a bare state dict), always loaded as weights only.

A file a user points at that cannot be used - missing, empty, truncated, not a PyTorch file, carrying code, or
made for another network - ends in one :class:`~common.errors.InputDataError` line naming the file and the
problem, never in a traceback and never with advice to turn the weights-only guard off.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from common.errors import InputDataError

__all__ = ["load_model_weights", "read_weights"]


def read_weights(path: str | os.PathLike) -> dict:
    """The contents of a weight file, loaded on the CPU with ``weights_only=True``.

    Raises:
        InputDataError: the file is missing, empty, truncated, not a PyTorch file, or holds anything but tensors and
            plain containers (code is refused as unsafe).
    """
    file = Path(path)
    if not file.is_file():
        raise InputDataError(file, "model file not found")
    if file.stat().st_size == 0:
        raise InputDataError(file, "model file is empty")
    try:
        data = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "global" in str(error).lower():  # weights-only loading met a class or function to import
            raise InputDataError(file, "refused: the file carries code or objects, not only weights (unsafe)") from None
        raise InputDataError(file, "not a PyTorch model file (or a damaged one)") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        text = str(error).lower()
        damaged = any(w in text for w in ("central directory", "truncated", "failed finding", "eof", "zip"))
        problem = "truncated or damaged model file" if damaged else "not a PyTorch model file (or a damaged one)"
        raise InputDataError(file, problem) from None
    except Exception:  # a text or other file read as a pickle fails in many ways (IndexError, KeyError, ...)
        raise InputDataError(file, "not a PyTorch model file (or a damaged one)") from None
    if not isinstance(data, dict):
        raise InputDataError(file, f"holds a {type(data).__name__}, not a state dict")
    return data


def load_model_weights(
    network: torch.nn.Module, path: str | os.PathLike, device: torch.device | str | None = None
) -> torch.nn.Module:
    """Load a ``{"model": state_dict}`` file (or a bare state dict) into ``network`` safely (weights only); with a
    ``device``, also move it there and set it to eval mode (ready to translate).

    Raises:
        InputDataError: the file cannot be read (:func:`read_weights`) or its weights do not fit ``network``
            (another task's, method's or size's model).
    """
    data = read_weights(path)
    state = data["model"] if "model" in data else data
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputDataError(path, "holds no network weights (a training checkpoint? use its model.pt)")
    expected = network.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or shapes:
        parts = [
            f"{len(missing)} weight(s) missing" if missing else "",
            f"{len(unexpected)} unexpected" if unexpected else "",
            f"{len(shapes)} of another shape (e.g. {shapes[0]})" if shapes else "",
        ]
        raise InputDataError(
            path,
            "does not fit this network (" + ", ".join(p for p in parts if p) + "): a model of another task, method "
            "or size, or without its model.json",
        )
    network.load_state_dict(state)
    if device is not None:
        network.to(device).eval()
    return network
