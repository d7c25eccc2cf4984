"""The method switch: paper defaults read from the code, and the full hyper-parameters a model spec stores."""

import pytest
import torch

from common.methods import (
    ADDON_KEYS,
    METHODS,
    ModelSpec,
    make_method,
    method_defaults,
    resolve_hyperparameters,
)


@pytest.mark.parametrize("name", list(METHODS))
def test_defaults_are_the_methods_own_and_build_it(name):
    defaults = method_defaults(name)
    assert defaults and not set(defaults) & set(ADDON_KEYS)
    assert not {"spatial_dims", "channels_a", "channels_b"} & set(defaults)
    method = make_method(name, hyperparameters=resolve_hyperparameters(name))
    assert type(method) is METHODS[name]


def test_resolved_hyperparameters_fill_in_every_default_and_keep_the_given_ones():
    full = resolve_hyperparameters("stable", {"n_info": 4, "channels": [8, 16]})
    assert set(full) == set(method_defaults("stable"))
    assert full["n_info"] == 4 and full["channels"] == [8, 16]
    assert full["lambda_adv"] == method_defaults("stable")["lambda_adv"]
    assert resolve_hyperparameters("cyclegan", None) == method_defaults("cyclegan")


def test_unknown_method_or_keyword_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown method 'pix2pix'"):
        method_defaults("pix2pix")
    with pytest.raises(ValueError, match="'ngf_typo'"):
        resolve_hyperparameters("cyclegan", {"ngf_typo": 3})


def test_a_spec_saved_before_a_new_hyper_parameter_rebuilds_its_model_as_trained():
    """Ui2i's ``padding_mode`` came after models were saved: a stored spec without it rebuilds zero padding (what
    those weights were trained with), a spec written now stores today's default (replicated borders)."""
    old = {"method": "ui2i", "channels_a": 3, "channels_b": 3, "hyperparameters": {"features": [4, 8, 16], "ndf": 4}}
    new = old | {"hyperparameters": resolve_hyperparameters("ui2i", old["hyperparameters"])}
    assert new["hyperparameters"]["padding_mode"] == "replicate"
    convs = [
        {
            m.padding_mode
            for m in ModelSpec.from_dict(spec).build_method().generator_ab.modules()
            if isinstance(m, torch.nn.Conv2d) and max(m.padding) > 0
        }
        for spec in (old, new)
    ]
    assert convs == [{"zeros"}, {"replicate"}]


def test_a_ui2i_spec_saved_before_disc_norm_rebuilds_absn_discriminators():
    """``disc_norm`` came after models were saved with ABSN discriminators; its default is now instance norm. A
    training checkpoint of such a model must load into the rebuilt method (resume), so its spec rebuilds ABSN."""
    old = {"method": "ui2i", "channels_a": 1, "channels_b": 2, "hyperparameters": {"features": [4, 8, 16], "ndf": 4}}
    new = old | {"hyperparameters": resolve_hyperparameters("ui2i", old["hyperparameters"])}
    assert new["hyperparameters"]["disc_norm"] == "instance"
    rebuilt, today = ModelSpec.from_dict(old).build_method(), ModelSpec.from_dict(new).build_method()
    assert rebuilt.hyperparameters()["disc_norm"] == "absn" and today.hyperparameters()["disc_norm"] == "instance"
    trained = ModelSpec.from_dict(old).build_method().state_dict()
    rebuilt.load_state_dict(trained)  # the keys of an ABSN checkpoint match
    with pytest.raises(RuntimeError):
        today.load_state_dict(trained)


def test_switches_given_as_command_line_words_mean_what_they_say():
    # ``--hyperparameters#stable#demodulate false`` reaches the config as the string "false", which is truthy
    from common.networks.demod_conv import DemodulatedConv

    assert resolve_hyperparameters("stable", {"demodulate": "false"})["demodulate"] is False
    small = {"channels": [4, 8], "ndf": 8}
    plain = make_method("stable", hyperparameters=small | {"demodulate": "false"}, addons={"warmup_mixture": "true"})
    demod = make_method("stable", hyperparameters=small | {"demodulate": "True"}, addons={"warmup_mixture": "off"})
    assert not any(isinstance(m, DemodulatedConv) for m in plain.modules())
    assert any(isinstance(m, DemodulatedConv) for m in demod.modules())
    assert plain.warmup_mixture is True and demod.warmup_mixture is False
    assert make_method("cut", hyperparameters={"nce_idt": "no"}).nce_idt is False


def test_a_switch_that_is_no_boolean_is_refused_with_its_command_line_name():
    with pytest.raises(ValueError, match="hyperparameters#stable#disc_batch_norm"):
        resolve_hyperparameters("stable", {"disc_batch_norm": "sometimes"})
    with pytest.raises(ValueError, match="addons#polarity_per_channel"):
        make_method("cyclegan", addons={"polarity_per_channel": "maybe"})


def test_the_learning_rate_decays_as_the_method_s_paper_unless_the_bundle_says_otherwise():
    stable = make_method("stable", hyperparameters={"channels": [4, 8], "ndf": 4})
    cyclegan = make_method("cyclegan", hyperparameters={"ngf": 4, "n_blocks": 1, "ndf": 4})
    assert stable.lr_decay_start(4000) == 4000 and cyclegan.lr_decay_start(4000) == 2000  # constant vs half-way
    assert stable.lr_decay_start(4000, True) == 2000 and cyclegan.lr_decay_start(4000, "false") == 4000
    with pytest.raises(ValueError, match="lr_decay"):
        stable.lr_decay_start(4000, "sometimes")
