"""Both Qdrant adapters against the real engine in its embedded forms: qdrant-client local mode and
Qdrant Edge. Engine top-10 must equal the exact sparse inner-product top-10 computed in numpy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from adapters import ModelInfo, ModelMismatchError, SparseAdapter, adapter_class, upload
from sae_core.data import synthetic_clusters
from sae_core.encode import encode
from sae_core.search import exact_topk

pytest.importorskip("qdrant_client", reason="needs the [qdrant] extra")
pytest.importorskip("qdrant_edge", reason="needs the [qdrant] extra")

N = 10_000


@pytest.fixture(scope="module")
def codes(trained) -> sp.csr_matrix:
    return encode(trained, synthetic_clusters(n=N, d=32, clusters=50, noise=0.5, seed=7), show_progress_bar=False)


def _make(kind: str, info: ModelInfo, tmp_path, datatype: str = "float32") -> SparseAdapter:
    if kind == "qdrant":
        from qdrant_client import QdrantClient

        return adapter_class("qdrant")(info, QdrantClient(":memory:"), "items", datatype=datatype)
    return adapter_class("qdrant-edge")(info, tmp_path / "shard", datatype=datatype)


@pytest.fixture(params=["qdrant", "qdrant-edge"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def info(trained) -> ModelInfo:
    return ModelInfo.of(trained)


def test_engine_top10_equals_exact_sparse_top10(kind, info, codes, tmp_path):
    adapter = _make(kind, info, tmp_path)
    assert isinstance(adapter, SparseAdapter)
    adapter.recreate()
    stats = upload(adapter, np.arange(N), codes, batch_size=2000, show_progress_bar=False)
    assert stats["points"] == N and adapter.count() == N
    queries = codes[:50]
    ids, scores = adapter.search(queries, 10)
    truth_ids, truth_scores = exact_topk(queries, codes, 10)
    np.testing.assert_allclose(scores, truth_scores, rtol=1e-5, atol=1e-6)
    # Equal scores may come back in either order: every id scoring above the 10th score must be there.
    for row in range(len(ids)):
        must = truth_ids[row][truth_scores[row] > truth_scores[row, -1] + 1e-6]
        assert set(must) <= set(ids[row])
    adapter.close()


def test_float16_storage_keeps_nearly_all_neighbours(kind, info, codes, tmp_path):
    adapter = _make(kind, info, tmp_path, datatype="float16")
    adapter.recreate()
    upload(adapter, np.arange(2000), codes[:2000], show_progress_bar=False)
    ids, _ = adapter.search(codes[:20], 10)
    truth, _ = exact_topk(codes[:20], codes[:2000], 10)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth, strict=True)])
    assert overlap > 0.9
    adapter.close()


def test_delete_and_payloads(kind, info, codes, tmp_path):
    adapter = _make(kind, info, tmp_path)
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
def test_bad_batch_writes_nothing(kind, info, codes, tmp_path, ids, rows, message):
    adapter = _make(kind, info, tmp_path)
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


def test_collection_of_another_model_is_refused(kind, info, codes, tmp_path, untrained):
    adapter = _make(kind, info, tmp_path)
    adapter.recreate()
    adapter.upsert([1], codes[:1])
    other = ModelInfo.of(untrained)
    if kind == "qdrant":
        stranger = adapter_class("qdrant")(other, adapter.client, "items")
    else:
        adapter.close()
        stranger = adapter_class("qdrant-edge")(other, tmp_path / "shard")
    with pytest.raises(ModelMismatchError, match="re-encode"):
        stranger.search(codes[:1], 3)
    with pytest.raises(ModelMismatchError):
        stranger.upsert([2], codes[1:2])


def test_edge_shard_survives_reopen(info, codes, tmp_path):
    adapter = _make("qdrant-edge", info, tmp_path)
    adapter.recreate()
    upload(adapter, np.arange(500), codes[:500], show_progress_bar=False)
    adapter.optimize()
    adapter.close()
    reopened = _make("qdrant-edge", info, tmp_path)
    assert reopened.count() == 500
    ids, _ = reopened.search(codes[:1], 1)
    assert ids[0, 0] == 0
    reopened.close()
