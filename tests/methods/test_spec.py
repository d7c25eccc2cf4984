"""The model description: written once by training, loaded by every reader, rebuilding the generator alone."""

import json

import pytest
import torch

from common.errors import InputDataError
from common.methods import METHODS, ModelSpec, make_method, resolve_hyperparameters
from common.networks.absn import remove_absn

SMALL = {
    "stable": {"channels": [4, 8], "n_info": 2, "ndf": 4},
    "cyclegan": {"ngf": 4, "n_blocks": 2, "ndf": 4},
    "utom": {"ngf": 4, "n_blocks": 2, "ndf": 4},
    "cut": {"ngf": 4, "n_blocks": 2, "ndf": 4, "nce_layers": [0, 2]},
    "fastcut": {"ngf": 4, "n_blocks": 2, "ndf": 4, "nce_layers": [0, 2]},
    "ui2i": {"features": [4, 8, 16], "ndf": 4, "content_hidden": 8},
}


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("channels", [(1, 1), (1, 2)])
def test_the_generator_alone_takes_the_weights_of_the_trained_methods_generator(name, channels):
    """What ``build_generator`` builds without the discriminators is what training deploys: same parameter names
    and shapes, and with the trained weights the same output."""
    spec = ModelSpec.from_config(
        {"method": name, "channels_a": channels[0], "channels_b": channels[1], "hyperparameters": SMALL[name]}
    )
    torch.manual_seed(0)
    method = make_method(name, 2, *channels, resolve_hyperparameters(name, SMALL[name])).eval()
    trained = remove_absn(method.generator_ab).state_dict()
    alone = spec.build_generator().eval()
    assert {k: v.shape for k, v in alone.state_dict().items()} == {k: v.shape for k, v in trained.items()}
    alone.load_state_dict(trained)
    x = torch.rand(1, channels[0], 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(alone(x), method.generator_ab(x))
    assert sum(p.numel() for p in alone.parameters()) < sum(p.numel() for p in method.parameters())


def test_from_config_completes_hyperparameters_and_normalisations_and_survives_a_round_trip(tmp_path):
    spec = ModelSpec.from_config(
        {
            "task": "denoising",
            "method": "stable",
            "hyperparameters": {"channels": [4, 8]},
            "normalization_a": {"mode": "percentile", "lower": 1, "upper": 99},
            "patch_size": [64, 64],
        }
    )
    assert spec.hyperparameters == resolve_hyperparameters("stable", {"channels": [4, 8]})
    as_keywords = ModelSpec.from_config(method="stable", hyperparameters={"channels": [4, 8]}, task="denoising")
    assert as_keywords.hyperparameters == spec.hyperparameters and as_keywords.task == "denoising"
    assert spec.normalization_a["upper"] == 99 and spec.normalization_b["mode"]  # canonical, every key present
    path = spec.save(tmp_path / "model.pt")
    assert path == tmp_path / "model.json" and json.loads(path.read_text())["task"] == "denoising"
    again = ModelSpec.load(tmp_path / "model.pt")
    assert again.as_dict() == json.loads(json.dumps(spec.as_dict()))
    assert again["normalization_a"] == spec.normalization_a and again.get("training_data") is None  # the mapping view


def test_keys_this_version_does_not_know_are_kept_and_a_missing_model_json_gives_the_default(tmp_path):
    (tmp_path / "model.json").write_text(json.dumps({"method": "stable", "future_key": 3, "seed": 5}))
    spec = ModelSpec.load(tmp_path / "model.pt", {"task": "denoising", "method": "cyclegan"})
    assert spec.method == "stable" and spec.task == "denoising" and spec.extra == {"future_key": 3, "seed": 5}
    assert spec["future_key"] == 3 and json.loads(spec.save(tmp_path / "copy.json").read_text())["future_key"] == 3
    assert ModelSpec.load(tmp_path / "none" / "model.pt", {"method": "cyclegan"}).method == "cyclegan"


def test_a_model_of_another_task_warns_and_a_broken_or_incomplete_model_json_is_one_line(tmp_path):
    checkpoint = tmp_path / "model.pt"
    (tmp_path / "model.json").write_text(json.dumps({"task": "calcium", "method": "stable"}))
    with pytest.warns(UserWarning, match="trained for the calcium task, used here for denoising"):
        spec = ModelSpec.load(checkpoint, {"task": "denoising", "method": "stable"})
    assert spec.task == "calcium"
    for text, problem in (
        ("{not json", "not a valid model.json"),
        ("[1, 2]", "not a JSON object"),
        ('{"task": "denoising"}', "must name its method"),
        ('{"method": "pix2pix"}', "unknown method 'pix2pix'"),
    ):
        (tmp_path / "model.json").write_text(text)
        with pytest.raises(InputDataError, match=problem) as error:
            ModelSpec.load(checkpoint, {"task": "denoising"})
        assert "model.json" in str(error.value) and "\n" not in str(error.value)


def test_invalid_geometry_is_a_clear_error():
    with pytest.raises(ValueError, match="spatial_dims must be 2 or 3"):
        ModelSpec(method="stable", spatial_dims=4)
    with pytest.raises(ValueError, match="channel counts must be positive"):
        ModelSpec(method="stable", channels_b=0)
    with pytest.raises(ValueError, match="takes no hyper-parameter 'typo'"):
        ModelSpec(method="stable", hyperparameters={"typo": 1}).build_generator()
