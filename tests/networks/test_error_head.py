"""The learned error head: shapes in 2D and 3D, a positive error, a config that rebuilds it, refused settings."""

import pytest
import torch

from common.networks import ErrorHead

SMALL = (4, 4, 8, 8, 16, 4)


@pytest.mark.parametrize("dims", [2, 3])
def test_head_maps_a_channels_to_one_error_per_b_channel(dims):
    head = ErrorHead(dims, in_channels=3, out_channels=2, features=SMALL)
    x = torch.randn((2, 3) + (36,) * dims)  # not a multiple of 16: BasicUNet pads its skips
    log_scale = head(x)
    assert log_scale.shape == (2, 2) + (36,) * dims
    error = head.error(x)
    assert torch.all(error > 0) and torch.allclose(error, torch.exp(log_scale))
    log_scale.mean().backward()
    assert all(p.grad is not None for p in head.parameters() if p.requires_grad)


@pytest.mark.parametrize("shape", [(1, 1, 16, 16, 16), (2, 1, 5, 40), (1, 1, 1, 1)])
def test_small_inputs_train_and_keep_their_size(shape):
    head = ErrorHead(len(shape) - 2, 1, 1, SMALL).train()  # instance norms need 2+ pixels at the deepest level
    out = head(torch.randn(shape))
    assert out.shape == shape
    out.mean().backward()


@pytest.mark.parametrize("conditioned", [True, False])
def test_config_rebuilds_the_same_head(conditioned):
    head = ErrorHead(2, 1, 2, SMALL, conditioned=conditioned)
    copy = ErrorHead(**head.config())
    copy.load_state_dict(head.state_dict())
    x, translation = torch.randn(1, 1, 32, 32), torch.randn(1, 2, 32, 32)
    torch.testing.assert_close(copy.eval()(x, translation), head.eval()(x, translation))


def test_configs_stored_before_conditioning_load_a_head_of_the_input_alone():
    head = ErrorHead(2, 3, 3, SMALL)
    old = {k: v for k, v in head.config().items() if k != "conditioned"}  # older model files
    restored = ErrorHead(**old)
    restored.load_state_dict(head.state_dict())
    assert not restored.conditioned


def test_a_conditioned_head_reads_the_translation_and_needs_it():
    head = ErrorHead(2, 1, 3, SMALL, conditioned=True).eval()
    x = torch.randn(2, 1, 36, 36)
    one, other = torch.randn(2, 3, 36, 36), torch.randn(2, 3, 36, 36)
    assert head(x, one).shape == (2, 3, 36, 36)
    assert not torch.allclose(head(x, one), head(x, other))
    with pytest.raises(ValueError, match="conditioned on the translation"):
        head(x)
    with pytest.raises(ValueError, match="does not match the input"):
        head(x, one[..., :32])
    plain = ErrorHead(2, 1, 3, SMALL).eval()
    torch.testing.assert_close(plain(x, one), plain(x))  # a head of the input alone ignores it


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"spatial_dims": 1}, "spatial_dims"),
        ({"in_channels": 0}, "channel counts"),
        ({"features": (4, 4, 8)}, "six positive widths"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ErrorHead(**({"features": SMALL} | kwargs))
