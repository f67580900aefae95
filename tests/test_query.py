import numpy as np
import pytest
import torch

from saevdb.sae_core.query import query_vectors


def _projection(model, queries: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.project_query(torch.from_numpy(queries)).numpy()


def test_full_signed_query_is_the_projection(trained, clusters):
    queries = clusters[:5].astype(np.float32)
    weights = query_vectors(trained, queries, "asymmetric", trained.config.h).toarray()
    np.testing.assert_allclose(weights, _projection(trained, queries), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("k", [1, 16, 64])
def test_cut_query_keeps_the_largest_positive_weights(trained, clusters, k):
    queries = clusters[:5].astype(np.float32)
    weights = query_vectors(trained, queries, "asymmetric_nonneg", k)
    assert weights.has_canonical_format
    full = _projection(trained, queries)
    for row, projected in zip(weights, full, strict=True):
        expected = np.argsort(-projected)[:k]
        expected = expected[projected[expected] > 0]
        assert sorted(row.indices.tolist()) == sorted(expected.tolist())
        np.testing.assert_allclose(row.data, projected[row.indices], rtol=1e-5)
