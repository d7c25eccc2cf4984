"""Inference tiling: whole images when they fit, large blended tiles beyond, without seams; any image size."""

import numpy as np
import pytest
import tifffile
import torch
from monai.inferers import SlidingWindowInferer

from common.inference import FrameInferer, Tiling, translate_files
from common.inference.translate import TileInferer
from common.methods import STABLE, make_method
from common.metrics.review import review_scores


def _generator(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return STABLE(2, 1, 1, n_info=8, channels=(8, 16, 32)).generator_ab.eval()


def _smooth(size: int = 320) -> torch.Tensor:
    y, x = torch.meshgrid(torch.linspace(0, 3, size), torch.linspace(0, 2, size), indexing="ij")
    return (0.5 + 0.25 * torch.sin(x * 2.1) * torch.cos(y * 1.7))[None, None]


def test_tiled_translation_matches_the_whole_image_and_shows_no_grid():
    net, image = _generator(), _smooth()
    with torch.no_grad():
        whole = TileInferer(2, tile=None)(image, net)
        tiled = TileInferer(2, tile=128, overlap=0.5)(image, net)
        small = torch.nn.Identity()
        assert torch.equal(TileInferer(2, tile=512)(image, small), image)  # fits: one pass, untouched
    truth = image[0, 0].numpy()
    gap = review_scores(tiled[0, 0].numpy(), truth)["psnr"] - review_scores(whole[0, 0].numpy(), truth)["psnr"]
    assert abs(gap) < 0.2
    agreement = review_scores(tiled[0, 0].numpy(), whole[0, 0].numpy())["psnr"]
    with torch.no_grad():  # what inference did before: tiles of the training patch, overlap 0.25
        before = SlidingWindowInferer([96, 96], 4, overlap=0.25, mode="gaussian", padding_mode="reflect")(image, net)
    assert agreement > 35 and agreement > review_scores(before[0, 0].numpy(), whole[0, 0].numpy())["psnr"] + 3
    flat = torch.full((1, 1, 300, 300), 0.4)
    with torch.no_grad():
        out = TileInferer(2, tile=128)(flat, net)[0, 0, 40:-40, 40:-40]  # interior: no image border effects
    assert float(out.std()) < 1e-3 * max(float(out.abs().mean()), 1e-6) + 1e-5


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (37, 53), (64, 64)])
def test_any_image_size_translates_with_its_shape(tmp_path, shape):
    rng = np.random.default_rng(0)
    tifffile.imwrite(tmp_path / "in.tif", rng.integers(0, 4000, shape).astype(np.uint16))
    for name, hyper in [("stable", {"channels": (8, 16, 32)}), ("cyclegan", {"ngf": 4, "n_blocks": 1, "ndf": 4})]:
        net = make_method(name, 2, 1, 1, hyper).generator_ab
        out = translate_files(net, tmp_path / "in.tif", tmp_path / name, tiling=Tiling(roi_size=(32, 32)))
        result = tifffile.imread(out[0])
        assert result.squeeze().shape == np.zeros(shape).squeeze().shape and np.isfinite(result).all()


def test_frame_inferer_uses_the_tile():
    inferer = FrameInferer(2, roi_size=(64, 64))
    net = _generator()
    x = _smooth(96)
    with torch.no_grad():
        torch.testing.assert_close(inferer(x, net), TileInferer(2, 64)(x, net))
