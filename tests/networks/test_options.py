"""String options: one spelling each, any case, None for 'none', refused with the keyword's name and choices."""

import pytest

from common.losses import GANLoss
from common.methods import make_method
from common.networks.options import FeatureNorm, GanMode, OutputActivation, Upsampling, choose
from common.networks.resnet_generator import ResnetGenerator
from common.networks.stable_unet import StableUNet


def test_any_case_and_none_name_the_same_member_equal_to_its_string():
    assert choose("INSTANCE", FeatureNorm, "norm") is FeatureNorm.INSTANCE == "instance"
    assert choose(" Batch ", FeatureNorm, "norm") is FeatureNorm.BATCH
    assert choose(None, FeatureNorm, "norm") is FeatureNorm.NONE
    assert choose(FeatureNorm.BATCH, FeatureNorm, "norm") is FeatureNorm.BATCH
    assert choose("LSGAN", GanMode, "gan_mode") == "lsgan"


def test_a_callers_subset_is_enforced_with_its_choices_in_the_message():
    assert choose("dysample", Upsampling, "upsample", allowed=("dysample", "bilinear")) is Upsampling.DYSAMPLE
    with pytest.raises(ValueError, match=r"upsample must be one of 'dysample', 'bilinear', got 'lanczos'"):
        choose("lanczos", Upsampling, "upsample", allowed=("dysample", "bilinear"))
    with pytest.raises(ValueError, match=r"output_act must be one of 'tanh', 'none' \(None for 'none'\)"):
        choose("sigmoid", OutputActivation, "output_act", allowed=("tanh", "none"))


@pytest.mark.parametrize(
    "build, keyword",
    [
        (lambda: ResnetGenerator(2, 1, 1, 4, 1, norm="group"), "norm"),
        (lambda: ResnetGenerator(2, 1, 1, 4, 1, output_act="relu"), "output_act"),
        (lambda: StableUNet(2, 1, 1, (4, 8), upsample="nearest"), "upsample"),
        (lambda: GANLoss("wgan"), "gan_mode"),
        (lambda: make_method("cyclegan", hyperparameters={"generator": "vit", "ngf": 4, "n_blocks": 1}), "generator"),
    ],
)
def test_networks_and_losses_refuse_an_unknown_option_by_name(build, keyword):
    with pytest.raises(ValueError, match=rf"{keyword} must be one of"):
        build()


def test_the_spellings_configs_used_before_still_build_the_same_network():
    upper = ResnetGenerator(2, 1, 1, 4, 1, norm="INSTANCE")
    lower = ResnetGenerator(2, 1, 1, 4, 1, norm="instance")
    assert [type(m) for m in upper.modules()] == [type(m) for m in lower.modules()]
    assert StableUNet(2, 1, 1, (4, 8), norm=None).output_act == "none"
