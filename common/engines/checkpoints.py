"""Checkpoint helpers: random-number-generator state, finding the latest checkpoint, and the deployable model.

Full training checkpoints are written by MONAI's ``CheckpointSaver`` (Ignite ``DiskSaver``: temporary file then
rename) and read by ``CheckpointLoader``; they hold the method (all networks and its pools), both optimisers and
schedulers, the trainer state and :class:`RNGState`. The deployable file ``model.pt`` holds only the A -> B
generator as ``{"model": state_dict}``, as MONAI Label and MONAI Deploy expect.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine, Events
from torch.nn.utils import parametrize

from common.engines.error_head_trainer import ErrorHeadTrainer
from common.io.atomic import atomic_path, remove_stale_temporaries
from common.io.weights import load_model_weights, read_weights
from common.methods.spec import ModelSpec

__all__ = [
    "ModelSaver",
    "RNGState",
    "deployable_state_dict",
    "latest_checkpoint",
    "load_method",
    "load_model_weights",
    "run_method",
]

_STEP = re.compile(r"(?:checkpoint_|iteration=)(\d+)\.pt$")


class RNGState:
    """Torch (CPU and CUDA), NumPy and Python random states with ``state_dict``/``load_state_dict``, so that
    Ignite checkpoints restore them."""

    def state_dict(self) -> dict:
        state = {
            "torch": torch.get_rng_state(),
            "numpy": torch.as_tensor(np.frombuffer(np.random.get_state()[1].tobytes(), dtype=np.uint8).copy()),
            "numpy_pos": int(np.random.get_state()[2]),
            "python": torch.as_tensor(list(random.getstate()[1]), dtype=torch.int64),
            "python_pos": int(random.getstate()[1][-1]),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.stack(torch.cuda.get_rng_state_all())
        return state

    def load_state_dict(self, state: dict) -> None:
        torch.set_rng_state(state["torch"])
        keys = np.frombuffer(state["numpy"].numpy().tobytes(), dtype=np.uint32)
        np.random.set_state(("MT19937", keys, int(state["numpy_pos"]), 0, 0.0))
        internal = tuple(int(v) for v in state["python"].tolist())
        random.setstate((3, internal, None))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(list(state["cuda"]))


def latest_checkpoint(folder: str | os.PathLike) -> str | None:
    """The checkpoint of the highest iteration in ``folder`` (``None`` if there is none)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    best, best_step = None, -1
    for path in folder.glob("*.pt"):
        match = _STEP.search(path.name)
        if match and int(match.group(1)) > best_step:
            best, best_step = str(path), int(match.group(1))
    return best


def deployable_state_dict(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The network's weights as deployed: each parametrised weight (ABSN) replaced by its effective value under
    its plain name, so the file loads into the plain network that inference builds and TorchScript scripts.

    Built without copying the network: ``torch.nn.utils.parametrize`` keeps the ``weight`` property on a class
    that a deep copy shares, so removing parametrisations from a copy would break the original.
    """
    was_training = network.training
    network.eval()  # no power-iteration update while reading the effective weights
    try:
        with torch.no_grad():
            state = {k: v.detach().cpu() for k, v in network.state_dict().items() if ".parametrizations." not in k}
            for name, module in network.named_modules():
                if parametrize.is_parametrized(module):
                    for tensor_name in module.parametrizations:
                        key = f"{name}.{tensor_name}" if name else tensor_name
                        state[key] = getattr(module, tensor_name).detach().cpu()
    finally:
        network.train(was_training)
    return state


class ModelSaver:
    """Write the deployable A -> B generator to ``path`` as ``{"model": state_dict}`` (atomically) every
    ``interval`` iterations and when training completes, or - with ``best``, attached to an evaluator - whenever
    the evaluator's key metric improves by its own comparison (the best model).

    Beside it, ``model.json`` records ``spec`` (method, hyper-parameters, channels, normalisation...) so that
    inference rebuilds the same network without being told again (:meth:`~common.methods.ModelSpec.load`).
    Weights are saved with ABSN parametrisations baked in (:func:`deployable_state_dict`).

    Args:
        path: output file (``O/model.pt``).
        interval: iterations between writes (0: only at completion).
        network: the network to save (e.g. the EMA copy); default the engine's ``deployable_generator()``.
        spec: how to rebuild the network (a :class:`~common.methods.ModelSpec` or its JSON form).
        best: save when the evaluator's ``state.key_metric_name`` improves by its ``metric_cmp_fn`` (at each of the
            evaluator's completions) instead of by iterations.
        extras: modules saved in the same file at the same moment, each as ``{name: {"config": module.config(),
            "state": state_dict}}`` (the learned error head: :func:`~common.inference.load_error_head`); an
            :class:`~common.engines.ErrorHeadTrainer` stands for what it saves.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        interval: int = 0,
        network: torch.nn.Module | None = None,
        spec: Mapping | None = None,
        best: bool = False,
        extras: Mapping[str, torch.nn.Module] | ErrorHeadTrainer | None = None,
    ):
        self.path, self.network, self.interval = Path(path), network, int(interval)
        self.extras = dict(extras.saved() if isinstance(extras, ErrorHeadTrainer) else extras or {})
        self.spec, self.select_best = spec, bool(best)
        self.best: float | None = None

    def attach(self, engine: Engine) -> None:
        remove_stale_temporaries(self.path.parent, self.path.stem + ".*")  # left by a process killed while saving
        if self.select_best:
            engine.add_event_handler(Events.COMPLETED, self._if_better)
            return
        if self.interval > 0:
            engine.add_event_handler(Events.ITERATION_COMPLETED(every=self.interval), self)
        engine.add_event_handler(Events.COMPLETED, self)

    def _if_better(self, engine: Engine) -> None:
        value = float(engine.state.metrics[engine.state.key_metric_name])
        if self.best is None or engine.metric_cmp_fn(value, self.best):
            self.best = value
            self(engine)

    def __call__(self, engine: Engine) -> None:
        network = self.network if self.network is not None else engine.deployable_generator()
        data = {"model": deployable_state_dict(network)}
        for name, module in self.extras.items():
            data[name] = {
                "config": module.config(),
                "state": {k: v.detach().cpu() for k, v in module.state_dict().items()},
            }
        with atomic_path(self.path, overwrite=True) as tmp:
            torch.save(data, tmp)
        if self.spec is not None:
            ModelSpec.of(self.spec).save(self.path.with_suffix(".json"))


def run_method(spec: Mapping, model_file: str | os.PathLike, checkpoint: str | os.PathLike | None = None):
    """The whole method of the training run that wrote ``model_file``: from ``checkpoint``, by default the run's
    latest in ``checkpoints/`` beside ``model_file`` (:func:`load_method`); ``None`` where there is none (a shipped
    ``models/model.pt``)."""
    checkpoint = checkpoint or latest_checkpoint(Path(model_file).parent / "checkpoints")
    return load_method(spec, checkpoint) if checkpoint else None


def load_method(spec: Mapping, checkpoint: str | os.PathLike):
    """The whole method (both generators, discriminators) described by ``spec``, with the state of a full training
    checkpoint (``O/checkpoints/*.pt``), loaded safely (weights only)."""
    method = ModelSpec.of(spec).build_method()
    state = read_weights(checkpoint)
    method.load_state_dict(state["method"] if "method" in state else state)
    return method.eval()
