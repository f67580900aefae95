import pytest
import torch

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.refit import iterative_least_squares_values, least_squares_values
from saevdb.sae_core.topk import topk_codes
from saevdb.sae_core.train import TrainConfig, build_and_fit


@pytest.fixture(scope="module")
def sgd_model(clusters):
    """A decoder as SGD left it, for the encoder's own supports: what CG starts from the encoder's values for."""
    model, _ = build_and_fit(
        clusters,
        SAEConfig(d=32, h=256, k=8, shortlist=1),
        TrainConfig(epochs=15, batch_size=256, seed=0, decoder_rounds=0),
        show_progress_bar=False,
    )
    return model


def _support(model, x):
    xn = model.preprocess(torch.from_numpy(x))
    target = xn - model.pre_bias
    with torch.no_grad():
        idx, values = topk_codes(model.encoder(target), model.config.k, signed=False)
    return idx, values, target.detach()


@pytest.mark.parametrize("nonneg", [True, False])
def test_conjugate_gradients_reach_the_exact_solution(sgd_model, clusters, nonneg):
    idx, values, target = _support(sgd_model, clusters[:500])
    exact = least_squares_values(idx, target, sgd_model.decoder, nonneg=nonneg).detach()
    # k steps solve a k × k system exactly, up to rounding.
    solved = iterative_least_squares_values(idx, target, sgd_model.decoder, values, nonneg=nonneg, steps=idx.shape[1])
    assert torch.allclose(solved, exact, atol=1e-4)
    assert nonneg == bool((solved >= 0).all())


def test_default_steps_get_close_from_the_encoder_values(sgd_model, clusters):
    idx, values, target = _support(sgd_model, clusters[:500])
    exact = least_squares_values(idx, target, sgd_model.decoder, nonneg=False).detach()
    solved = iterative_least_squares_values(idx, target, sgd_model.decoder, values, nonneg=False)
    assert (solved - exact).norm() < 0.1 * (values - exact).norm()


def test_the_starting_values_are_left_untouched(sgd_model, clusters):
    idx, values, target = _support(sgd_model, clusters[:50])
    before = values.clone()
    iterative_least_squares_values(idx, target, sgd_model.decoder, values, nonneg=True)
    assert torch.equal(values, before)
