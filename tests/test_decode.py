import numpy as np
import torch

from saevdb.sae_core.decode import rerank_vectors
from saevdb.sae_core.encode import encode


def test_cosine_valued_codes_rerank_by_the_engines_full_width_score(trained, clusters, reconstruct):
    """Stored values are z/|x̂|, so `z_stored · W_dec q̄ = q̄ · (x̂ − b_pre)/|x̂|` for any query."""
    assert trained.config.cosine_values
    vectors = rerank_vectors(trained, encode(trained, clusters[:200], show_progress_bar=False))
    decoded = reconstruct(trained, clusters[:200])
    bias = trained.pre_bias.detach().numpy()
    expected = (decoded - bias) / np.linalg.norm(decoded, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-4, atol=1e-5)


def test_raw_values_rerank_by_the_reconstructions_directions(trained, clusters, variant, reconstruct):
    raw = variant(trained, cosine_values=False)
    vectors = rerank_vectors(raw, encode(raw, clusters[:200], show_progress_bar=False))
    decoded = reconstruct(raw, clusters[:200])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, rtol=1e-5)
    cosines = (vectors * decoded).sum(1) / np.linalg.norm(decoded, axis=1)
    np.testing.assert_allclose(cosines, 1, rtol=1e-5)


def test_a_model_of_raw_inputs_keeps_the_reconstructions(trained, clusters, variant):
    raw = variant(trained, normalize=False, cosine_values=False)
    codes = encode(raw, clusters[:50], show_progress_bar=False)
    with torch.no_grad():
        decoded = raw.decode(torch.from_numpy(codes.toarray())).numpy()
    np.testing.assert_allclose(rerank_vectors(raw, codes), decoded, rtol=1e-5, atol=1e-6)
