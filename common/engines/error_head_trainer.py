"""Train a learned error head beside the generators of a cycle method (uncertainty at inference).

Every iteration a cycle method computes, for a real B patch ``b``, its translation into A ``a' = G_BA(b)`` and the
cycle back ``G_AB(low_pass(a'))``: an A image whose true translation is known. :class:`ErrorHeadTrainer` takes
those images from the trainer's output (detached: nothing flows back into the generators) and takes one Adam
step of an :class:`~common.networks.ErrorHead` towards predicting the cycle's absolute error
``|G_AB(low_pass(a')) - b|`` from ``low_pass(a')`` and its translation ``G_AB(low_pass(a'))``
(:func:`~common.losses.laplace_nll`). The head therefore
follows the generators as they train, and the best-model and final-model files carry the head of the same
iteration (``ModelSaver(extras=...)``). One-sided methods (CUT, FastCUT, UTOM) and cycle methods trained without
a cycle term have no such error to learn from: the head stays off there, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from ignite.engine import Engine, Events

from common.engines.ema import generator_ema
from common.flags import as_bool
from common.losses.laplace import laplace_nll
from common.metrics.selection import affine_fit
from common.networks.error_head import DEFAULT_ERROR_HEAD_FEATURES, ErrorHead

__all__ = ["ErrorHeadTrainer", "ERROR_HEAD_LOSS"]

logger = logging.getLogger(__name__)

#: the name of the head's loss in the trainer's losses (``losses.csv``, MLflow)
ERROR_HEAD_LOSS = "error_head_nll"


class ErrorHeadTrainer:
    """An Ignite handler that trains an error head on the trainer's cycle images after every iteration.

    Args:
        method: the translation method being trained (its ``spatial_dims``, channels, ``low_pass`` and
            ``trains_cycle``).
        enabled: train a head at all; ``False`` (or a method without a trained cycle) makes this a no-op whose
            state is empty.
        features: widths of the head (:class:`~common.networks.ErrorHead`).
        learning_rate: of the head's Adam optimiser (constant).
        seed: of the head's initial weights, drawn from a generator of its own: the global random state, and so
            the generators' training, is the same with the head on or off.
        ema_decay: keep (and save) the exponential moving average of the head's weights with this decay per
            iteration (:func:`~common.engines.generator_ema`); ``None``: the head itself.
        calibrated: learn the error left after one least-squares gain and offset of each reconstruction to its
            patch (the calibration the review scores apply before measuring an error) instead of the raw error.
        conditioned: the head reads the translation beside the A image (:class:`~common.networks.ErrorHead`);
            ``False``: the A image alone.

    Raises:
        ValueError: a learning rate that is not positive.
    """

    def __init__(
        self,
        method: torch.nn.Module,
        enabled: bool = True,
        features: Sequence[int] = DEFAULT_ERROR_HEAD_FEATURES,
        learning_rate: float = 1e-3,
        seed: int = 0,
        ema_decay: float | None = None,
        calibrated: bool = False,
        conditioned: bool = True,
    ):
        if not float(learning_rate) > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate}")
        # switches overridden on the command line arrive as strings ("false" is truthy)
        enabled = as_bool(enabled, "error_head_trainer#enabled")
        conditioned = as_bool(conditioned, "error_head_trainer#conditioned")
        self.method, self.calibrated = method, as_bool(calibrated, "error_head_trainer#calibrated")
        self.head: ErrorHead | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.ema = None
        if enabled and not getattr(method, "trains_cycle", False):
            logger.warning(
                "%s has no trained B -> A -> B cycle to learn its errors from: no learned error head; "
                "--uncertainty uses the spread over flips/checkpoints",
                getattr(method, "name", type(method).__name__),
            )
            enabled = False
        if enabled:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                self.head = ErrorHead(
                    method.spatial_dims, method.channels_a, method.channels_b, features, conditioned=conditioned
                )
            self.optimizer = torch.optim.Adam(self.head.parameters(), lr=float(learning_rate))
            self.ema = generator_ema(self.head, ema_decay)

    @property
    def enabled(self) -> bool:
        return self.head is not None

    def saved(self) -> dict[str, ErrorHead]:
        """What model files carry beside the generator: ``{"error_head": head}`` (its moving average with
        ``ema_decay``), or nothing when off."""
        if self.head is None:
            return {}
        return {"error_head": self.head if self.ema is None else self.ema.module}

    def attach(self, engine: Engine) -> None:
        if self.head is not None:
            engine.add_event_handler(Events.ITERATION_COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        output = engine.state.output
        record = output[0] if isinstance(output, list) else output
        images = record["images"]
        with torch.no_grad():
            source = self.method.low_pass(images["fake_A"]).float()
            translation, target = images["rec_B"].float(), images["B"].float()
            reconstruction = affine_fit(translation, target) if self.calibrated else translation
            error = (reconstruction - target).abs()
        device = source.device
        if next(self.head.parameters()).device != device:
            self.head.to(device)  # in place: the optimiser keeps its parameters
            if self.ema is not None:
                self.ema.to(device)
        self.head.train()
        loss = laplace_nll(error.contiguous(), self.head(source.contiguous(), translation.contiguous()))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update_parameters(self.head)
        record["loss"][ERROR_HEAD_LOSS] = float(loss.detach())

    def state_dict(self) -> dict:
        if self.head is None:
            return {}
        state = {"head": self.head.state_dict(), "optimizer": self.optimizer.state_dict()}
        return state if self.ema is None else state | {"ema": self.ema.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore the head, its optimiser (and average) from a checkpoint; a checkpoint whose head has another
        shape (the head before it read the translation, other widths) leaves this head afresh, with a warning."""
        if self.head is None or not state:
            return
        shapes = {name: tuple(value.shape) for name, value in self.head.state_dict().items()}
        if {name: tuple(value.shape) for name, value in state["head"].items()} != shapes:
            logger.warning(
                "the checkpoint's error head has another shape than this run's (which reads %s): the head starts "
                "afresh", "the translation beside the input" if self.head.conditioned else "the input alone",
            )  # fmt: skip
            return
        self.head.load_state_dict(state["head"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
