"""ABSN, attention, demodulated convolution and discriminators."""

import pytest
import torch
from torch import nn

from common.networks import (
    BidirectionalSpectralNorm,
    ChannelSpatialAttention,
    ContentDiscriminator,
    DemodulatedConv,
    absn_sigmas,
    apply_absn,
    final_output,
    lsgan_discriminator,
    patchgan,
    reestimate_absn,
    remove_absn,
    stacked_domain_discriminator,
)


@pytest.mark.parametrize(
    "make_layer",
    [
        lambda: nn.Conv2d(16, 32, 3),
        lambda: nn.Conv3d(8, 4, 3),
        lambda: nn.ConvTranspose2d(32, 16, 4),
        lambda: nn.Linear(20, 7),
        lambda: nn.Conv2d(64, 3, 7),
    ],
    ids=["conv2d", "conv3d", "conv_transpose2d", "linear", "conv2d_7x7"],
)
def test_absn_makes_the_rms_of_both_spectral_norms_one(make_layer):
    # the layer is drawn here, after seeding: drawn at collection, its weights followed whatever else the
    # worker had drawn before, and 30 power iterations were too few for some draws (CI saw 1.0225)
    torch.manual_seed(0)
    layer = make_layer()
    with torch.no_grad():
        layer.weight.mul_(5.0)
    apply_absn(layer)
    layer.train()
    for _ in range(300):  # power iteration converges over training steps (one iteration per step)
        _ = layer.weight
    sigma_fw, sigma_bw, rms = absn_sigmas(layer.weight)
    assert rms == pytest.approx(1.0, abs=0.005)
    # the forward and backward norms differ (it is their RMS that is normalised)
    raw = layer.parametrizations.weight.original
    exact_fw, exact_bw, _ = absn_sigmas(raw)
    assert sigma_fw / sigma_bw == pytest.approx(exact_fw / exact_bw, rel=1e-3)


def test_absn_estimates_are_lower_bounds_and_differentiable():
    conv = apply_absn(nn.Conv2d(4, 6, 3))
    param = next(p for p in conv.parametrizations.weight if isinstance(p, BidirectionalSpectralNorm))
    w = conv.parametrizations.weight.original
    est_fw, est_bw = param.sigmas(w)
    exact_fw, exact_bw, _ = absn_sigmas(w)
    assert float(est_fw) <= exact_fw + 1e-5 and float(est_bw) <= exact_bw + 1e-5
    conv(torch.randn(1, 4, 8, 8)).sum().backward()
    assert w.grad is not None
    remove_absn(conv)
    assert not hasattr(conv, "parametrizations") or "weight" not in conv.parametrizations


def test_reestimate_absn_recovers_the_spectral_norm_from_scrambled_vectors():
    torch.manual_seed(0)
    conv = apply_absn(nn.Conv2d(8, 12, 3)).eval()
    norm = next(p for p in conv.parametrizations.weight if isinstance(p, BidirectionalSpectralNorm))
    with torch.no_grad():  # shrunk and turned, as a moving average of the vectors leaves them
        for name in ("u_fw", "v_fw", "u_bw", "v_bw"):
            getattr(norm, name).copy_(0.3 * torch.randn_like(getattr(norm, name)))
    raw = conv.parametrizations.weight.original
    assert absn_sigmas(conv.weight)[2] > 1.5  # the layer now runs with a weight far too large
    reestimate_absn(conv, iterations=100)
    assert absn_sigmas(conv.weight)[2] == pytest.approx(1.0, abs=0.01)
    torch.testing.assert_close(conv.parametrizations.weight.original, raw)  # weights untouched


def test_absn_eval_mode_is_deterministic():
    conv = apply_absn(nn.Conv2d(3, 3, 3)).eval()
    x = torch.randn(1, 3, 8, 8)
    torch.testing.assert_close(conv(x), conv(x))


