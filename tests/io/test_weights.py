"""Model weight files a user points at: each unusable kind ends in one line naming the file and the problem."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from common.errors import InputDataError
from common.io.weights import load_model_weights, read_weights

ROOT = Path(__file__).resolve().parents[2]


class CodeCarrier:
    """An object whose unpickling would run code: weights-only loading must refuse it."""

    def __reduce__(self):
        return (os.getcwd, ())


def _net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Conv2d(4, 1, 1))


def _cases(folder: Path) -> dict[str, tuple[Path, str]]:
    good = folder / "good.pt"
    torch.save({"model": _net().state_dict()}, good)
    cases = {}
    cases["missing"] = (folder / "absent.pt", "not found")
    (folder / "empty.pt").write_bytes(b"")
    cases["empty"] = (folder / "empty.pt", "empty")
    data = good.read_bytes()
    (folder / "truncated.pt").write_bytes(data[: len(data) // 2])
    cases["truncated"] = (folder / "truncated.pt", "truncated or damaged")
    (folder / "text.pt").write_text("this is a note, not a model\n")
    cases["text"] = (folder / "text.pt", "not a PyTorch model file")
    torch.save({"model": CodeCarrier()}, folder / "code.pt")
    cases["code"] = (folder / "code.pt", "refused: the file carries code")
    other = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.Conv2d(8, 1, 1))
    torch.save({"model": other.state_dict()}, folder / "other.pt")
    cases["wrong architecture"] = (folder / "other.pt", "does not fit this network")
    torch.save({"model": {"0.weight": "not a tensor"}}, folder / "no_weights.pt")
    cases["no weights"] = (folder / "no_weights.pt", "holds no network weights")
    return cases


@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "text", "code", "wrong architecture", "no weights"])
def test_unusable_model_files_end_in_one_line(tmp_path, kind):
    path, words = _cases(tmp_path)[kind]
    with pytest.raises(InputDataError) as error:
        load_model_weights(_net(), path)
    message = str(error.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message
    assert "weights_only" not in message and "trust" not in message.lower()  # no advice to turn the guard off
    assert error.value.__cause__ is None


def test_good_model_file_loads(tmp_path):
    torch.save({"model": _net().state_dict(), "error_head": {"w": torch.ones(1)}}, tmp_path / "m.pt")
    net = load_model_weights(_net(), tmp_path / "m.pt")
    assert isinstance(net, torch.nn.Module) and set(read_weights(tmp_path / "m.pt")) == {"model", "error_head"}
    assert net.training
    ready = load_model_weights(_net(), tmp_path / "m.pt", device="cpu")
    assert not ready.training and next(ready.parameters()).device.type == "cpu"


def test_bundle_inference_with_a_text_model_file_ends_in_one_line(tmp_path):
    import numpy as np

    from common.io import write_tiff

    images = tmp_path / "in"
    images.mkdir()
    write_tiff(images / "a.tif", np.zeros((32, 32), np.uint16), "YX")
    model = tmp_path / "model.pt"
    model.write_text("not a model")
    config = ROOT / "bundles" / "denoising" / "configs" / "inference.json"
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", str(config), "--dataset_dir", str(images)]
    cmd += ["--output_dir", str(tmp_path / "out"), "--checkpoint", str(model)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == f"error: {model}: not a PyTorch model file (or a damaged one)"
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
