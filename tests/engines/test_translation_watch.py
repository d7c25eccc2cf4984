"""The steganography and object-count watch at validation: metrics into the evaluator's state, warnings, history,
and the generators left in the mode they were in."""

import logging
from types import SimpleNamespace

import numpy as np
import torch
from ignite.engine import Engine

from common.engines import TranslationWatch
from common.segmentation import ClassicalSegmenter

CHECKER = ((torch.arange(32)[:, None] + torch.arange(32)[None]) % 2 * 2 - 1).float()


class _Hide(torch.nn.Module):  # a flat-looking translation carrying the input in a checkerboard
    def forward(self, a):
        return 0.5 + 0.01 * CHECKER * a


class _Reveal(torch.nn.Module):
    def forward(self, b):
        return (b - 0.5) / 0.01 * CHECKER


def _method(ab, ba):
    return SimpleNamespace(generator_ab=torch.nn.Sequential(ab, torch.nn.Identity()), generator_ba=ba, dct_cutoff=1.0)


def _blobs(n=3):
    image = np.zeros((1, 32, 32), np.float32)
    for k in range(n):
        image[0, 4 + 9 * k : 9 + 9 * k, 10:16] = 1
    return torch.as_tensor(image)


def _run(watch):
    engine = Engine(lambda e, b: None)
    watch.attach(engine)
    engine.run([0], max_epochs=1)
    return engine.state.metrics


def test_a_hiding_cycle_trips_the_watch_and_warns(caplog):
    items = [{"image": torch.nn.functional.avg_pool2d(torch.rand(1, 1, 32, 32), 5, 1, 2)[0]} for _ in range(2)]
    watch = TranslationWatch(_method(_Hide(), _Reveal()), items)
    with caplog.at_level(logging.WARNING):
        metrics = _run(watch)
    assert metrics["val_hides_input"] == 1.0 and metrics["val_probe_noise_gain"] > 20
    assert "decodes a hidden copy" in caplog.text and watch.history[-1]["val_hides_input"] == 1.0


def test_an_honest_cycle_passes_and_object_counts_are_compared(caplog):
    method = _method(torch.nn.Identity(), torch.nn.Identity())
    method.generator_ab.train()
    watch = TranslationWatch(method, [{"image": _blobs(3)}], segmenter=ClassicalSegmenter(sigma=0.5))
    with caplog.at_level(logging.WARNING):
        metrics = _run(watch)
    assert metrics["val_hides_input"] == 0.0 and metrics["val_probe_noise_gain"] < 1.1
    assert metrics["val_objects_translation"] == metrics["val_objects_input"] == 3 and metrics["val_count_ratio"] == 1
    assert caplog.text == "" and method.generator_ab.training  # mode restored


def test_invented_objects_are_flagged(caplog):
    class Invent(torch.nn.Module):  # adds two nuclei the input does not have
        def forward(self, a):
            out = a.clone()
            out[..., 24:29, 24:30] = 1
            out[..., 2:6, 24:30] = 1
            return out

    watch = TranslationWatch(_method(Invent(), None), [{"image": _blobs(1)}], segmenter=ClassicalSegmenter(sigma=0.5))
    with caplog.at_level(logging.WARNING):
        metrics = _run(watch)
    assert metrics["val_count_ratio"] >= 2.5 and "invented or lost" in caplog.text
    assert "val_hides_input" not in metrics  # one-sided: no cycle to probe


def test_segmenter_settings_build_the_translation_and_input_segmenters():
    watch = TranslationWatch(
        _method(torch.nn.Identity(), None), [{"image": _blobs(3)}], segmenter={"sigma": 0.5, "channel": 0}
    )
    assert isinstance(watch.segmenter, ClassicalSegmenter) and isinstance(watch.segmenter_input, ClassicalSegmenter)
    assert watch.segmenter_input is not watch.segmenter
    metrics = _run(watch)
    assert metrics["val_objects_translation"] == metrics["val_objects_input"] == 3
