"""OpenSearch 3.x beside 2.19 (the registry's "opensearch3"): the 3.5 node assembles from Maven Central
(its integ-test zip ships mapper-extras and lang-painless; k-NN 3.5.0.0 is added), starts on a Java 21+
JDK found by `distribution.java_home`, serves the codes' rank_features index and the two-stage search
as 2.19 does, and builds every local option `compare` sweeps on it (`options.COMPARE_OPTIONS_3`).
Skipped, saying why, without such a JDK."""

from __future__ import annotations

import numpy as np
import pytest

from integration_tests.launchers import running, skip_unless_runnable
from saevdb.adapters import ModelInfo
from saevdb.adapters.opensearch.dense import to_sign_bits
from saevdb.adapters.opensearch.distribution import VERSION_3, java_home
from saevdb.adapters.opensearch.options import COMPARE_OPTIONS_3
from saevdb.sae_core.search import exact_topk

LOCAL = [option for option in COMPARE_OPTIONS_3 if option.server_only is None]
ROWS = np.random.default_rng(2).choice(5000, size=40, replace=False)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def node_3x():
    skip_unless_runnable("opensearch3")
    try:
        java_home(VERSION_3)
    except RuntimeError as e:
        pytest.skip(str(e))
    with running("opensearch3") as node:
        yield node


def test_the_3x_node_serves_the_codes_and_their_two_stage_search(node_3x, model, codes, vectors):
    client = node_3x.client()
    assert client.info()["version"]["number"] == VERSION_3
    client.close()
    adapter = node_3x.sparse_adapter(ModelInfo.of(model), "codes", originals=True)
    adapter.recreate()
    try:
        adapter.upsert(np.arange(codes.shape[0]), codes, originals=vectors)
        adapter.optimize()
        ids, scores = adapter.search(codes[:20], 10)
        inner = (codes[:20] @ codes.T).toarray()  # the exact inner products of the codes
        assert adapter.count() == codes.shape[0]
        np.testing.assert_allclose(scores, np.take_along_axis(inner, ids, axis=1), rtol=2**-7)
        np.testing.assert_allclose(scores[:, 0], inner.max(axis=1), rtol=2**-7)
        found, cosines = adapter.search(codes[ROWS], 10, rescore_queries=vectors[ROWS], rescore_depth=50)
        exact = np.einsum("qkd,qd->qk", unit(vectors)[found], unit(vectors[ROWS]))
        np.testing.assert_allclose(cosines, exact, rtol=1e-4, atol=1e-6)
    finally:
        adapter.drop()
        adapter.close()


@pytest.mark.parametrize("option", LOCAL, ids=[o.method for o in LOCAL])
def test_each_3x_option_builds_and_rescoring_gives_exact_cosines(node_3x, vectors, option):
    """Rescored settings return the exact cosines of the float32 vectors (the knn query's rescore is
    honoured, unlike 2.19's; on Lucene it re-scores the hits, it does not widen them: the recall
    stays the quantized search's); the others the quantized scores, a few hundredths off; binary
    vectors the estimate `cos(π · hamming / d)` of their sign bits, exactly."""
    name = f"opt-{option.build.get('quantization', 'f32')}"
    dense = node_3x.dense_adapter(vectors.shape[1], name, **option.build)
    dense.recreate()
    try:
        dense.upsert(np.arange(5000), vectors)
        dense.optimize()
        assert dense.count() == 5000
        truth, _ = exact_topk(unit(vectors[ROWS]), unit(vectors), 10)
        binary = option.build.get("quantization") == "binary"
        for setting in option.searches:
            found, scores = dense.search(vectors[ROWS], 10, **setting.params)
            recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
            assert recall >= (0.95 if option.originals_searched else 0.2 if binary else 0.6), (setting.label, recall)
            if binary:
                bits = np.unpackbits(to_sign_bits(vectors).view(np.uint8), axis=1)
                hamming = (bits[found] != bits[ROWS][:, None, :]).sum(axis=2)
                np.testing.assert_allclose(scores, np.cos(np.pi * hamming / vectors.shape[1]), atol=1e-5)
                continue
            exact = np.einsum("qkd,qd->qk", unit(vectors)[found], unit(vectors[ROWS]))
            exact_enough = option.originals_searched or setting.rescore
            np.testing.assert_allclose(scores, exact, atol=1e-4 if exact_enough else 0.2)
            if not exact_enough:
                assert np.abs(scores - exact).max() > 1e-4, (option.method, setting.label, "scores look rescored")
    finally:
        dense.drop()
        dense.close()
