"""`saevdb eval`: how well k-sparse codes keep each query's exact cosine neighbours, next to dense
baselines squeezed into the same bytes per vector.

Truth is exact top-100 by cosine over every row of the data (the query's own row excluded).
Candidates are exact top-100 by the score an engine computes on the stored codes: an inner product
in the sparse space, with the query encoded as below. Nothing is approximate but the codes.

Every query mode of `sae_core.query` is measured, each also as `<mode>+rerank`: the mode's top
`rerank` candidates reordered by q̄ · x̂/|x̂|, decoded from the stored codes client-side (no extra bytes).
Baselines rank by the same kind of score, the cosine between the query and each item's stored
form: their item norms cost no bytes either (a PQ code's norm is a sum of its centroids' norms),
and it is the fair match: scoring PQ by inner product and the codes by cosine would favour the codes.
The headline is asymmetric_nonneg+rerank: accepted by every engine, and the mode the client wrapper
uses by default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from saevdb.sae_core.baselines import BASELINES
from saevdb.sae_core.decode import rerank_candidates
from saevdb.sae_core.encode import encode
from saevdb.sae_core.metrics import coverage_at, ndcg_at, recall_at
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.quantize import stored_uint8
from saevdb.sae_core.query import QUERY_MODES, default_query_k, query_vectors
from saevdb.sae_core.search import exact_topk
from saevdb.sae_core.validation import check_embeddings

logger = logging.getLogger(__name__)

DEPTH = 100
INDEX_BYTES = {"uint16": 2, "int32": 4}
VALUE_BYTES = {"uint8": 1, "float16": 2, "float32": 4}
"""uint8 is Qdrant's one-byte sparse storage (one global scale, `sae_core.quantize`): with uint16
indices, a non-zero costs 3 bytes instead of float16's 4."""


@dataclass(frozen=True)
class EvalConfig:
    """What to measure. `query_k=None` means `default_query_k` (h, or k for symmetric queries);
    `rerank=0` turns re-ranking off. `query_mode` (with its re-ranked variant when `rerank`) gives
    the report's headline figures."""

    query_mode: str = "asymmetric_nonneg"
    query_k: int | None = None
    rerank: int = 100
    value_dtype: str = "float16"
    baselines: tuple[str, ...] = tuple(BASELINES)
    baseline_train_rows: int = 50_000


def bytes_per_vector(k: int, h: int, value_dtype: str) -> int:
    """k × (index bytes + value bytes); indices take uint16 when h fits in it."""
    return k * ((INDEX_BYTES["uint16"] if h <= 65536 else INDEX_BYTES["int32"]) + VALUE_BYTES[value_dtype])


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _scores(truth: np.ndarray, found: np.ndarray) -> dict[str, float]:
    return {
        "recall_at_1": recall_at(truth, found, 1),
        "recall_at_10": recall_at(truth, found, 10),
        "recall_at_100": recall_at(truth, found, min(DEPTH, found.shape[1])),
        "top10_in_100": coverage_at(truth, found, 10, DEPTH),
        "ndcg_at_10": ndcg_at(truth, found, 10),
    }


def evaluate(
    model: SparseAutoencoder,
    data: np.ndarray,
    query_rows: np.ndarray,
    train_rows: np.ndarray,
    config: EvalConfig | None = None,
) -> dict:
    """Measure codes against exact search and baselines; returns the report dict (see CLI).

    Args:
        model: trained SAE.
        data: `[n, d]` database; every row is indexed.
        query_rows: row numbers used as queries (each excluded from its own results).
        train_rows: rows the baselines may train on (the SAE's own training rows).
    """
    cfg = config or EvalConfig()
    sae = model.config
    data = check_embeddings(data, sae.d, name="evaluation data")
    if cfg.query_k is not None and not 0 < cfg.query_k <= sae.h:
        raise ValueError(f"query k={cfg.query_k} must be in 1..h={sae.h}")
    if cfg.value_dtype not in VALUE_BYTES:
        raise ValueError(f"value dtype must be one of {sorted(VALUE_BYTES)}, got {cfg.value_dtype!r}")
    if cfg.value_dtype == "uint8" and sae.signed:
        raise ValueError("uint8 values take non-negative codes; this model is signed")
    if cfg.query_mode not in QUERY_MODES:
        raise ValueError(f"query mode must be one of {QUERY_MODES}, got {cfg.query_mode!r}")
    unknown = sorted(set(cfg.baselines) - set(BASELINES))
    if unknown:
        raise ValueError(f"unknown baselines {unknown}; known: {sorted(BASELINES)}")
    database = _unit(data)
    queries = database[query_rows]
    truth, _ = exact_topk(queries, database, DEPTH, exclude=query_rows)
    if cfg.value_dtype == "uint8":
        codes = stored_uint8(encode(model, database, show_progress_bar=False))
    else:
        codes = encode(model, database, value_dtype=cfg.value_dtype, show_progress_bar=False)
    modes = {}
    for mode in QUERY_MODES:
        weights = query_vectors(model, queries, mode, cfg.query_k)
        found, _ = exact_topk(weights, codes, max(DEPTH, cfg.rerank), exclude=query_rows)
        modes[mode] = _scores(truth, found[:, :DEPTH])
        if cfg.rerank:
            reranked, _ = rerank_candidates(model, queries, found[:, : cfg.rerank], lambda ids: codes[ids], DEPTH)
            modes[f"{mode}+rerank"] = _scores(truth, reranked)
        logger.info("%s: recall@10 %.3f", mode, modes[mode]["recall_at_10"])
    budget = bytes_per_vector(sae.k, sae.h, cfg.value_dtype)
    train = database[train_rows[: cfg.baseline_train_rows]]
    baselines = {}
    for name in cfg.baselines:
        db_repr, q_repr, size = BASELINES[name](train, database, queries, budget)
        found, _ = exact_topk(q_repr, _unit(db_repr), DEPTH, exclude=query_rows)
        baselines[name] = {**_scores(truth, found), "bytes_per_vector": size}
        logger.info("baseline %s (%d B): recall@10 %.3f", name, size, baselines[name]["recall_at_10"])
    headline = f"{cfg.query_mode}+rerank" if cfg.rerank else cfg.query_mode
    return {
        **modes[headline],
        "headline_mode": headline,
        "rows": int(data.shape[0]),
        "queries": int(len(query_rows)),
        "model": {
            "d": sae.d,
            "h": sae.h,
            "k": sae.k,
            "signed": sae.signed,
            "support": sae.support,
            "pursuit_steps": sae.pursuit_steps,
        },
        "query_k": cfg.query_k or default_query_k(sae, cfg.query_mode),
        "value_dtype": cfg.value_dtype,
        "mean_nonzeros": float(codes.nnz / codes.shape[0]),
        "bytes_per_vector": budget,
        "dense_bytes_per_vector": 4 * sae.d,
        "compression_ratio": 4 * sae.d / budget,
        "modes": modes,
        "baselines": baselines,
    }