@pytest.mark.parametrize("spatial_dims, shape", [(2, (2, 16, 9, 11)), (3, (1, 8, 5, 6, 7))])
def test_channel_spatial_attention_is_residual_and_shape_preserving(spatial_dims, shape):
    attention = ChannelSpatialAttention(spatial_dims, shape[1])
    x = torch.randn(shape)
    out = attention(x)
    assert out.shape == shape
    gate = (out - x) / x  # the residual branch scales x by sigmoid gates in (0, 1)
    finite = x.abs() > 1e-3
    assert float(gate[finite].min()) > 0 and float(gate[finite].max()) < 1


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_demodulated_conv_has_unit_norm_filters(spatial_dims):
    conv = DemodulatedConv(spatial_dims, 6, 5, 3)
    weight = conv.effective_weight()  # (out, in, *k)
    norms = weight.flatten(1).norm(dim=1)
    torch.testing.assert_close(norms, torch.ones_like(norms), atol=1e-4, rtol=0)
    x = torch.randn((2, 6) + (7,) * spatial_dims)
    out = conv(x)
    assert out.shape == (2, 5) + (7,) * spatial_dims
    # a static weight: the filters do not depend on the input's brightness, so the layer is linear in it
    torch.testing.assert_close(conv(4.0 * x), 4.0 * out, rtol=1e-5, atol=1e-5)
    out.sum().backward()
    assert conv.weight.grad is not None and conv.bias is None
    # the raw weight's scale does not matter, only its direction
    with torch.no_grad():
        conv.weight.mul_(7.0)
        torch.testing.assert_close(conv(x), out.detach(), rtol=1e-5, atol=1e-5)


