"""One normalisation object: the pipeline's transform, the streaming scaler and the inverse agree."""

import numpy as np
import pytest
import torch

from common.data import Normalization, normalization_transform

SETTINGS = [
    {},
    {"mode": "percentile", "lower": 0.0, "upper": 99.0, "clip": True},
    {"mode": "percentile", "lower": 1.0, "upper": 99.5, "b_min": -1.0, "b_max": 1.0},
    {"mode": "range", "a_min": 0.0, "a_max": 255.0, "clip": True},
    {"mode": "range", "a_min": 100.0, "a_max": 4000.0},
    {"mode": "none"},
    {"channel_wise": False},
    {"mode": "percentile", "lower": 0.0, "upper": 99.0, "clip": True, "channel_wise": False},
]


@pytest.mark.parametrize("config", SETTINGS)
def test_streaming_scaler_matches_the_pipeline_transform(config):
    rng = np.random.default_rng(0)
    image = rng.gamma(2.0, 300.0, size=(2, 24, 32)).astype(np.float32)
    norm = Normalization.from_config(config)
    image[1] *= 0.1  # channels of different brightness: a pooled scale keeps the ratio
    whole = np.asarray(norm(torch.as_tensor(image)))
    scalers = norm.scalers([image[c] for c in range(2)])  # one sample per channel, as the streamer takes them
    paged = np.stack([scalers[c](image[c]) for c in range(2)])
    np.testing.assert_allclose(paged, whole, rtol=1e-5, atol=1e-5)
    legacy = np.asarray(normalization_transform("image", **config)({"image": torch.as_tensor(image)})["image"])
    np.testing.assert_allclose(legacy, whole)
    if config.get("clip"):
        assert whole.min() >= norm.b_min and whole.max() <= norm.b_max


def test_pooled_percentiles_keep_an_empty_channel_near_zero():
    """A marker absent from an image: per channel its background noise is stretched to the full range, pooled it
    stays at the noise level, and both channels keep their ratio."""
    rng = np.random.default_rng(0)
    marker = np.zeros((32, 32), np.float32)
    marker[8:16, 8:16] = 200.0
    image = torch.as_tensor(np.stack([marker, rng.uniform(0, 2, (32, 32)).astype(np.float32)]))
    per_channel = Normalization()(image)
    pooled = Normalization(channel_wise=False)(image)
    assert float(per_channel[1].max()) > 0.9
    assert float(pooled[1].max()) < 0.02 and float(pooled[0].max()) == pytest.approx(1.0, abs=0.01)
    torch.testing.assert_close(pooled[1] / pooled[0].max(), image[1] / image[0].max(), atol=2e-3, rtol=0)


def test_defaults_are_percentile_0_1_to_99_9_onto_0_1():
    norm = Normalization.from_config(None)
    assert (norm.mode, norm.lower, norm.upper, norm.b_min, norm.b_max, norm.clip) == (
        "percentile",
        0.1,
        99.9,
        0,
        1,
        False,
    )
    image = torch.arange(1001, dtype=torch.float32).reshape(1, 7, 143)
    out = norm(image)
    assert float(torch.quantile(out, 0.001)) == pytest.approx(0.0, abs=1e-3)
    assert float(torch.quantile(out, 0.999)) == pytest.approx(1.0, abs=1e-3)


def test_a_fixed_range_is_inverted_exactly_and_a_percentile_one_is_left_alone():
    x = torch.linspace(0, 255, 50).reshape(1, 5, 10)
    rgb = Normalization.from_config({"mode": "range", "a_min": 0.0, "a_max": 255.0})
    torch.testing.assert_close(rgb.inverse(rgb(x)), x)
    y = torch.rand(1, 4, 4)
    assert torch.equal(Normalization().inverse(y), y)


def test_constant_channel_does_not_divide_by_zero():
    norm = Normalization.from_config({"b_min": 0.0})
    const = np.full((8, 8), 7.0, np.float32)
    assert np.all(norm.scaler(const)(const) == 0.0)


@pytest.mark.parametrize(
    "config, words",
    [
        ({"mode": "zscore"}, "mode"),
        ({"lower": 99.0, "upper": 1.0}, "percentiles"),
        ({"mode": "range", "a_min": 5.0, "a_max": 5.0}, "a_max"),
        ({"b_min": 1.0, "b_max": 0.0}, "b_max"),
        ({"upperr": 99.0}, "unknown normalization keys"),
        ({"clip": "sometimes"}, "'clip' must be true or false"),
        ({"channel_wise": 2}, "'channel_wise' must be true or false"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_error(config, words):
    with pytest.raises(ValueError, match=words):
        Normalization.from_config(config)


@pytest.mark.parametrize(
    "word, expected", [("false", False), ("False", False), ("true", True), ("off", False), (True, True)]
)
def test_switches_given_as_command_line_words_mean_what_they_say(word, expected):
    # ``--normalization_a '{"clip": false}'`` reaches the config as the string "false" (Fire), which is truthy
    norm = Normalization.from_config(
        {"mode": "percentile", "lower": 0.0, "upper": 50.0, "clip": word, "channel_wise": word}
    )
    assert norm.clip is expected and norm.channel_wise is expected
    image = np.arange(100, dtype=np.float32).reshape(1, 10, 10)
    out = np.asarray(norm(image))
    assert (out.max() > 1.5) is not expected  # the upper half of the ramp lies above 1 unless clipped
    assert norm.as_dict()["clip"] is expected
