"""Model selection as one component: supervised where the validation split has aligned truth, unsupervised
otherwise, with the direction of its key metric, run by MONAI's evaluator and kept by the best-model saver."""

import torch
from monai.data import DataLoader, Dataset

from common.engines import ModelSaver, Selection, SelectionEvaluator, SelectionNetwork, validation_items
from common.methods import make_method
from common.phantoms import make_phantoms

TINY = {"channels": (4, 8), "n_info": 2, "ndf": 4}


def test_selection_follows_the_validation_split(tmp_path):
    make_phantoms("phase_to_dapi", tmp_path, n_train=1, n_test=1, n_val=2, size=32)
    method = make_method("stable", 2, 1, 1, TINY)
    supervised = Selection(tmp_path, method, size=(32, 32), channels_b=1)
    assert supervised.ground_truth and supervised.higher_is_better and supervised.key_metric == "val_psnr"
    assert supervised.network is method.generator_ab and list(supervised.additional_metrics) == ["val_pcc"]
    assert supervised.metric_cmp_fn(2.0, 1.0) and not supervised.metric_cmp_fn(1.0, 2.0)
    for f in (tmp_path / "valB").iterdir():
        f.unlink()
    unsupervised = Selection(tmp_path, method, size=(32, 32), channels_b=1, polarity=1)
    assert not unsupervised.ground_truth and unsupervised.key_metric == "val_selection"
    assert isinstance(unsupervised.network, SelectionNetwork) and "val_structure" in unsupervised.additional_metrics
    assert unsupervised.metric_cmp_fn(1.0, 2.0) and not unsupervised.metric_cmp_fn(2.0, 1.0)


def test_the_evaluator_selects_and_the_saver_keeps_the_best_by_its_direction(tmp_path):
    """Without ground truth lower is better: a run of the evaluator writes best_model.pt the first time, and again
    only when the selection score falls."""
    make_phantoms("phase_to_dapi", tmp_path / "data", n_train=1, n_test=1, n_val=2, size=32)
    for f in (tmp_path / "data" / "valB").iterdir():
        f.unlink()
    method = make_method("stable", 2, 1, 1, TINY)
    selection = Selection(tmp_path / "data", method, size=(32, 32), channels_b=1)
    items = validation_items(tmp_path / "data", size=(32, 32))
    saver = ModelSaver(tmp_path / "best_model.pt", network=method.generator_ab, best=True)
    evaluator = SelectionEvaluator(
        torch.device("cpu"), DataLoader(Dataset(items), batch_size=2), selection, val_handlers=[saver]
    )
    evaluator.run()
    first = float(evaluator.state.metrics["val_selection"])
    assert evaluator.state.key_metric_name == "val_selection" and saver.best == first
    stamp = (tmp_path / "best_model.pt").stat().st_mtime_ns
    saver.best = first - 1.0  # pretend an earlier validation scored better (lower)
    evaluator.run()
    assert (tmp_path / "best_model.pt").stat().st_mtime_ns == stamp and saver.best == first - 1.0
    saver.best = first + 1.0  # and now worse
    evaluator.run()
    assert saver.best == float(evaluator.state.metrics["val_selection"])
