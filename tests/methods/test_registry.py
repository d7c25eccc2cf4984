"""The method switch: paper defaults read from the code, and the full hyper-parameters a model spec stores."""

import pytest

from common.methods import ADDON_KEYS, METHODS, make_method, method_defaults, resolve_hyperparameters


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
