"""Uncertainty from the learned error head: the plain translation plus the head's map, written like the spread,
chosen by ``uncertainty_source``."""

import numpy as np
import pytest
import torch

from common.inference import (
    EnsembleTranslator,
    ErrorHeadTranslator,
    Outputs,
    split_uncertainty,
    translate_files,
    uncertainty_translator,
)
from common.inference.ensemble import dihedral_transforms
from common.io import load_image, write_tiff
from common.networks import ErrorHead

SMALL = (4, 4, 8, 8, 16, 4)


def _pair(channels_in=1, channels_out=1):
    torch.manual_seed(0)
    generator = torch.nn.Conv2d(channels_in, channels_out, 3, padding=1).eval()
    return generator, ErrorHead(2, channels_in, channels_out, SMALL).eval()


def test_output_is_the_plain_translation_then_the_heads_error():
    generator, head = _pair(2, 3)
    translator = ErrorHeadTranslator(generator, head)
    x = torch.randn(2, 2, 32, 40)
    with torch.no_grad():
        translation, error = split_uncertainty(translator(x), channel_dim=1)
        torch.testing.assert_close(translation, generator(x))
        torch.testing.assert_close(error, head.error(x))
    assert translator.passes == 1 and bool((error > 0).all())
    augmented = ErrorHeadTranslator(generator, head, spatial_dims=2, augment=True)
    with torch.no_grad():
        mean, averaged = split_uncertainty(augmented(x), channel_dim=1)
        assert torch.equal(mean, split_uncertainty(EnsembleTranslator([generator])(x), channel_dim=1)[0])
        maps = [inverse(head.error(forward(x))) for forward, inverse in dihedral_transforms(2)]
    torch.testing.assert_close(averaged, torch.stack(maps).mean(0))  # the head's map averaged over the same passes
    assert not torch.allclose(averaged, error)
    assert augmented.passes == 8 and "mean over test-time flips" in augmented.description
    with pytest.raises(ValueError, match="error head gives"):
        ErrorHeadTranslator(torch.nn.Conv2d(2, 1, 1), head)(x)


def test_a_conditioned_head_reads_the_translation_written():
    torch.manual_seed(0)
    generator = torch.nn.Conv2d(2, 3, 3, padding=1).eval()
    head = ErrorHead(2, 2, 3, SMALL, conditioned=True).eval()
    x = torch.randn(1, 2, 32, 32)
    with torch.no_grad():
        translation, error = split_uncertainty(ErrorHeadTranslator(generator, head)(x), channel_dim=1)
        torch.testing.assert_close(error, head.error(x, generator(x)))
        _, averaged = split_uncertainty(ErrorHeadTranslator(generator, head, 2, augment=True)(x), channel_dim=1)
        maps = [inverse(head.error(forward(x), generator(forward(x)))) for forward, inverse in dihedral_transforms(2)]
        torch.testing.assert_close(averaged, torch.stack(maps).mean(0))  # each pass's map of its own translation
        other = torch.nn.Conv2d(2, 3, 3, padding=1).eval()  # another generator: the same input, another map
        changed = split_uncertainty(ErrorHeadTranslator(other, head)(x), channel_dim=1)[1]
    assert not torch.allclose(changed, error)


def test_files_get_the_same_translation_as_without_the_option_and_a_map_with_their_geometry(tmp_path):
    rng = np.random.default_rng(0)
    write_tiff(tmp_path / "in" / "movie.tif", rng.integers(0, 4000, (3, 20, 24), dtype=np.uint16), "TYX",
               spacing={"X": 0.4, "Y": 0.4, "T": 2.0})  # fmt: skip
    generator, head = _pair()
    plain = translate_files(generator, tmp_path / "in", tmp_path / "plain")
    written = translate_files(
        ErrorHeadTranslator(generator, head),
        tmp_path / "in",
        tmp_path / "out",
        outputs=Outputs(uncertainty_dir=tmp_path / "u"),
    )
    assert [p.name for p in written] == ["movie.tif", "movie.tif"]
    a, t, u = (load_image(p, dtype=None) for p in (tmp_path / "in" / "movie.tif", written[0], written[1]))
    torch.testing.assert_close(t, load_image(plain[0], dtype=None))
    assert u.shape == a.shape and u.meta["spatial_axes"] == "TYX"
    np.testing.assert_allclose(u.meta["spacing"], a.meta["spacing"])
    assert float(u.min()) > 0


def test_source_chooses_the_head_or_the_spread(tmp_path):
    generator, head = _pair()
    spec = {"spatial_dims": 2}
    torch.save({"model": generator.state_dict()}, tmp_path / "plain.pt")
    torch.save({"model": generator.state_dict(), "error_head": {"config": head.config(), "state": head.state_dict()}},
               tmp_path / "with_head.pt")  # fmt: skip
    assert isinstance(uncertainty_translator(generator, spec, tmp_path / "with_head.pt", "spread"), EnsembleTranslator)
    assert isinstance(uncertainty_translator(generator, spec, tmp_path / "plain.pt", "auto"), EnsembleTranslator)
    chosen = uncertainty_translator(generator, spec, tmp_path / "with_head.pt", "auto", augment=False)
    assert isinstance(chosen, ErrorHeadTranslator) and not chosen.head.training and chosen.passes == 1
    assert uncertainty_translator(generator, spec, tmp_path / "with_head.pt", "error_head").passes == 8
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(split_uncertainty(chosen(x), channel_dim=1)[1], head.error(x))
    with pytest.raises(ValueError, match=r"plain\.pt: the model file has no learned error head"):
        uncertainty_translator(generator, spec, tmp_path / "plain.pt", "error_head")
    with pytest.raises(ValueError, match="uncertainty_source must be one of"):
        uncertainty_translator(generator, spec, tmp_path / "plain.pt", "heads")
