"""The flat originals file: rows land at their ids (in any order, with gaps), re-scoring is the exact
cosine top of each query's candidates, and a bad dtype is refused before a file exists."""

from __future__ import annotations

import numpy as np
import pytest

from saevdb.adapters.originals import OriginalsFile


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.mark.parametrize("dtype, atol", [("float32", 1e-6), ("float16", 2e-3)])
def test_rescore_is_the_exact_cosine_top_of_the_candidates(tmp_path, clusters, dtype, atol):
    store = OriginalsFile(tmp_path / "originals.bin", clusters.shape[1], dtype)
    order = np.random.default_rng(0).permutation(len(clusters))
    for part in np.array_split(order, 7):  # out of order, one write per batch
        store.write(part, clusters[part] * 3.0)
    queries = clusters[:20] + 0.1
    candidates = np.random.default_rng(1).choice(len(clusters), (20, 40), replace=False)
    candidates[:, -5:] = -1  # padding: fewer candidates than asked
    ids, scores = store.rescore(queries, candidates, top_k=10)
    for q in range(20):
        pool = candidates[q][candidates[q] >= 0]
        cosine = unit(clusters[pool]) @ unit(queries[q])
        np.testing.assert_allclose(scores[q], np.sort(cosine)[::-1][:10], atol=atol)
        if dtype == "float32":
            assert list(ids[q]) == list(pool[np.argsort(-cosine)[:10]])


def test_unwritten_rows_and_padding(tmp_path):
    store = OriginalsFile(tmp_path / "originals.bin", 4)
    store.write(np.array([5, 2]), np.eye(4)[:2])
    ids, scores = store.rescore(np.eye(4)[:1], np.array([[0, 2, 5, -1, 99]]), top_k=4)
    assert ids[0][0] == 5 and scores[0][0] == pytest.approx(1.0)
    assert ids[0][-1] == -1 and scores[0][-1] == -np.inf  # -1 and an id past the file are no candidates


def test_a_bad_dtype_is_refused_before_any_file(tmp_path):
    with pytest.raises(ValueError, match="float32"):
        OriginalsFile(tmp_path / "originals.bin", 4, "int8")
    assert not (tmp_path / "originals.bin").exists()
