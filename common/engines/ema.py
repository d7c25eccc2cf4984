"""The exponential moving average (EMA) of the A -> B generator, built once and shared by the trainer (which
updates it), validation and model selection (which score it) and the model savers (which ship it).

It is its own component so that a bundle's evaluator and ``best_model.pt`` saver can reference it without
referencing the trainer (trainer -> handlers -> evaluator would be a cycle): ``ema`` and ``deployable_network``
in ``train.json``.
"""

from __future__ import annotations

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from common.flags import as_optional
from common.networks.absn import reestimate_absn

__all__ = ["GeneratorEMA", "generator_ema", "deployable_network"]


class GeneratorEMA(AveragedModel):
    """Torch's :class:`~torch.optim.swa_utils.AveragedModel` that keeps spectral-norm estimates its own.

    Buffers are averaged with the weights (batch-norm statistics belong to them), but the power-iteration
    vectors of ABSN layers (Ui2i's generators) estimate the spectral norm of the live weight; averaged, they
    shrink and the average's layers are divided by a norm several times too small. After each update the
    vectors are refined by power iteration on the averaged weights (:func:`~common.networks.reestimate_absn`);
    networks without ABSN average exactly as ``AveragedModel`` does. Same ``state_dict`` as ``AveragedModel``.
    """

    def update_parameters(self, model: nn.Module) -> None:
        super().update_parameters(model)
        reestimate_absn(self.module)


def generator_ema(generator: nn.Module, decay: float | None) -> AveragedModel | None:
    """An EMA copy of ``generator`` (on its device, buffers averaged too, spectral-norm estimates refined on the
    averaged weights: :class:`GeneratorEMA`), or ``None`` when ``decay`` is ``None``.

    Args:
        generator: the network to average; the copy is taken now, so build it before DDP wrapping or compiling.
        decay: the weight of the running average per update, in (0, 1) (e.g. 0.999); ``None`` (or the command
            line's ``null`` / ``none``, :func:`~common.flags.as_optional`): no EMA.

    Raises:
        ValueError: ``decay`` outside (0, 1).
    """
    decay = as_optional(decay)
    if decay is None:
        return None
    if isinstance(decay, bool) or not isinstance(decay, int | float) or not 0 < float(decay) < 1:
        raise ValueError(f"ema_decay must be a number in (0, 1) or None, got {decay!r}")
    return GeneratorEMA(generator, multi_avg_fn=get_ema_multi_avg_fn(float(decay)), use_buffers=True)


def deployable_network(generator: nn.Module, ema: AveragedModel | None) -> nn.Module:
    """The A -> B network to validate, select and ship: the EMA copy when there is one, else ``generator``."""
    return generator if ema is None else ema.module
