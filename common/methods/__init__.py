"""Translation methods as strategy objects owning their networks and losses: CycleGAN, Ui2i, STABLE, CUT,
FastCUT and UTOM, with add-ons (FSeSim, DCT low-pass on the cycle path) usable by all."""

from common.methods.base import StepOutput, TranslationMethod
from common.methods.cut import CUT, FastCUT
from common.methods.cyclegan import CycleGAN
from common.methods.registry import (
    ADDON_KEYS,
    METHODS,
    make_method,
    method_defaults,
    resolve_hyperparameters,
)
from common.methods.spec import ModelSpec
from common.methods.stable import STABLE
from common.methods.ui2i import Ui2i
from common.methods.utom import UTOM

__all__ = [
    "ADDON_KEYS",
    "CUT",
    "METHODS",
    "ModelSpec",
    "STABLE",
    "UTOM",
    "CycleGAN",
    "FastCUT",
    "StepOutput",
    "TranslationMethod",
    "Ui2i",
    "make_method",
    "method_defaults",
    "resolve_hyperparameters",
]
