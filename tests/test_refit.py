import pytest
import torch

from saevdb.sae_core.refit import iterative_least_squares_values, least_squares_values
from saevdb.sae_core.topk import topk_codes


def _support(model, x):
    xn = model.preprocess(torch.from_numpy(x))
    target = xn - model.pre_bias
    with torch.no_grad():
        idx, values = topk_codes(model.encoder(target), model.config.k, signed=False)
    return idx, values, target.detach()


@pytest.mark.parametrize("nonneg", [True, False])
def test_conjugate_gradients_reach_the_exact_solution(trained, clusters, nonneg):
    idx, values, target = _support(trained, clusters[:500])
    exact = least_squares_values(idx, target, trained.decoder, nonneg=nonneg).detach()
    # k steps solve a k × k system exactly, up to rounding.
    solved = iterative_least_squares_values(idx, target, trained.decoder, values, nonneg=nonneg, steps=idx.shape[1])
    assert torch.allclose(solved, exact, atol=1e-4)
    assert nonneg == bool((solved >= 0).all())


def test_default_steps_get_close_from_the_encoder_values(trained, clusters):
    idx, values, target = _support(trained, clusters[:500])
    exact = least_squares_values(idx, target, trained.decoder, nonneg=False).detach()
    solved = iterative_least_squares_values(idx, target, trained.decoder, values, nonneg=False)
    assert (solved - exact).norm() < 0.1 * (values - exact).norm()


def test_the_starting_values_are_left_untouched(trained, clusters):
    idx, values, target = _support(trained, clusters[:50])
    before = values.clone()
    iterative_least_squares_values(idx, target, trained.decoder, values, nonneg=True)
    assert torch.equal(values, before)
