"""Every sparse adapter against its real engine in embedded form: qdrant-client local mode, Qdrant Edge
in this process, the Milvus Lite 2.5 server process and an OpenSearch node from Maven Central. Engine
top-10 must equal the exact sparse inner-product top-10 computed in numpy, within the engine's storage
precision. What an engine can do (signed weights, precisions, aliases) comes from its registry entry."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from integration_tests.launchers import skip_unless_runnable
from saevdb.adapters import (
    EngineSpec,
    ModelInfo,
    ModelMismatchError,
    SparseAdapter,
    UnsupportedFeatureError,
    engine_spec,
    upload,
)
from saevdb.sae_core.data import synthetic_clusters
from saevdb.sae_core.encode import encode
from saevdb.sae_core.search import exact_topk

N = 10_000
# Each way an adapter reaches its engine here, and the engine whose registry entry describes it.
KINDS = {"qdrant": "qdrant", "qdrant-edge": "qdrant", "milvus": "milvus", "opensearch": "opensearch"}


@pytest.fixture(scope="module")
def codes(trained) -> sp.csr_matrix:
    return encode(trained, synthetic_clusters(n=N, d=32, clusters=50, noise=0.5, seed=7), show_progress_bar=False)


@pytest.fixture(params=sorted(KINDS))
def kind(request) -> str:
    skip_unless_runnable(KINDS[request.param])
    return request.param


@pytest.fixture
def spec(kind) -> EngineSpec:
    return engine_spec(KINDS[kind])


@pytest.fixture
def make(kind, tmp_path, request, shared_engine):
    """`make(info, suffix="", **options)` → an adapter on this test's own collection of engine `kind`
    (another collection per `suffix`, in the same engine)."""
    shared = {}

    def factory(info: ModelInfo, suffix: str = "", **options) -> SparseAdapter:
        if kind == "qdrant":
            from qdrant_client import QdrantClient

            from saevdb.adapters.qdrant import QdrantAdapter

            client = shared.setdefault("client", QdrantClient(":memory:"))
            return QdrantAdapter(info, client, "items" + suffix, **options)
        if kind == "qdrant-edge":
            from saevdb.adapters.qdrant import QdrantEdgeAdapter

            return QdrantEdgeAdapter(info, tmp_path / ("shard" + suffix), **options)
        name = "t" + "".join(c if c.isalnum() else "_" for c in request.node.name).lower()[:50] + suffix
        return shared_engine(KINDS[kind]).sparse_adapter(info, name, **options)

    return factory


@pytest.fixture
def info(trained) -> ModelInfo:
    return ModelInfo.of(trained)


def test_engine_top10_equals_exact_sparse_top10(spec, make, info, codes):
    adapter = make(info)
    assert isinstance(adapter, SparseAdapter)
    adapter.recreate()
    stats = upload(adapter, np.arange(N), codes, batch_size=2000, show_progress_bar=False)
    adapter.optimize()
    assert stats["points"] == N and adapter.count() == N
    queries = codes[:50]
    ids, scores = adapter.search(queries, 10)
    truth_ids, truth_scores = exact_topk(queries, codes, 10)
    rtol = spec.score_rtol
    np.testing.assert_allclose(scores, truth_scores, rtol=rtol, atol=1e-6)
    # Scores equal within the storage precision may come back in either order: every id scoring
    # clearly above the 10th score must be there.
    for row in range(len(ids)):
        must = truth_ids[row][truth_scores[row] > truth_scores[row, -1] * (1 + 2 * rtol) + 1e-6]
        assert set(must) <= set(ids[row])
    adapter.close()


@pytest.mark.parametrize("datatype", ["float16", "uint8"])
def test_lower_precision_storage_keeps_nearly_all_neighbours(kind, spec, make, info, codes, datatype):
    if datatype not in spec.precisions:
        with pytest.raises(UnsupportedFeatureError, match="datatype"):
            make(info, datatype=datatype)
        return
    from saevdb.sae_core.quantize import quantize_uint8, uint8_scale

    stored = quantize_uint8(codes[:2000], uint8_scale(codes)) if datatype == "uint8" else codes[:2000]
    adapter = make(info, datatype=datatype)
    adapter.recreate()
    upload(adapter, np.arange(2000), stored, show_progress_bar=False)
    ids, _ = adapter.search(codes[:20], 10)
    truth, _ = exact_topk(codes[:20], codes[:2000], 10)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth, strict=True)])
    assert overlap > 0.9
    adapter.close()


def test_delete_and_payloads(make, info, codes):
    adapter = make(info)
    adapter.recreate()
    adapter.upsert(np.arange(100), codes[:100], [{"n": i} for i in range(100)])
    adapter.delete([0, 1, 2, 999])
    assert adapter.count() == 97
    ids, _ = adapter.search(codes[:1], 5)
    assert 0 not in ids[0]
    adapter.close()


@pytest.mark.parametrize(
    "ids, rows, message",
    [
        ([1, 1], slice(0, 2), "duplicate ids"),
        ([1, -2], slice(0, 2), "non-negative integers"),
        (["a", "b"], slice(0, 2), "non-negative integers"),
        ([1, 2, 3], slice(0, 2), "ids for 2 codes"),
        ([], slice(0, 0), "empty batch"),
    ],
)
def test_bad_batch_writes_nothing(make, info, codes, ids, rows, message):
    adapter = make(info)
    adapter.recreate()
    adapter.upsert([50], codes[50:51])
    with pytest.raises(ValueError, match=message):
        adapter.upsert(ids, codes[rows])
    bad = codes[:3].copy()
    bad.data[4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        adapter.upsert([7, 8, 9], bad)
    with pytest.raises(ValueError, match="width"):
        adapter.upsert([7], sp.csr_matrix((1, 17), dtype=np.float32))
    assert adapter.count() == 1
    adapter.close()


def test_collection_of_another_model_is_refused(kind, make, info, codes, untrained):
    adapter = make(info)
    adapter.recreate()
    adapter.upsert([1], codes[:1])
    if kind == "qdrant-edge":
        adapter.close()  # in this process an Edge shard opens once: the writer lets go before another opens it
    stranger = make(ModelInfo.of(untrained))
    with pytest.raises(ModelMismatchError, match="re-encode"):
        stranger.search(codes[:1], 3)
    with pytest.raises(ModelMismatchError):
        stranger.upsert([2], codes[1:2])


def test_negative_weights_are_refused_where_the_engine_rejects_them(spec, make, info, codes):
    adapter = make(info)
    adapter.recreate()
    negative = codes[:2].copy()
    negative.data[0] = -1.0
    assert adapter.takes_negative_weights() is spec.signed  # what SparseCollection's default query follows
    if not spec.signed:
        with pytest.raises(UnsupportedFeatureError):
            adapter.upsert([1, 2], negative)
        with pytest.raises(UnsupportedFeatureError):
            adapter.search(negative, 3)
        assert adapter.count() == 0
    else:
        adapter.upsert([1, 2], negative)
        assert adapter.count() == 2
        np.testing.assert_allclose(adapter.retrieve([1]).toarray(), negative[:1].toarray(), rtol=spec.score_rtol)


def test_retrieve_returns_stored_codes_in_order(make, info, codes):
    adapter = make(info)
    adapter.recreate()
    adapter.upsert(np.arange(20), codes[:20])
    back = adapter.retrieve([7, 3, 999])
    assert back.shape == (3, codes.shape[1])
    np.testing.assert_allclose(back[:2].toarray(), codes[[7, 3]].toarray(), rtol=1e-6)
    assert back[2].nnz == 0
    adapter.close()


def _only_small_n(kind: str):
    """`payload n < 50` in each engine's own filter language."""
    if kind == "qdrant":
        from qdrant_client import models

        return models.Filter(must=[models.FieldCondition(key="n", range=models.Range(lt=50))])
    if kind == "qdrant-edge":
        import qdrant_edge as edge

        return edge.Filter(must=[edge.FieldCondition(key="n", range=edge.RangeFloat(lt=50))])
    if kind == "milvus":
        return "n < 50"
    return {"range": {"n": {"lt": 50}}}


