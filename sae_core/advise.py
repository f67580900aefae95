"""Choose a code shape for a byte budget from a short measured sweep on a sample of the user's rows.

For a budget of B bytes per vector and the value types the engine stores, each candidate shape is
(h, k, value type) with k = ⌊B / (2 + value bytes)⌋ (uint16 indices). Each is trained briefly on the
sample and measured as the engine ranks it: exact inner product of the stored codes with full-width
query weights — the engine order, no client work — and the share of the true top-10 within its
top-100, what a rescoring second stage can recover. Beside them, the dense baselines a user would
switch on instead, at the same bytes: PQ, a rotation with per-coordinate scalar quantization (the
engines' TurboQuant-like options) and 1-bit signs. For the shape that ranks best the narrowest query
within `QUERY_TOLERANCE` of full width is chosen: search time grows with the query's width.

The verdict compares the best shape's engine order with the best recall of the baselines that fit the
budget (a baseline's smallest form can exceed it: 1 bit per coordinate of a 384-d vector is 48 B; all
of them count only when none fits), as a recall difference with a paired bootstrap interval over the
queries (`bootstrap.recall_difference`): "worth it" or "not worth it" only where the interval excludes
zero, else "no clear winner" — margins of 0.01 on 500 queries flipped between machines before.
Absolute figures are those of a database the size of the sample (recall falls as n grows, for every
method alike) and of a short schedule (a full run trains longer); what the sweep decides is the order.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from saevdb.sae_core.baselines import BASELINES
from saevdb.sae_core.bootstrap import LEVEL, recall_difference
from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.encode import encode
from saevdb.sae_core.evaluate import DEPTH, VALUE_BYTES, EvalConfig, bytes_per_vector
from saevdb.sae_core.metrics import coverage_at, hits_at
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.quantize import stored_uint8
from saevdb.sae_core.query import default_query_mode, query_vectors
from saevdb.sae_core.search import exact_topk
from saevdb.sae_core.train import TrainConfig, build_and_fit
from saevdb.sae_core.validation import check_embeddings

logger = logging.getLogger(__name__)

BUILTIN_BASELINES = ("product_quantization", "rotation_scalar", "sign_1bit")
"""What an engine offers instead at the same bytes, without rescoring (Qdrant's PQ, TurboQuant, binary)."""

QUERY_TOLERANCE = 0.01
"""The chosen query width is the narrowest whose recall@10 is within this of full width."""

MIN_ROWS = 2_000

ADVISE_EPOCHS = 5
"""Epochs per candidate shape: enough to order the shapes (a full `train` runs longer)."""


@dataclass(frozen=True)
class Shape:
    h: int
    k: int
    value_dtype: str


def shapes_for_budget(budget: int, value_dtypes: tuple[str, ...], hiddens: tuple[int, ...]) -> list[Shape]:
    """Every (h, k, value type) that fills `budget` bytes per vector with uint16 indices."""
    shapes = []
    for dtype in value_dtypes:
        if dtype not in VALUE_BYTES:
            raise ValueError(f"value type must be one of {sorted(VALUE_BYTES)}, got {dtype!r}")
        k = budget // (2 + VALUE_BYTES[dtype])
        shapes += [Shape(h, k, dtype) for h in hiddens if 0 < k <= h <= 65536]
    if not shapes:
        raise ValueError(f"a budget of {budget} B per vector holds no code: each non-zero costs at least 3 B")
    return shapes


def sample_split(x: np.ndarray, sample: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A seeded sample of `min(sample, n)` rows of `x [n, d]`, L2-normalised float32, as the database
    measured on; returns `(database [m, d], query_rows, train_rows)`, positions in the sample:
    `queries` of them held out of training (and excluded from their own results)."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(x), min(sample, len(x)), replace=False))
    database = np.asarray(x[rows], dtype=np.float32)
    database /= np.maximum(np.linalg.norm(database, axis=1, keepdims=True), 1e-12)
    query_rows = np.sort(rng.choice(rows.size, queries, replace=False))
    return database, query_rows, np.setdiff1d(np.arange(rows.size), query_rows)


def _engine_order(model, database, queries, query_rows, truth, dtype: str, widths, signed: bool) -> dict[int, dict]:
    """Recall@10, top-10-in-100 and `[q]` hits@10 of the engine's order for each query width, each
    width's query the one a `SparseCollection` sends (`query.default_query_mode`)."""
    codes = encode(model, database, value_dtype="float32" if dtype == "uint8" else dtype, show_progress_bar=False)
    if dtype == "uint8":
        codes = stored_uint8(codes)
    out = {}
    for width in widths:
        mode = default_query_mode(signed, width >= model.config.h)
        found, _ = exact_topk(query_vectors(model, queries, mode, width), codes, DEPTH, exclude=query_rows)
        hits = hits_at(truth, found, 10)
        out[width] = {"recall_at_10": float(hits.mean() / 10), "top10_in_100": coverage_at(truth, found, 10, DEPTH)}
        out[width]["hits"] = hits
    return out


def _baselines(database, query_rows, train_rows, truth, budget: int) -> dict[str, dict]:
    """Each of `BUILTIN_BASELINES` at `budget` bytes (faiss, trained on at most
    `EvalConfig.baseline_train_rows` training rows), ranked exactly: recall@10, top-10-in-100, its
    bytes and `[q]` hits@10."""
    queries, train = database[query_rows], database[train_rows[: EvalConfig.baseline_train_rows]]
    out = {}
    for name in BUILTIN_BASELINES:
        db_repr, q_repr, size = BASELINES[name](train, database, queries, budget)
        db_repr = np.asarray(db_repr, dtype=np.float32)
        db_repr /= np.maximum(np.linalg.norm(db_repr, axis=1, keepdims=True), 1e-12)
        found, _ = exact_topk(np.asarray(q_repr, dtype=np.float32), db_repr, DEPTH, exclude=query_rows)
        hits = hits_at(truth, found, 10)
        out[name] = {
            "recall_at_10": float(hits.mean() / 10),
            "top10_in_100": coverage_at(truth, found, 10, DEPTH),
            "bytes_per_vector": size,
            "hits": hits,
        }
        logger.info("baseline %s (%d B): recall@10 %.3f", name, size, out[name]["recall_at_10"])
    return out


def budget_verdict(difference: float, low: float, high: float) -> tuple[bool | None, str]:
    """`(codes_worth_it, words)` from the recall difference codes − rival and its interval: None and
    "no clear winner" where the interval holds zero."""
    if low > 0:
        return True, "the codes are worth it at this budget"
    if high < 0:
        return False, "not worth it on this data at this budget: switch on the engine's own quantization instead"
    return None, "no clear winner at this budget: the difference is within what another draw of queries moves"


def advise(x: np.ndarray, budget: int, **options) -> dict:
    """The report of `advise_model` (same arguments), without the model."""
    return advise_model(x, budget, **options)[0]


def advise_model(
    x: np.ndarray,
    budget: int,
    value_dtypes: tuple[str, ...] = ("uint8", "float16"),
    hiddens: tuple[int, ...] = (4096, 16384),
    sample: int = 20_000,
    queries: int = 500,
    train: TrainConfig | None = None,
    seed: int = 0,
    signed_weights: bool = False,
) -> tuple[dict, SparseAutoencoder]:
    """Sweep the shapes for `budget` on a seeded sample of `x [n, d]`; returns the report (see CLI)
    and the chosen shape's model, trained on the sample's rows other than its queries.

    Args:
        x: the user's vectors (any float dtype; memory-mapped is fine).
        budget: bytes per stored vector.
        value_dtypes: the value types the target engine stores (its registry entry's precisions).
        hiddens: latent widths to try.
        sample: rows sampled as the database; `queries` of them are held out of training.
        train: the schedule for every candidate (default: 5 epochs, the rest as `TrainConfig`).
        signed_weights: whether the target engine scores negative query weights (its registry
            entry's `signed`): each width is measured with the query that engine is sent
            (`query.default_query_mode`), so the engine order measured is the one it gives.
    """
    x = check_embeddings(x, name="advice data")
    n, d = x.shape
    if n < MIN_ROWS:
        raise ValueError(f"advice needs at least {MIN_ROWS} rows to measure on; the data has {n}")
    if not 0 < queries < min(sample, n) // 2:
        raise ValueError(f"--queries {queries} must be below half the sample ({min(sample, n)} rows)")
    shapes = shapes_for_budget(budget, value_dtypes, hiddens)
    database, query_rows, train_rows = sample_split(x, sample, queries, seed)
    schedule = train or TrainConfig(epochs=ADVISE_EPOCHS, seed=seed)
    truth, _ = exact_topk(database[query_rows], database, DEPTH, exclude=query_rows)
    candidates = []
    for shape in shapes:
        start = time.perf_counter()
        cfg = SAEConfig(d=d, h=shape.h, k=shape.k)
        model, _ = build_and_fit(database, cfg, schedule, rows=train_rows, show_progress_bar=False)
        seconds = time.perf_counter() - start
        measured = _engine_order(
            model, database, database[query_rows], query_rows, truth, shape.value_dtype, [shape.h], signed_weights
        )
        candidates.append(
            {
                **shape.__dict__,
                "bytes": bytes_per_vector(shape.k, shape.h, shape.value_dtype),
                "train_seconds": seconds,
                **measured[shape.h],
                "model": model,
            }
        )
        logger.info(
            "h=%d k=%d %s: engine order %.3f", shape.h, shape.k, shape.value_dtype, candidates[-1]["recall_at_10"]
        )
    best = max(candidates, key=lambda c: c["recall_at_10"])
    widths = sorted({w for w in (4 * best["k"], 16 * best["k"], 64 * best["k"]) if w < best["h"]} | {best["h"]})
    by_width = _engine_order(
        best["model"], database, database[query_rows], query_rows, truth, best["value_dtype"], widths, signed_weights
    )
    full = by_width[best["h"]]["recall_at_10"]
    query_k = min(w for w in widths if by_width[w]["recall_at_10"] >= full - QUERY_TOLERANCE)
    baselines = _baselines(database, query_rows, train_rows, truth, best["bytes"])
    fitting = {name: b for name, b in baselines.items() if b["bytes_per_vector"] <= budget} or baselines
    rival_name, rival = max(fitting.items(), key=lambda kv: kv[1]["recall_at_10"])
    difference, low, high = recall_difference(by_width[best["h"]]["hits"], rival["hits"], seed=seed)
    worth, words = budget_verdict(difference, low, high)
    model = best.pop("model")
    for c in candidates:
        c.pop("model", None)
        c.pop("hits")
    for measured in [*by_width.values(), *baselines.values()]:
        measured.pop("hits")
    chosen = {k: best[k] for k in ("h", "k", "value_dtype", "bytes", "recall_at_10", "top10_in_100")}
    report = {
        "budget": budget,
        "rows": int(n),
        "sample_rows": int(len(database)),
        "queries": int(queries),
        "epochs": schedule.epochs,
        "query_mode": default_query_mode(signed_weights),
        "candidates": candidates,
        "query_widths": {str(w): v for w, v in by_width.items()},
        "chosen": {**chosen, "query_k": int(query_k)},
        "baselines": baselines,
        "codes_worth_it": worth,
        "margin": {"recall_difference": difference, "low": low, "high": high, "level": LEVEL},
        "verdict": (
            f"codes h={best['h']} k={best['k']} {best['value_dtype']} ({best['bytes']} B): engine order"
            f" {best['recall_at_10']:.3f} against {rival_name} {rival['recall_at_10']:.3f}"
            f" ({rival['bytes_per_vector']} B), difference {difference:+.3f} ({LEVEL:.0%} interval {low:+.3f} to"
            f" {high:+.3f}) — {words}"
        ),
    }
    return report, model