def test_demodulated_conv_gain_scales_the_unit_filters_and_is_validated():
    plain, gained = DemodulatedConv(2, 6, 5, 3), DemodulatedConv(2, 6, 5, 3, gain=2.0**0.5)
    gained.weight.data.copy_(plain.weight.data)
    norms = gained.effective_weight().flatten(1).norm(dim=1)
    torch.testing.assert_close(norms, torch.full_like(norms, 2.0**0.5), atol=1e-4, rtol=0)
    x = torch.randn(1, 6, 9, 9)
    torch.testing.assert_close(gained(x), 2.0**0.5 * plain(x), rtol=1e-5, atol=1e-5)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="gain"):
            DemodulatedConv(2, 6, 5, 3, gain=bad)


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_demodulated_conv_padding_mode_matches_torch_conv(spatial_dims):
    """Replicated padding gives what torch's own convolution gives with the same (demodulated) filters."""
    conv = DemodulatedConv(spatial_dims, 3, 4, 3, padding_mode="replicate")
    torch_conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
    reference = torch_conv(3, 4, 3, padding=1, bias=False, padding_mode="replicate")
    with torch.no_grad():
        reference.weight.copy_(conv.effective_weight())
    x = torch.randn((1, 3) + (6,) * spatial_dims)
    torch.testing.assert_close(conv(x), reference(x), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(conv(x), DemodulatedConv(spatial_dims, 3, 4, 3).requires_grad_(False)(x))
    with pytest.raises(ValueError, match="padding_mode"):
        DemodulatedConv(spatial_dims, 3, 4, 3, padding_mode="edge")


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_stable_unet_replicated_borders_translate_a_flat_image_to_a_flat_one(spatial_dims):
    """With ``padding_mode="replicate"`` every 3x3 convolution of the STABLE U-Net (demodulated or plain, the
    up-path's and the head's) sees an unbroken field at the border: a flat input gives a flat output. Zero padding,
    the reference's choice, draws a frame (the test can fail)."""
    from common.networks import EncoderDecoder, StableUNet

    flat = torch.full((1, 1) + (16,) * spatial_dims, 0.7)
    out = {}
    for mode in ("replicate", "zeros"):
        for demodulate in (True, False):
            torch.manual_seed(0)
            net = EncoderDecoder(
                StableUNet(spatial_dims, 1, 4, (4, 8), demodulate=demodulate, padding_mode=mode),
                StableUNet(spatial_dims, 4, 1, (4, 8), demodulate=demodulate, padding_mode=mode),
            ).eval()
            with torch.no_grad():
                out[mode, demodulate] = net(flat)
    for demodulate in (True, False):
        replicated, zeros = out["replicate", demodulate], out["zeros", demodulate]
        scale = float(replicated.abs().mean()) + 1e-3
        assert float(replicated.std()) < 1e-5 * scale
        assert float(zeros.std()) > 100 * max(float(replicated.std()), 1e-7)


def test_stable_unet_demod_gain_keeps_the_signal_through_the_relus():
    """Unit-norm filters followed by ReLUs halve the signal's second moment per layer (the reference's U-Net at
    initialisation: its deepest features are ~10x weaker than its first); He's gain sqrt(2) keeps the scale."""
    from common.networks import StableUNet

    x = torch.rand(2, 1, 64, 64)

    def contract_rms(gain: float) -> list[float]:
        torch.manual_seed(0)
        net = StableUNet(2, 1, 8, (8, 16, 32), demod_gain=gain)
        rms: list[float] = []
        for block in net.contract:
            block.register_forward_hook(lambda m, i, o: rms.append(float(o.pow(2).mean().sqrt())))
        with torch.no_grad():
            net(x)
        return rms

    plain, gained = contract_rms(1.0), contract_rms(2.0**0.5)
    assert plain[-1] < 0.7 * plain[0]
    assert 0.6 < gained[-1] / gained[0] < 1.6
    # the gain is linear: the network stays intensity-equivariant (no biases in the level convolutions)
    torch.manual_seed(1)
    net = StableUNet(2, 1, 1, (8, 16), upsample="bilinear", demod_gain=2.0**0.5)
    with torch.no_grad():
        net.head[-1].bias.zero_()  # the one bias of the network
        torch.testing.assert_close(net(3.0 * x), 3.0 * net(x), rtol=1e-4, atol=1e-5)


def test_discriminators_shapes():
    x = torch.randn(2, 3, 64, 64)
    assert final_output(patchgan(2, 3, 8)(x)).shape == (2, 1, 6, 6)
    assert final_output(lsgan_discriminator(2, 3, 8)(x)).shape == (2, 1, 8, 8)
    scales = final_output(lsgan_discriminator(2, 3, 8, num_scales=2)(x))
    assert [s.shape[-1] for s in scales] == [8, 4]
    stacked = stacked_domain_discriminator(2, 3, 1, 8)
    assert final_output(stacked(torch.randn(2, 4, 64, 64))).shape == (2, 3, 6, 6)
    assert final_output(patchgan(3, 1, 8)(torch.randn(1, 1, 32, 32, 32))).shape[1] == 1
    z = torch.randn(1, 64, 16, 16)
    assert ContentDiscriminator(2, 64, 16)(z).shape == (1, 1, 4, 4)


@pytest.mark.parametrize(
    "make, channels",
    [
        (lambda: patchgan(2, 2, 8), 2),
        (lambda: lsgan_discriminator(2, 2, 8, num_scales=2), 2),
        (lambda: stacked_domain_discriminator(2, 1, 1, 8), 2),
        (lambda: ContentDiscriminator(2, 2, 8), 2),
    ],
)
def test_discriminator_gradients_reach_every_parameter(make, channels):
    torch.manual_seed(0)
    net = make()
    out = final_output(net(torch.randn(2, channels, 64, 64)))
    sum(o.square().mean() for o in (out if isinstance(out, list) else [out])).backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient for {missing}"


def test_patchgan_scripts():
    net = patchgan(2, 1, 8).eval()
    scripted = torch.jit.script(net)
    x = torch.randn(1, 1, 48, 40)
    torch.testing.assert_close(scripted(x)[-1], net(x)[-1])
