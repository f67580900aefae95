import numpy as np
import pytest
import scipy.sparse as sp

from saevdb.sae_core.baselines import BASELINES
from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.decode import rerank_vectors
from saevdb.sae_core.encode import encode
from saevdb.sae_core.evaluate import EvalConfig, bytes_per_vector, evaluate
from saevdb.sae_core.metrics import ndcg_at, recall_at
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.search import exact_topk


def test_recall_and_ndcg_on_hand_made_lists():
    truth = np.array([[1, 2, 3, 4]])
    assert recall_at(truth, np.array([[2, 1, 9, 8]]), 2) == 1.0
    assert recall_at(truth, np.array([[9, 1, 8, 7]]), 2) == 0.5
    assert ndcg_at(truth, truth, 4) == pytest.approx(1.0)
    assert ndcg_at(truth, np.array([[2, 1, 3, 4]]), 4) < 1.0


def test_exact_topk_dense_and_sparse_agree_and_exclude_self():
    rng = np.random.default_rng(0)
    x = rng.random((50, 8)).astype(np.float32)
    ids_dense, scores = exact_topk(x[:5], x, 3, exclude=np.arange(5), block_size=2)
    ids_sparse, _ = exact_topk(sp.csr_matrix(x[:5]), sp.csr_matrix(x), 3, exclude=np.arange(5))
    np.testing.assert_array_equal(ids_dense, ids_sparse)
    assert not (ids_dense == np.arange(5)[:, None]).any()
    assert (np.diff(scores, axis=1) <= 0).all()
    every, _ = exact_topk(x[:5], x, 50, exclude=np.arange(5))
    assert (every[:, -1] == -1).all() and not (every[:, :-1] == np.arange(5)[:, None]).any()


def test_bytes_per_vector():
    assert bytes_per_vector(32, 4096, "float16") == 128
    assert bytes_per_vector(42, 4096, "uint8") == 126
    assert bytes_per_vector(32, 100_000, "float32") == 256


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_each_baseline_respects_its_budget(name, clusters):
    db, q, size = BASELINES[name](clusters[:1000], clusters, clusters[:10], 16)
    assert db.shape[0] == 3000 and q.shape[0] == 10 and db.shape[1] == q.shape[1]
    assert size <= (32 if name == "int8_scalar" else 16)


def test_report_has_the_promised_keys(trained, clusters):
    report = evaluate(
        trained,
        clusters,
        np.arange(50),
        np.arange(50, 3000),
        EvalConfig(rerank=20, baselines=("pca_int8", "product_quantization")),
    )
    for key in ("recall_at_10", "bytes_per_vector", "compression_ratio", "baselines", "modes"):
        assert key in report
    assert report["headline_mode"] == "asymmetric_nonneg+rerank"
    assert set(report["baselines"]) == {"pca_int8", "product_quantization"}
    assert report["baselines"]["pca_int8"]["bytes_per_vector"] == report["bytes_per_vector"] == 32
    assert report["modes"]["symmetric"]["recall_at_10"] > 0.2


def test_uint8_values_rank_close_to_float16(trained, clusters):
    config = {"rerank": 20, "baselines": ()}
    half = evaluate(trained, clusters, np.arange(50), np.arange(50, 3000), EvalConfig(**config))
    byte = evaluate(trained, clusters, np.arange(50), np.arange(50, 3000), EvalConfig(value_dtype="uint8", **config))
    assert byte["bytes_per_vector"] == half["bytes_per_vector"] * 3 // 4
    assert byte["recall_at_10"] >= half["recall_at_10"] - 0.05


def test_unknown_baseline_and_mode_are_rejected(trained, clusters):
    with pytest.raises(ValueError, match="value dtype"):
        evaluate(trained, clusters, np.arange(5), np.arange(5, 100), EvalConfig(value_dtype="int4"))
    signed = SparseAutoencoder(SAEConfig(d=trained.config.d, h=trained.config.h, k=trained.config.k, signed=True))
    with pytest.raises(ValueError, match="non-negative"):
        evaluate(signed, clusters, np.arange(5), np.arange(5, 100), EvalConfig(value_dtype="uint8"))
    with pytest.raises(ValueError, match="unknown baselines"):
        evaluate(trained, clusters, np.arange(5), np.arange(5, 100), EvalConfig(baselines=("nope",)))
    with pytest.raises(ValueError, match="query mode"):
        evaluate(trained, clusters, np.arange(5), np.arange(5, 100), EvalConfig(query_mode="nope"))


def test_rerank_deeper_than_the_reported_depth(trained, clusters):
    queries, n = np.arange(30), clusters.shape[0]
    shallow = evaluate(trained, clusters, queries, np.arange(30, n), EvalConfig(rerank=20, baselines=()))
    every = evaluate(trained, clusters, queries, np.arange(30, n), EvalConfig(rerank=n, baselines=()))
    assert every["modes"]["symmetric"] == shallow["modes"]["symmetric"]  # engine order unaffected
    # Re-ranking every row is an exhaustive search by cosine with the reconstructions.
    unit = clusters / np.linalg.norm(clusters, axis=1, keepdims=True)
    truth, _ = exact_topk(unit[queries], unit, 10, exclude=queries)
    items = rerank_vectors(trained, encode(trained, clusters, value_dtype="float16", show_progress_bar=False))
    found, _ = exact_topk(unit[queries], items, 10, exclude=queries)
    assert every["recall_at_10"] == pytest.approx(recall_at(truth, found, 10))
