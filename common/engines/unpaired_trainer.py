"""The unpaired translation trainer: a ``monai.engines.Trainer`` (an Ignite ``Engine``) whose iteration takes an
A batch and a B batch and runs the method's generator step, then its discriminator step.

MONAI's ``GanTrainer`` generates from noise and ``AdversarialTrainer`` trains one paired generator; neither runs
two-generator unpaired translation, so this follows the model zoo's precedent of a ``Trainer`` subclass.

Per iteration: autocast (bf16 on CPU, fp16 or bf16 on GPU) around both steps, a ``GradScaler`` for fp16, optional
gradient clipping, optional EMA of the A -> B generator, then one output dict: ``{"loss": {every loss term,
loss_G, loss_D, lr_G, lr_D}, "images": {...}}`` inside a one-element list, the decollated form MONAI's handlers
read (``from_engine(["loss"], first=True)`` gives the dict, which ``MLFlowHandler`` logs term by term).

The run stops after exactly ``max_iterations``; resuming from a checkpoint (loaded at ``STARTED``) continues
the data stream where it stopped (:class:`~common.data.stream.StreamSampler`).
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch
from ignite.engine import Engine, Events
from monai.engines import Trainer
from torch.optim.swa_utils import AveragedModel

from common.data.stream import StreamSampler
from common.engines.ddp import distribute_method
from common.engines.ema import deployable_network, generator_ema
from common.flags import as_bool, as_optional
from common.methods.base import TranslationMethod

__all__ = ["UnpairedTrainer", "NonFiniteLossError", "check_channels_last"]


def _positive(value: object, name: str) -> float:
    """``value`` as a positive float, or a ``ValueError`` naming the option."""
    try:
        number = None if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not number > 0:
        raise ValueError(f"{name} must be a positive number or null, got {value!r}")
    return number


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or Inf."""


