"""`saevdb advise --recall`: the first-stage shape that reaches a recall target for the least RAM in
one engine, against that engine's built-in quantizations, priced in the engine's own currency.

On a seeded sample of the user's rows (queries held out of training), each code shape (h, k, value
type) is trained briefly and measured as a two-stage search — the k_q largest query weights against
the codes, the top R re-scored exactly from the originals (`first_stage`) — and each built-in
quantization the engine's cost model prices is estimated the same way, without and with rescoring
at each oversampling (`quantized_recall`, an exhaustive scan: an upper bound for the built-in).
Each option is priced by the engine's cost model for the user's collection size (`adapters/costs.py`:
what serving it under a memory cap took), not by its payload bytes. The verdict is the RAM ratio of
the cheapest code setting over the cheapest built-in reaching the target, bootstrapped over the
queries (`bootstrap`): a winner only where the interval excludes 1.

Of settings priced alike (one build, other query widths, depths or oversampling), the shallowest
and then the narrowest reaching the target is chosen: each re-scored candidate is a read of the
originals, and each query weight a posting list walked. Full-width queries are left out by default:
they walk most postings, too slow to serve (`benchmarks/query_cost.py`).
Recall is that of a database the size of the sample, each shape fitted on it with `advise`'s short
schedule (5 epochs). Two biases of opposite sign follow. A model `saevdb train` fits (20 epochs, the
whole collection) reaches the same recall from fewer candidates (RESULTS.md, "A first stage trained
for its job"), which the sample understates; but at a fixed depth or oversampling every option's
recall falls as the collection grows, each at its own rate (`benchmarks/recall_by_size.py`), which
the sample overstates. So the estimate can err either way: `saevdb compare` measures the collection.
Below the sizes the cost model was measured at, the verdict is withheld: there the fixed parts,
extrapolated from a line through two large sizes, would decide it.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np

from saevdb.adapters.costs import CostModel
from saevdb.sae_core.advise import MIN_ROWS, sample_split
from saevdb.sae_core.bootstrap import compare_families
from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.evaluate import VALUE_BYTES
from saevdb.sae_core.first_stage import TOP, two_stage_hits
from saevdb.sae_core.quantized_recall import quantized_hits
from saevdb.sae_core.search import exact_topk
from saevdb.sae_core.train import TrainConfig, build_and_fit
from saevdb.sae_core.validation import check_embeddings

logger = logging.getLogger(__name__)

CODES_OPTION = "saevdb codes + originals in a flat file"
OVERSAMPLING = (0, 1, 2, 4, 8)
KS = (4, 6, 8, 12, 16)
WIDTHS = (32, 128, 512)
DEPTHS = (25, 50, 100)
_BELOW = (
    "{n:,} rows lie below the smallest size the cost model was measured at ({low:,}), where its"
    " fixed parts, never measured there, decide: no verdict — `saevdb compare` measures this size in the engine"
)


def _codes_rows(
    x_sample, query_rows, train_rows, tenth, costs, n, hiddens, ks, dtypes, widths, depths, signed, train
) -> tuple[list[dict], dict]:
    """One row per code setting (hits per query, RAM for n rows) and the model of each (h, k)."""
    d = x_sample.shape[1]
    rows, models = [], {}
    for h, k in itertools.product(hiddens, ks):
        model, _ = build_and_fit(x_sample, SAEConfig(d=d, h=h, k=k), train, rows=train_rows, show_progress_bar=False)
        models[(h, k)] = model
        cut = tuple(w for w in widths if w < h) or (h,)  # a width of h or more is the full query
        for dtype in dtypes:
            ram = costs.ram_bytes(CODES_OPTION, n, d, k, VALUE_BYTES[dtype])
            hits = two_stage_hits(model, x_sample, query_rows, tenth, dtype, cut, depths, signed)
            for depth, width in itertools.product(depths, cut):
                rows.append(
                    {
                        "option": f"codes h={h} k={k} {dtype}, k_q {width}, two-stage {depth}",
                        "build": f"codes h={h} k={k} {dtype}",
                        "family": "saevdb",
                        "shape": {"h": h, "k": k, "value_dtype": dtype, "query_k": width, "depth": depth},
                        "originals_read_per_query": depth,
                        "ram_bytes": ram,
                        "hits": hits[(width, depth)],
                    }
                )
        best = max(r["hits"].mean() for r in rows if r["shape"]["h"] == h and r["shape"]["k"] == k) / TOP
        logger.info("h=%d k=%d: best two-stage recall %.3f", h, k, best)
    return rows, models


def _builtin_rows(x_sample, query_rows, tenth, costs: CostModel, n: int) -> list[dict]:
    """One row per built-in option of the cost model and oversampling (0: no rescoring)."""
    d = x_sample.shape[1]
    rows = []
    for name, cost in costs.options.items():
        if cost.kind == "codes":
            continue
        ram = costs.ram_bytes(name, n, d)
        for factor, hits in quantized_hits(cost.kind, cost.bits, x_sample, query_rows, tenth, OVERSAMPLING).items():
            setting = "no rescore" if not factor else f"oversampling {factor:g}, rescore"
            rows.append(
                {
                    "option": f"{name}, {setting}",
                    "build": name,
                    "family": "built-in",
                    "originals_read_per_query": int(factor * TOP),
                    "ram_bytes": ram,
                    "hits": hits,
                }
            )
    return rows


def advise_ram(
    x: np.ndarray,
    costs: CostModel,
    recall: float,
    rows: int | None = None,
    hiddens: tuple[int, ...] = (4096,),
    ks: tuple[int, ...] = KS,
    value_dtypes: tuple[str, ...] = ("uint8", "float16"),
    widths: tuple[int, ...] = WIDTHS,
    depths: tuple[int, ...] = DEPTHS,
    sample: int = 20_000,
    queries: int = 500,
    train: TrainConfig | None = None,
    seed: int = 0,
    signed_weights: bool = False,
) -> tuple[dict, object]:
    """The report (see module docstring) and the chosen code setting's model — the cheapest reaching
    `recall`, else the one ranking best (`chosen["reaches"]` says which) — for a collection of `rows`
    vectors (default: all of `x [n, d]`)."""
    x = check_embeddings(x, name="advice data")
    n = int(rows or len(x))
    if len(x) < MIN_ROWS:
        raise ValueError(f"advice needs at least {MIN_ROWS} rows to measure on; the data has {len(x)}")
    if not 0 < recall < 1:
        raise ValueError(f"--recall {recall}: a recall@10 target between 0 and 1")
    if not 0 < queries < min(sample, len(x)) // 2:
        raise ValueError(f"--queries {queries} must be below half the sample ({min(sample, len(x))} rows)")
    schedule = train or TrainConfig(epochs=5, seed=seed)
    database, query_rows, train_rows = sample_split(x, sample, queries, seed)
    _, truth_scores = exact_topk(database[query_rows], database, TOP, exclude=query_rows)
    tenth = truth_scores[:, TOP - 1]
    ours, models = _codes_rows(
        database,
        query_rows,
        train_rows,
        tenth,
        costs,
        n,
        hiddens,
        ks,
        value_dtypes,
        widths,
        depths,
        signed_weights,
        schedule,
    )
    # Cheapest first; among settings priced alike, fewest originals read, then narrowest query.
    ours.sort(key=lambda r: (r["ram_bytes"], r["originals_read_per_query"], r["shape"]["query_k"]))
    theirs = sorted(_builtin_rows(database, query_rows, tenth, costs, n), key=lambda r: r["ram_bytes"])
    hits = {r["option"]: r["hits"] for r in ours + theirs}
    verdict = compare_families(
        hits,
        {r["option"]: r["ram_bytes"] for r in ours + theirs},
        [r["option"] for r in ours],
        [r["option"] for r in theirs],
        recall,
        seed=seed,
    )
    # The cheapest code setting reaching the target; where none does, the one ranking best.
    chosen = next((r for r in ours if r["option"] == verdict.a_option), None) or max(
        ours, key=lambda r: r["hits"].mean()
    )
    table = [
        {**{k: v for k, v in r.items() if k != "hits"}, "recall_at_10": float(r["hits"].mean() / TOP)}
        for r in ours + theirs
    ]
    below = n < costs.measured_rows[0]
    report = {
        "engine": costs.engine,
        "cost_figure": costs.figure,
        "cost_measured_rows": list(costs.measured_rows),
        "cost_extrapolated": costs.extrapolated(n),
        "recall_target": recall,
        "rows": n,
        "dim": int(x.shape[1]),
        "sample_rows": int(len(database)),
        "queries": int(queries),
        "epochs": schedule.epochs,
        "options": table,
        "chosen": {**chosen["shape"], "option": chosen["option"], "reaches": verdict.a_option is not None},
        "rival": verdict.b_option,
        "ram_ratio": verdict.ratio,
        "interval": [verdict.low, verdict.high],
        "winner": None if below else {"a": "saevdb", "b": "built-in", None: None}[verdict.winner],
        "verdict": _verdict_line(verdict, recall, _BELOW.format(n=n, low=costs.measured_rows[0]) if below else None),
    }
    return report, models[(chosen["shape"]["h"], chosen["shape"]["k"])]


def _verdict_line(verdict, recall: float, withheld: str | None = None) -> str:
    """The cheapest option of each family on all queries, the interval, and what it says."""
    if verdict.a_option is None and verdict.b_option is None:
        return f"no option reaches recall@10 {recall} on this sample"
    if verdict.a_option is None:
        head = f"no code setting reaches it on all queries; the cheapest built-in that does: {verdict.b_option}"
    elif verdict.b_option is None:
        head = f"no built-in reaches it on all queries; the cheapest code setting that does: {verdict.a_option}"
    else:
        head = f"{verdict.a_option} needs {verdict.ratio:.2f}x the RAM of {verdict.b_option}"
    said = {
        "a": "the codes need less RAM — use them",
        "b": "the built-in needs less RAM — switch it on instead",
        None: "no clear winner: the interval holds 1",
    }[verdict.winner]
    said = withheld or said
    interval = f"{verdict.low:.2f}-{verdict.high:.2f}"
    if np.isinf(verdict.low) or verdict.high == 0:  # one family reaches nothing in nearly every draw
        family = "the codes" if np.isinf(verdict.low) else "the built-ins"
        interval = f"{family} reach it in at most 2.5% of the draws"
    return (
        f"{head} (codes / built-in RAM, 95% bootstrap interval over the queries, the cost model's own error"
        f" not in it: {interval}): {said}"
    )
