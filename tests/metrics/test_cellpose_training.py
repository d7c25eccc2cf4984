"""Training a Cellpose model from label images (a short run; scripts/train_cellpose.py trains the full one)."""

import numpy as np
import pytest

from common.metrics import instance_metrics
from common.phantoms import make_phantoms, task_sampler
from common.segmentation import CellposeSegmenter, load_pairs, train_cellpose


def test_cellpose_trains_from_phantom_labels_and_segments(tmp_path):
    """A short run (the suite runs on one thread): the model learns and loads. The full run is
    scripts/train_cellpose.py."""
    samples = [task_sampler("mask_to_nuclei")(np.random.default_rng([1, i]), size=64) for i in range(5)]
    images = [s.b.data.astype(np.float32) for s in samples]
    labels = [s.labels_b.data.astype(np.int32) for s in samples]
    path, record = train_cellpose(images[:4], labels[:4], tmp_path, n_epochs=8, patch_size=64)
    assert path.exists() and record["epochs"] == 8
    assert record["final_loss"] < record["first_loss"]  # it learns
    found = CellposeSegmenter(str(path))(images[4], channel_first=False)
    assert found.shape == labels[4].shape and found.dtype == np.int32
    assert instance_metrics(labels[4], found)["n_reference"] == labels[4].max()


def test_label_pairs_are_matched_by_name(tmp_path):
    make_phantoms("mask_to_nuclei", tmp_path, n_train=1, n_test=2, size=32)
    images, masks = load_pairs(tmp_path / "testB", tmp_path / "testB_labels")
    assert len(images) == len(masks) == 2 and images[0].shape == masks[0].shape == (32, 32)
    with pytest.raises(ValueError, match="as many label images"):
        train_cellpose(images, masks[:1], tmp_path / "m")
