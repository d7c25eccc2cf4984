"""Mixing consistency: a non-negative mix of the translated channels must explain the input."""

import pytest
import torch

from common.losses.mixing import mixing_residual


def _blobs(seed: int, size: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(1, 1, size, size)
    for _ in range(6):
        i, j = torch.randint(4, size - 4, (2,), generator=g).tolist()
        x[..., i - 3 : i + 3, j - 3 : j + 3] += 1.0
    return torch.nn.functional.avg_pool2d(x, 3, 1, 1)


@pytest.fixture
def markers():
    return _blobs(0), _blobs(1)  # a "nuclear" and a "membrane" marker


def test_an_exact_non_negative_mix_is_fully_explained_at_any_channel_scale(markers):
    nuc, mem = markers
    mixture = 0.7 * nuc + 2.0 * mem + 0.1
    assert float(mixing_residual(mixture, torch.cat([nuc, mem], 1))) < 1e-4
    assert float(mixing_residual(mixture, torch.cat([5.0 * nuc + 3.0, 0.01 * mem], 1))) < 1e-4
    assert float(mixing_residual(mixture, torch.cat([mixture, mixture], 1))) < 1e-4  # identity: a constraint only


def test_an_inverted_or_invented_channel_leaves_variance_unexplained_and_gets_a_gradient(markers):
    nuc, mem = markers
    mixture = nuc + mem
    inverted = torch.cat([nuc, 1.0 - mem], 1).requires_grad_(True)
    loss = mixing_residual(mixture, inverted)
    assert 0.2 < float(loss.detach()) <= 1.0
    loss.backward()
    assert float(inverted.grad.abs().sum()) > 0
    step = (inverted - 10.0 * inverted.grad).detach()  # one gradient step explains more of the input
    assert float(mixing_residual(mixture, step)) < float(loss.detach())
    invented = torch.cat([nuc, mem + _blobs(7)], 1)  # structure the input lacks
    assert float(mixing_residual(mixture, invented)) > 0.1


def test_block_averaging_batch_and_bad_arguments(markers):
    nuc, mem = markers
    mixture = torch.cat([nuc + mem, 2 * nuc + 0.5 * mem])
    components = torch.cat([torch.cat([nuc, mem], 1)] * 2)
    assert float(mixing_residual(mixture, components, block=4)) < 1e-4
    assert float(mixing_residual(torch.ones(1, 1, 8, 8), torch.rand(1, 2, 8, 8))) == 0.0  # a flat mixture
    with pytest.raises(ValueError, match="1 to 4 component channels"):
        mixing_residual(mixture[:1], torch.rand(1, 5, 32, 32))
    with pytest.raises(ValueError, match="same batch and size"):
        mixing_residual(mixture, torch.rand(2, 2, 16, 16))
    with pytest.raises(ValueError, match="block"):
        mixing_residual(mixture, components, block=0)