def test_search_with_the_engines_own_filter(kind, make, info, codes):
    adapter = make(info)
    adapter.recreate()
    adapter.upsert(np.arange(200), codes[:200], [{"n": i} for i in range(200)])
    ids, _ = adapter.search(codes[150:155], 10, filter=_only_small_n(kind))
    found = ids[ids >= 0]
    assert found.size > 0 and (found < 50).all()
    truth, _ = exact_topk(codes[150:155], codes[:50], 10)
    assert set(ids[0][:3]) <= set(truth[0])
    adapter.close()


def test_drop_removes_the_collection(make, info, codes):
    adapter = make(info)
    adapter.recreate()
    adapter.upsert([1, 2], codes[:2])
    assert adapter.stats()["points"] == 2
    adapter.drop()
    adapter.drop()  # absent is fine
    with pytest.raises(ValueError, match="recreate"):
        adapter.count()


def test_exists_follows_recreate_and_drop(make, info, codes):
    adapter = make(info)
    adapter.drop()
    assert not adapter.exists()
    adapter.recreate()
    assert adapter.exists()
    adapter.drop()
    assert not adapter.exists()


def test_alias_switch_moves_queries_to_the_new_model_at_once(kind, spec, make, info, codes, untrained):
    """Re-encode flow: new model, new collection, alias switched atomically, old one dropped.
    qdrant-client's local mode has aliases as a server does (`alias_switch` describes the local engine)."""
    switch = "live" if kind == "qdrant" else spec.alias_switch
    old = make(info, "_v1")
    old.recreate()
    old.upsert(np.arange(50), codes[:50])
    if switch is None:
        with pytest.raises(UnsupportedFeatureError, match="no aliases"):
            old.point_alias(f"{_alias_prefix(old)}live")
        return
    assert old.point_alias(f"{_alias_prefix(old)}live") is None
    old.optimize()  # what an ingest does at its end: searchable everywhere (OpenSearch refresh)
    if switch == "reopen":
        old.close()  # one process opens an Edge shard once: the writer lets go before readers open it
    reader = make(info, "live")  # a client on the alias, holding model v1
    assert reader.search(codes[:1], 1)[0][0, 0] == 0

    new = make(ModelInfo.of(untrained), "_v2")
    new.recreate()
    new.upsert(np.arange(5), codes[:5])
    assert new.point_alias(f"{_alias_prefix(old)}live").endswith("_v1")
    if switch == "reopen":
        assert reader.search(codes[:1], 1)[0][0, 0] == 0  # an open shard stays the one it opened
        reader.close()
        new.close()
    else:
        with pytest.raises(ModelMismatchError):  # a client on the old model never reads the new codes
            reader.search(codes[:1], 1)
    assert make(ModelInfo.of(untrained), "live").count() == 5
    old.drop()


def _alias_prefix(adapter) -> str:
    """Aliases are named like the test's collections (Edge: a sibling folder name)."""
    name = getattr(adapter, "collection", getattr(adapter, "index", None))
    if name is None:
        return "shard"
    return name[: -len("_v1")]


def test_retrieve_many_ids_at_once(make, info, codes):
    """Re-ranking 256 queries × 100 candidates asks for ~25k codes in one call (Milvus caps a query at 16,384)."""
    adapter = make(info)
    adapter.recreate()
    many = sp.vstack([codes, codes]).tocsr()
    upload(adapter, np.arange(2 * N), many, batch_size=5000, show_progress_bar=False)
    back = adapter.retrieve(np.arange(2 * N)[::-1])
    assert back.shape[0] == 2 * N and (np.diff(back.indptr) > 0).all()
    np.testing.assert_allclose(back[-3:].toarray(), codes[:3][::-1].toarray(), rtol=1e-6)
    adapter.close()
