"""Two-stage search in every engine of the registry: the codes' top candidates from the native
sparse index, re-scored inside the engine by exact cosine with the original vectors it keeps
(`originals=True`). The result must be the exact cosine top-10 of those candidates."""

from __future__ import annotations

import numpy as np
import pytest

from integration_tests.launchers import BACKENDS, skip_unless_runnable
from saevdb.adapters import ModelInfo
from saevdb.collection import SparseCollection
from saevdb.sae_core.query import query_vectors

DEPTH = 50


FILES = {"qdrant-file-float32": "float32", "qdrant-file-float16": "float16"}


@pytest.fixture(params=[*BACKENDS, "qdrant-client", *FILES])
def loaded(request, shared_engine, model, vectors):
    """A two-stage collection in each local engine, in qdrant-client's local mode (the
    `QdrantAdapter` a Qdrant server is reached with), and in Qdrant Edge with the originals in a
    flat file beside the shard (`originals_file=`)."""
    if request.param == "qdrant-client":
        pytest.importorskip("qdrant_client")
        from qdrant_client import QdrantClient

        from saevdb.adapters.qdrant import QdrantAdapter

        adapter = QdrantAdapter(ModelInfo.of(model), QdrantClient(":memory:"), "two_stage", originals=True)
    else:
        backend, options = (
            ("qdrant", {"originals_file": FILES[request.param]}) if request.param in FILES else (request.param, {})
        )
        skip_unless_runnable(backend)
        name = f"two_stage_{request.param}".replace("-", "_")
        adapter = shared_engine(backend).sparse_adapter(ModelInfo.of(model), name, originals=True, **options)
    adapter.recreate()
    collection = SparseCollection(adapter, model, rescore=DEPTH)
    collection.add(np.arange(len(vectors)), vectors)
    adapter.optimize()
    yield adapter, collection
    adapter.drop()


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_rescored_hits_are_the_exact_top_of_the_codes_candidates(loaded, model, vectors):
    adapter, collection = loaded
    queries = vectors[:20] + 0.05 * np.random.default_rng(3).standard_normal(vectors[:20].shape).astype(np.float32)
    ids, scores = collection.search(queries, top_k=10)
    candidates, _ = adapter.search(query_vectors(model, queries, collection.query_mode), DEPTH)
    for q in range(len(queries)):
        pool = candidates[q][candidates[q] >= 0]
        cosine = unit(vectors[pool]) @ unit(queries[q])
        best = pool[np.argsort(-cosine)[:10]]
        assert set(ids[q]) == set(best), q
        np.testing.assert_allclose(scores[q], np.sort(cosine)[::-1][:10], rtol=1e-3, atol=1e-3)


def test_two_stage_refuses_a_batch_without_originals(loaded, model, vectors):
    adapter, _ = loaded
    from saevdb.sae_core.encode import encode

    before = adapter.count()
    codes = encode(model, vectors[:3], show_progress_bar=False)
    with pytest.raises(ValueError, match="originals"):
        adapter.upsert([900_001, 900_002, 900_003], codes)
    bad = vectors[:3].copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError):
        adapter.upsert([900_001, 900_002, 900_003], codes, None, bad)
    assert adapter.count() == before


def test_originals_file_needs_originals(model, shared_engine):
    skip_unless_runnable("qdrant")
    with pytest.raises(ValueError, match="originals=True"):
        shared_engine("qdrant").sparse_adapter(ModelInfo.of(model), "never_created", originals_file="float16")


def test_collection_refuses_rescore_with_rerank(model, shared_engine):
    skip_unless_runnable("qdrant")
    adapter = shared_engine("qdrant").sparse_adapter(ModelInfo.of(model), "never_created", originals=True)
    with pytest.raises(ValueError, match="exclude"):
        SparseCollection(adapter, model, rerank=100, rescore=300)
