"""Generators: shapes (2D, 3D, odd sizes), gradients to every parameter, reference parameter counts, export."""

import pytest
import torch
from torch.export import Dim, export

from common.networks import (
    EncoderDecoder,
    ResnetGenerator,
    StableUNet,
    UNetGenerator,
    make_ui2i_generators,
    patchgan,
    remove_absn,
)


def _count(net):
    return sum(p.numel() for p in net.parameters())


def _all_parameters_get_gradients(net, *inputs):
    net.train()
    out = net(*inputs)
    (out[0] if isinstance(out, tuple) else out).square().mean().backward()
    missing = [
        n for n, p in net.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert not missing, f"no gradient for {missing}"


def test_reference_parameter_counts():
    assert _count(ResnetGenerator(2, 3, 3)) == 11_378_179  # 11.378M
    assert _count(patchgan(2, 3)) == 2_764_737  # 2.765M


GENERATORS = {
    "resnet": lambda d, ci, co: ResnetGenerator(d, ci, co, ngf=8, n_blocks=2),
    "unet": lambda d, ci, co: UNetGenerator(d, ci, co, (8, 16, 32)),
    "unet_lanczos_attention": lambda d, ci, co: UNetGenerator(d, ci, co, (8, 16, 32), None, "lanczos", True),
    "ui2i": lambda d, ci, co: make_ui2i_generators(d, ci, co, (8, 16, 32))[0],
    "stable": lambda d, ci, co: EncoderDecoder(StableUNet(d, ci, 3, (8, 16, 32)), StableUNet(d, 3, co, (8, 16, 32))),
    "stable_bn": lambda d, ci, co: EncoderDecoder(
        StableUNet(d, ci, 3, (8, 16), norm="batch", demodulate=False),
        StableUNet(d, 3, co, (8, 16), norm="batch", demodulate=False),
    ),
    "stable_instance": lambda d, ci, co: EncoderDecoder(
        StableUNet(d, ci, 3, (8, 16), norm="instance"), StableUNet(d, 3, co, (8, 16), norm="instance")
    ),
}


@pytest.mark.parametrize("name", list(GENERATORS))
@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (1, 3, 37, 45)])
def test_generator_shapes_2d(name, shape):
    net = GENERATORS[name](2, 3, 2).eval()
    with torch.no_grad():
        assert net(torch.randn(shape)).shape == (shape[0], 2) + shape[2:]


@pytest.mark.parametrize("name", list(GENERATORS))
def test_generator_shapes_3d_odd(name):
    net = GENERATORS[name](3, 1, 1).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 1, 9, 13, 11)).shape == (1, 1, 9, 13, 11)


@pytest.mark.parametrize("name", list(GENERATORS))
def test_gradients_reach_every_parameter(name):
    torch.manual_seed(0)
    net = GENERATORS[name](2, 1, 1)
    _all_parameters_get_gradients(net, torch.randn(2, 1, 24, 24))


def test_ui2i_generators_share_the_bottleneck_and_expose_it():
    g_ab, g_ba = make_ui2i_generators(2, 3, 1, (8, 16, 32, 64))
    assert g_ab.bottleneck is g_ba.bottleneck
    shared = {id(p) for p in g_ab.parameters()} & {id(p) for p in g_ba.parameters()}
    assert len(shared) == len(list(g_ab.bottleneck.parameters())) > 0
    y, z = g_ab.forward_with_bottleneck(torch.randn(1, 3, 40, 40))
    assert y.shape == (1, 1, 40, 40) and z.shape == (1, 64, 5, 5)
    assert not any(isinstance(m, (torch.nn.InstanceNorm2d, torch.nn.BatchNorm2d)) for m in g_ab.modules())


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_replicated_borders_translate_a_flat_image_to_a_flat_one(spatial_dims):
    """Ui2i's generators (no feature norm, Lanczos upsampling, attention) pad with replicated edges: a flat input
    gives a flat output, with no frame. Zero padding, the U-Net's other choice, draws one (the test can fail)."""
    shape = (1, 3) + (24,) * spatial_dims
    flat = torch.full(shape, 0.9)  # a bright brightfield background
    torch.manual_seed(0)
    g_ab, _ = make_ui2i_generators(spatial_dims, 3, 3, (8, 16, 32))
    torch.manual_seed(0)
    zeros, _ = make_ui2i_generators(spatial_dims, 3, 3, (8, 16, 32), padding_mode="zeros")
    with torch.no_grad():
        out, framed = g_ab(flat), zeros(flat)
    spread = float(out.flatten(2).std(dim=2).max())  # over space, per channel
    assert spread < 1e-5 * (float(out.abs().mean()) + 1e-3)
    assert float(framed.flatten(2).std(dim=2).max()) > 100 * max(spread, 1e-7)
    with pytest.raises(ValueError, match="padding_mode"):
        UNetGenerator(2, 1, 1, (8, 16), padding_mode="circle")


def test_tanh_and_linear_outputs():
    x = 10 * torch.randn(1, 1, 16, 16)
    assert float(ResnetGenerator(2, 1, 1, 8, 1)(x).abs().max()) <= 1.0
    assert float(ResnetGenerator(2, 1, 1, 8, 1, output_act=None)(x).abs().max()) > 0  # linear: unbounded
    with pytest.raises(ValueError, match="output_act"):
        ResnetGenerator(output_act="relu")


def test_stable_encoder_keeps_full_resolution():
    enc = StableUNet(2, 1, 8, (8, 16, 32))
    assert enc(torch.randn(1, 1, 30, 26)).shape == (1, 8, 30, 26)
    generator = EncoderDecoder(enc, StableUNet(2, 8, 1, (8, 16, 32)))
    torch.testing.assert_close(generator.encode(torch.ones(1, 1, 16, 16)), enc(torch.ones(1, 1, 16, 16)))


# --- export: every generator scripts (TorchScript, for MONAI ckpt_export) and exports with dynamic sizes ----------


@pytest.mark.parametrize("name", list(GENERATORS))
def test_generators_script_and_match_eager_at_two_sizes(name):
    net = remove_absn(GENERATORS[name](2, 1, 1)).eval()  # ABSN parametrisations must go before scripting
    scripted = torch.jit.script(net)
    with torch.no_grad():
        for shape in ((1, 1, 32, 32), (2, 1, 45, 38)):  # DySample is scripted, not traced: any size works
            x = torch.randn(shape)
            torch.testing.assert_close(scripted(x), net(x))


def test_absn_parametrised_network_does_not_script_until_removed():
    net = make_ui2i_generators(2, 1, 1, (8, 16))[0].eval()
    with pytest.raises(Exception):  # noqa: B017 - TorchScript cannot compile parametrisations
        torch.jit.script(net)
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        before = net(x)
        torch.testing.assert_close(torch.jit.script(remove_absn(net))(x), before)


@pytest.mark.parametrize("name", ["resnet", "stable"])
def test_torch_export_with_dynamic_sizes(name):
    net = GENERATORS[name](2, 1, 1).eval()
    h, w = Dim("h", min=4, max=128) * 4, Dim("w", min=4, max=128) * 4
    program = export(net, (torch.randn(1, 1, 32, 32),), dynamic_shapes={"x": {2: h, 3: w}})
    x = torch.randn(1, 1, 48, 40)
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x), net(x))