class UnpairedTrainer(Trainer):
    """Train a :class:`~common.methods.base.TranslationMethod` on unpaired A/B batches.

    Args:
        device: training device.
        max_iterations: iteration budget (the run ends exactly there, also when resumed).
        train_data_loader: yields dicts with ``A`` and ``B`` batches.
        method: the method (its networks are moved to ``device``).
        optimizer_g, optimizer_d: optimisers of the generator-side and discriminator-side parameters.
        epoch_length: iterations per Ignite epoch (sets how often epoch-level handlers run).
        sampler: the loader's :class:`StreamSampler`, repositioned on resume.
        batch_size: the loader's batch size (for repositioning the sampler).
        amp: mixed precision; ``amp_dtype`` ``"bfloat16"`` (CPU or GPU) or ``"float16"`` (GPU, with a scaler).
            ``amp`` and ``compile`` also take the command line's words (``"true"``, ``"false"``).
        ema_decay: keep an exponential moving average of the A -> B generator (e.g. 0.999); ``None``: off.
            ``ema_decay``, ``grad_clip`` and ``stop_after`` also take the command line's ``null`` / ``none`` for
            ``None`` (:func:`~common.flags.as_optional`).
        ema: that average, built beforehand (:func:`~common.engines.ema.generator_ema`) so that validation and
            model selection can score the same copy (bundles pass it); give ``ema`` or ``ema_decay``, not both.
            It is saved and restored with the trainer's state (``state_dict``).
        grad_clip: clip gradient norms to this value; ``None``: off (the papers' setting).
        train_handlers: Ignite/MONAI handlers (checkpoint loader first, so that resuming happens first).
        stop_on_nan: raise :class:`NonFiniteLossError` naming the term and iteration when a loss is NaN/Inf.
        stop_after: end this process's run after this many iterations (counted from 0, not from a resume) while
            keeping the schedule of ``max_iterations`` (time-limited jobs: rerun to continue).
        distributed: wrap each network in its own ``DistributedDataParallel``
            (:func:`~common.engines.ddp.distribute_method`); needs a process group (``torchrun``).
        compile: compile every network with ``torch.compile`` (in place: state-dict keys and checkpoints are
            unchanged). The first iteration pays the compilation (about a minute on 2 CPU cores); needs a C++
            compiler on CPU. ``scripts/benchmark.py speedups`` measures what it gains.
        channels_last: keep weights and batches channels-last (``torch.channels_last``, or ``channels_last_3d``
            for 3D methods), the layout oneDNN's bf16 and GPU tensor-core convolutions prefer; same results up to
            float rounding. Refused for networks with instance norms (:func:`check_channels_last`).
    """

    def __init__(
        self,
        device: torch.device | str,
        max_iterations: int,
        train_data_loader,
        method: TranslationMethod,
        optimizer_g: torch.optim.Optimizer,
        optimizer_d: torch.optim.Optimizer,
        epoch_length: int = 100,
        sampler: StreamSampler | None = None,
        batch_size: int = 1,
        amp: bool = False,
        amp_dtype: str = "bfloat16",
        ema_decay: float | None = None,
        ema: AveragedModel | None = None,
        grad_clip: float | None = None,
        train_handlers=None,
        stop_on_nan: bool = True,
        stop_after: int | None = None,
        distributed: bool = False,
        channels_last: bool = False,
        compile: bool = False,
    ):
        if max_iterations < 1 or epoch_length < 1:
            raise ValueError(f"max_iterations and epoch_length must be positive, got {max_iterations}, {epoch_length}")
        if amp_dtype not in ("bfloat16", "float16"):
            raise ValueError(f"amp_dtype must be 'bfloat16' or 'float16', got {amp_dtype!r}")
        ema_decay, grad_clip, stop_after = as_optional(ema_decay), as_optional(grad_clip), as_optional(stop_after)
        amp, compile = as_bool(amp, "amp"), as_bool(compile, "compile")
        if ema_decay is not None and ema is not None:
            raise ValueError("give ema (a built average) or ema_decay, not both")
        if ema is not None and not isinstance(ema, AveragedModel):
            raise ValueError(f"ema must be a torch.optim.swa_utils.AveragedModel, got {type(ema).__name__}")
        device = torch.device(device)
        epoch_length = min(int(epoch_length), int(max_iterations))
        super().__init__(
            device=device,
            max_epochs=math.ceil(max_iterations / epoch_length),
            data_loader=train_data_loader,
            epoch_length=epoch_length,
            handlers=train_handlers,
            amp=amp,
            decollate=False,
        )
        self.method = method.to(device)
        self.memory_format = None
        if channels_last:
            check_channels_last(method)
            self.memory_format = torch.channels_last if method.spatial_dims == 2 else torch.channels_last_3d
            self.method.to(memory_format=self.memory_format)
        self.optimizer_g, self.optimizer_d = optimizer_g, optimizer_d
        self.optimizer = optimizer_g  # MONAI handlers' convention (LR logging of the main optimiser)
        self.max_iterations = int(max_iterations)
        self.stop_after = None if stop_after is None else int(stop_after)
        self.sampler, self.batch_size = sampler, int(batch_size)
        self.amp_dtype = torch.bfloat16 if amp_dtype == "bfloat16" else torch.float16
        self.scaler = torch.amp.GradScaler(device.type) if amp and self.amp_dtype == torch.float16 else None
        self.grad_clip = None if grad_clip is None else _positive(grad_clip, "grad_clip")
        self.stop_on_nan = stop_on_nan
        self.ema = ema.to(device) if ema is not None else generator_ema(method.generator_ab, ema_decay)
        if compile:  # before DDP wraps them; after the EMA copy (a compiled module's copy would recompile)
            for network in [*method.generator_modules(), *method.discriminator_modules()]:
                network.compile()
        if distributed:  # after the EMA copy: wrapped networks cannot be deep-copied
            distribute_method(self.method, device)
        self.add_event_handler(Events.ITERATION_COMPLETED, self._stop_at_budget)

    def run(self) -> None:
        """Run to ``max_iterations``. The resume hook is registered here, after every handler attached so far,
        so that a ``CheckpointLoader`` (also listening to ``STARTED``) has loaded its state when it runs."""
        if not self.has_event_handler(self._after_resume, Events.STARTED):
            self.add_event_handler(Events.STARTED, self._after_resume)
        super().run()

    # --- resumption and budget ------------------------------------------------------------------------------
    def _after_resume(self, engine: Engine) -> None:
        engine.state.max_epochs = math.ceil(self.max_iterations / engine.state.epoch_length)
        if self.sampler is not None:
            self.sampler.start = engine.state.iteration * self.batch_size
        if engine.state.iteration >= self.max_iterations:
            engine.terminate()

    def _stop_at_budget(self, engine: Engine) -> None:
        if engine.state.iteration >= self.max_iterations:
            engine.terminate()
        elif self.stop_after is not None and engine.state.iteration >= self.stop_after:
            engine.terminate()

    def state_dict(self):
        """Ignite's engine state (iteration, epoch), plus the EMA's weights and update count when EMA is on."""
        state = super().state_dict()
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state_dict) -> None:
        """Restore :meth:`state_dict`; a checkpoint without an EMA leaves the average to restart from the
        loaded generator at the next update."""
        state = dict(state_dict)
        ema = state.pop("ema", None)
        super().load_state_dict(state)
        if self.ema is not None and ema is not None:
            self.ema.load_state_dict(ema)

    def deployable_generator(self) -> torch.nn.Module:
        """The A -> B generator to ship: the EMA copy when EMA is on."""
        return deployable_network(self.method.generator_ab, self.ema)

    # --- one iteration --------------------------------------------------------------------------------------
    def _autocast(self):
        if not self.amp:
            return nullcontext()
        return torch.autocast(device_type=self.state.device.type, dtype=self.amp_dtype)

    def _update(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            if self.grad_clip is not None:
                self.scaler.unscale_(optimizer)
        else:
            loss.backward()
        if self.grad_clip is not None:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
        if self.scaler is not None:
            self.scaler.step(optimizer)
        else:
            optimizer.step()

    @staticmethod
    def _check_finite(loss: torch.Tensor, terms: dict[str, torch.Tensor], iteration: int) -> None:
        if bool(torch.isfinite(loss)):
            return
        bad = [k for k, v in terms.items() if not bool(torch.isfinite(v))] or ["total"]
        raise NonFiniteLossError(f"loss term(s) {', '.join(bad)} became NaN/Inf at iteration {iteration}")

    def _iteration(self, engine: Engine, batchdata: dict) -> list[dict]:
        device = engine.state.device
        layout = {} if self.memory_format is None else {"memory_format": self.memory_format}
        real_a = batchdata["A"].to(device, non_blocking=True, **layout)
        real_b = batchdata["B"].to(device, non_blocking=True, **layout)
        step = engine.state.iteration - 1
        self.method.train()
        with self._autocast():
            g = self.method.generator_step(real_a, real_b, step)
        if self.stop_on_nan:  # before any backward: a NaN must not reach the weights
            self._check_finite(g.loss, g.terms, engine.state.iteration)
        self._update(g.loss, self.optimizer_g)
        if self.ema is not None:
            self.ema.update_parameters(self.method.generator_ab)
        detached = {k: v.detach() for k, v in g.images.items()}
        with self._autocast():
            d = self.method.discriminator_step(real_a, real_b, detached, step)
        if self.stop_on_nan:
            self._check_finite(d.loss, d.terms, engine.state.iteration)
        self._update(d.loss, self.optimizer_d)
        if self.scaler is not None:
            self.scaler.update()
        names = ["loss_G", "loss_D", *g.terms, *d.terms]
        values = torch.stack([g.loss.detach(), d.loss.detach(), *g.terms.values(), *d.terms.values()]).float()
        losses = dict(zip(names, values.cpu().tolist(), strict=True))  # one host sync per iteration
        if self.stop_on_nan and not all(math.isfinite(v) for v in losses.values()):
            bad = [k for k, v in losses.items() if not math.isfinite(v)]
            raise NonFiniteLossError(
                f"loss term(s) {', '.join(bad)} became NaN/Inf at iteration {engine.state.iteration}"
            )
        losses["lr_G"] = float(self.optimizer_g.param_groups[0]["lr"])
        losses["lr_D"] = float(self.optimizer_d.param_groups[0]["lr"])
        images = {"A": real_a.detach(), "B": real_b.detach(), **detached}
        return [{"loss": losses, "images": images}]


def check_channels_last(method: torch.nn.Module) -> None:
    """Refuse channels-last for networks with instance norms: in torch 2.13 (CPU), ``instance_norm``'s backward
    returns wrong input gradients (uncorrelated with the true ones) when the incoming gradient is channels-last,
    which a channels-last model hands it (measured; ``group_norm`` and ``batch_norm`` are correct)."""
    norms = [name for name, m in method.named_modules() if isinstance(m, torch.nn.modules.instancenorm._InstanceNorm)]
    if norms:
        raise ValueError(
            f"channels_last is not supported for {type(method).__name__}: its instance norms ({norms[0]}, ...) get "
            "wrong gradients in channels-last layout in this PyTorch; train it in the default layout"
        )
