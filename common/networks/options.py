"""The string options of the networks and losses as enums: one spelling each, matched case-insensitively, ``None``
meaning ``"none"``, and refused by MONAI's ``look_up_option`` with the option's name and its choices.

Members compare equal to their strings (``FeatureNorm.INSTANCE == "instance"``), so configs keep plain strings.
"""

from __future__ import annotations

from collections.abc import Iterable

from monai.utils import StrEnum, look_up_option

__all__ = ["DiscriminatorNorm", "FeatureNorm", "GanMode", "GeneratorKind", "OutputActivation", "Upsampling", "choose"]


class FeatureNorm(StrEnum):
    """Feature normalisation after a convolution."""

    NONE = "none"
    BATCH = "batch"
    INSTANCE = "instance"


class DiscriminatorNorm(StrEnum):
    """How Ui2i's discriminators are normalised: ABSN on every weight, instance norm after each inner convolution
    (CycleGAN's PatchGAN), or neither."""

    ABSN = "absn"
    INSTANCE = "instance"
    NONE = "none"


class OutputActivation(StrEnum):
    """A generator's last activation (``none``: linear output)."""

    NONE = "none"
    TANH = "tanh"
    SIGMOID = "sigmoid"


class Upsampling(StrEnum):
    """A decoder level's upsampling."""

    TRANSPOSE = "transpose"
    BILINEAR = "bilinear"
    LANCZOS = "lanczos"
    DYSAMPLE = "dysample"


class GeneratorKind(StrEnum):
    """CycleGAN's (and UTOM's) generator architecture."""

    RESNET = "resnet"
    UNET = "unet"


class GanMode(StrEnum):
    """The adversarial objective."""

    LSGAN = "lsgan"
    VANILLA = "vanilla"
    HINGE = "hinge"


def choose(value: str | StrEnum | None, options: type[StrEnum], name: str, allowed: Iterable[str] | None = None):
    """The member of ``options`` that ``value`` names.

    Args:
        value: a member, its string in any case, or ``None`` (the ``"none"`` member where ``options`` has one).
        options: the enum.
        name: the keyword, for the error.
        allowed: the members this caller supports (default: all).

    Raises:
        ValueError: ``value`` names no allowed member; the message names ``name`` and the choices.
    """
    choices = [options(a) for a in allowed] if allowed is not None else list(options)
    text = "none" if value is None else str(getattr(value, "value", value)).strip().lower()
    try:
        return look_up_option(text, {c.value: c for c in choices})
    except ValueError:
        listed = ", ".join(repr(c.value) for c in choices) + (" (None for 'none')" if "none" in choices else "")
        raise ValueError(f"{name} must be one of {listed}, got {value!r}") from None
