"""The two-stage search of `OpenSearchAdapter(originals=True)`: each point's dense original kept
beside its code, and the request that re-scores the codes' top candidates by exact cosine with them.

The originals are a `knn_vector` field of an index with `index.knn: false`: no HNSW graph is built
and nothing of them is searched approximately; Lucene keeps them as doc values (binary, float32,
`4·d` bytes a point), read only for the documents a rescore touches. They are excluded from
`_source`, so they are not stored twice.

One request per query: the usual `rank_feature` query over the codes finds the top `depth`
documents (per shard), and its `rescore` re-scores exactly those with the k-NN plugin's `knn_score`
script (space `cosinesimil`, Lucene's cosine over the doc values), with `query_weight` 0 so a
rescored document's score is the script's alone. The script scores `(1 + cos) / 2` (non-negative,
as Lucene requires); `cosine` maps it back. Cost: the same request, plus `depth` doc-value reads and
`depth` cosines of width d per query per shard.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from saevdb.adapters import batches
from saevdb.adapters.opensearch.constants import ORIGINALS_FIELD
from saevdb.adapters.opensearch.index import check_nonzero


def originals_field(d: int) -> dict[str, Any]:
    """The mapping of the originals: a knn_vector without a method (an index with `index.knn: false`
    refuses one: no graph is wanted)."""
    return {"type": "knn_vector", "dimension": d}


def check_originals(originals: np.ndarray | None, kept: bool, d: int, n: int) -> np.ndarray | None:
    """`batches.check_originals` (required where kept, refused elsewhere), and no zero row: cosine
    has no value there."""
    originals = batches.check_originals(originals, kept, d, n)
    if originals is not None:
        check_nonzero(originals, "originals")
    return originals


def rescore_vectors(
    vectors: np.ndarray | None, depth: int, kept: bool, d: int, n: int, top_k: int
) -> list[list[float]] | None:
    """A search's rescore queries `[n, d]` as lists (`batches.check_rescore`, and no zero row), or
    None without rescoring."""
    vectors = batches.check_rescore(vectors, depth, kept, d, n, top_k)
    if vectors is None:
        return None
    check_nonzero(vectors, "rescore_queries")
    return vectors.tolist()


def rescored(request: dict[str, Any], vector: list[float], depth: int) -> dict[str, Any]:
    """`request` (one search body) with a rescore of its top `depth` hits by exact cosine to `vector`."""
    script = {
        "source": "knn_score",
        "lang": "knn",
        "params": {"field": ORIGINALS_FIELD, "query_value": vector, "space_type": "cosinesimil"},
    }
    exact = {"script_score": {"query": {"match_all": {}}, "script": script}}
    window = {"rescore_query": exact, "query_weight": 0.0, "rescore_query_weight": 1.0}
    return {**request, "rescore": {"window_size": depth, "query": window}}


def cosine(score: float) -> float:
    """The cosine behind a `knn_score` cosinesimil score `(1 + cos) / 2`."""
    return 2.0 * score - 1.0
