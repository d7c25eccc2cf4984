"""Details where our methods follow the authors' code (STABLE: NICALab/STABLE; CUT: taesungp/contrastive-unpaired-
translation), each pinned by a behaviour: discriminator size, intensity equivariance, stop-gradients, the cycle
ramp following the run, CUT's weighting and FastCUT's flip equivariance."""

import json
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser

import common
from common.methods import CUT, STABLE, FastCUT
from common.networks import lsgan_discriminator
from common.ops import DySample

SMALL_CUT = {"ngf": 4, "n_blocks": 1, "ndf": 4, "num_patches": 16, "embed_dim": 16}


def test_stable_discriminator_has_the_reference_size_and_field():
    disc = lsgan_discriminator(2, 1)  # ndf 64, three 4x4 stride-2 convolutions, 3x3 output
    assert sum(p.numel() for p in disc.parameters()) == 659_905
    x = torch.zeros(1, 1, 96, 96, requires_grad=True)
    disc.eval()(x)[0, 0, 6, 6].backward()  # one output patch
    rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
    assert int(rows.max() - rows.min() + 1) == 38  # receptive field, pixels


def _zero_biases(generator: torch.nn.Module) -> None:
    """Zero the only biased layers (DySample's offsets and the output heads' 1x1 convolutions)."""
    for module in generator.modules():
        if isinstance(module, DySample):
            torch.nn.init.zeros_(module.offset.weight)
        if isinstance(module, torch.nn.Conv2d) and module.bias is not None:
            torch.nn.init.zeros_(module.bias)


def test_calcium_generator_scales_its_output_with_its_input():
    method = STABLE(2, 1, 1, n_info=8, channels=(8, 16, 32), norm=None)
    generator = method.generator_ab.eval()
    _zero_biases(generator)
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        y, y3 = generator(x), generator(3.0 * x)
    assert float(y.abs().max()) > 0
    torch.testing.assert_close(y3, 3.0 * y, rtol=1e-4, atol=1e-6)


def _encoder_a_gradient(method: STABLE, a: torch.Tensor, b: torch.Tensor) -> list[torch.Tensor]:
    method.zero_grad()
    method.generator_step(a, b, step=0).loss.backward()
    return [p.grad.clone() for p in method.encoder_a.parameters()]


def test_information_consistency_stops_one_gradient_per_term():
    torch.manual_seed(0)
    method = STABLE(2, 1, 1, n_info=3, channels=(4, 8), lambda_adv=0.0, lambda_cyc=0.0)
    a, b = torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16)
    got = _encoder_a_gradient(method, a, b)
    # B -> A term: the re-encoded fake is held fixed, so nothing reaches decoder_a
    assert all(p.grad is None or not p.grad.any() for p in method.decoder_a.parameters())
    # A -> B term: encoder_A(a) is the fixed target; encoder_A still learns through the translation
    info_a = method.encoder_a(a)
    expected = method.lambda_info * (method.encoder_b(method.decoder_b(info_a)) - info_a.detach()).abs().mean()
    grads = torch.autograd.grad(expected, list(method.encoder_a.parameters()), retain_graph=True)
    for g, e in zip(got, grads, strict=True):
        torch.testing.assert_close(g, e)
    both_sides = (method.encoder_b(method.decoder_b(info_a)) - info_a).abs().mean() * method.lambda_info
    other = torch.autograd.grad(both_sides, list(method.encoder_a.parameters()))
    assert any(not torch.allclose(g, o) for g, o in zip(grads, other, strict=True))  # the stop-gradient matters


def test_bundle_ramps_the_cycle_weight_over_the_run_and_keeps_the_rate_constant():
    config = json.loads((Path(common.PROJECT_ROOT) / "bundles" / "calcium" / "configs" / "train.json").read_text())
    parser = ConfigParser(config)
    parser["max_iterations"] = 300
    parser["data_root"] = "unused"
    method = parser.get_parsed_content("method_def")
    assert method.cyc_weight.length == 300
    assert method.cyc_weight(0) == pytest.approx(0.0, abs=1e-9)
    assert method.cyc_weight(150) == pytest.approx(0.5 * method.cyc_weight.end, rel=1e-6)
    assert method.cyc_weight(300) == pytest.approx(method.cyc_weight.end)
    assert parser.get_parsed_content("lr_decay_start") == 300  # STABLE: constant learning rate
    assert method.pool_a.size == 0 and method.pool_b.size == 0  # no image pool in the reference


def test_denoising_bundle_uses_the_papers_weights_without_a_cycle_term():
    """STABLE (You et al., 2025) gives lambda_cyc 0 for its denoising experiments; the denoising bundle follows it,
    the calcium bundle keeps its ramped cycle term."""
    for task, cycle in (("denoising", 0.0), ("calcium", 1.0)):
        config = json.loads((Path(common.PROJECT_ROOT) / "bundles" / task / "configs" / "train.json").read_text())
        parser = ConfigParser(config)
        parser["max_iterations"] = 300
        parser["data_root"] = "unused"
        method = parser.get_parsed_content("method_def")
        assert method.cyc_weight(300) == pytest.approx(cycle) and method.lambda_info == 10.0
        real = torch.rand(1, 1, 16, 16)
        terms, _ = method.generator_terms(real, real, step=300)
        assert (float(terms["G_cyc_A"]) == 0.0) == (cycle == 0.0)


def test_cut_averages_the_two_nce_terms():
    torch.manual_seed(0)
    method = CUT(2, 1, 1, **SMALL_CUT)
    a, b = torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32)
    torch.manual_seed(1)
    out = method.generator_step(a, b, 0)
    torch.manual_seed(1)
    with torch.no_grad():
        nce = method._nce(a, method.generator_ab(a))
        nce_idt = method._nce(b, method.generator_ab(b))
    torch.testing.assert_close(out.terms["G_nce"], 0.5 * nce)
    torch.testing.assert_close(out.terms["G_nce_idt"], 0.5 * nce_idt)


def test_fastcut_translates_flipped_inputs_half_of_the_time():
    torch.manual_seed(0)
    method = FastCUT(2, 1, 1, **SMALL_CUT)
    assert method.flip_equivariance and not method.nce_idt
    a = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        plain, flipped = method.generator_ab(a), method.generator_ab(a.flip(-1))
    seen = set()
    for step in range(12):
        fake = method.generator_step(a, a, step).images["fake_B"].detach()
        if torch.allclose(fake, flipped):
            seen.add("flipped")
        elif torch.allclose(fake, plain):
            seen.add("plain")
    assert seen == {"flipped", "plain"}
