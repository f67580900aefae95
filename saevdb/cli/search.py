"""`saevdb search`: dense queries against a collection `saevdb ingest` made, top-k ids and scores."""

from __future__ import annotations

import argparse
import logging
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from saevdb.adapters import ENGINES, ModelInfo, adapter_class, local_engine
from saevdb.cli.common import add_output_options
from saevdb.collection import SparseCollection
from saevdb.sae_core.data import load_embeddings
from saevdb.sae_core.model_files import load_model
from saevdb.sae_core.validation import check_embeddings

logger = logging.getLogger("saevdb")


def add_parser(sub) -> None:
    s = sub.add_parser("search", help="dense queries against a collection made by `saevdb ingest`")
    s.add_argument("--model", type=Path, required=True, help="the model the collection was ingested with")
    s.add_argument("--queries", required=True, help="a .npy [q, d] of dense queries (or the ingested file)")
    s.add_argument("--rows", default=None, metavar="A:B", help="only rows A..B-1 of --queries (default: all)")
    s.add_argument("--backend", required=True, choices=tuple(ENGINES))
    s.add_argument("--collection", required=True, help="collection / index name")
    s.add_argument("--url", default=None, help="a running engine or cluster (default: the embedded one)")
    s.add_argument("--path", type=Path, default=None, help="embedded engine data folder (default saevdb-data/BACKEND)")
    s.add_argument("--top-k", type=int, default=10, help="results per query")
    s.add_argument("--query-k", type=int, default=None, help="query weights sent (default: all h of W_dec q̄)")
    s.add_argument(
        "--rescore",
        type=int,
        default=0,
        metavar="D",
        help="two-stage: the codes' top D re-scored exactly with the originals the collection keeps (0: off)",
    )
    add_output_options(s)
    s.set_defaults(func=run)


def _queries(source: str, rows: str | None, d: int) -> tuple[np.ndarray, int]:
    """The query rows `[q, d]` and the input row number of the first."""
    x = load_embeddings(source)
    lo, hi = 0, len(x)
    if rows is not None:
        try:
            lo, hi = (int(part) for part in rows.split(":"))
        except ValueError as e:
            raise ValueError(f"--rows {rows!r}: A:B, two whole numbers") from e
        if not 0 <= lo < hi <= len(x):
            raise ValueError(f"--rows {rows}: {source} has rows 0..{len(x) - 1}")
    return check_embeddings(np.array(x[lo:hi], dtype=np.float32), d, name=f"{source} rows {lo}:{hi}"), lo


def run(args: argparse.Namespace) -> dict:
    model = load_model(args.model)
    info = ModelInfo.of(model)
    queries, first = _queries(args.queries, args.rows, info.d)
    if args.top_k < 1 or args.rescore < 0 or (args.rescore and args.rescore < args.top_k):
        raise ValueError(f"--top-k {args.top_k} must be at least 1 and --rescore {args.rescore} 0 or at least it")
    path = args.path or Path("saevdb-data") / args.backend
    if args.url is None and not path.exists():
        raise FileNotFoundError(f"{path}: no engine data here: `saevdb ingest` into it first (or give --url)")
    options = {"originals": True} if args.rescore else {}
    with ExitStack() as stack:
        engine = None if args.url else stack.enter_context(local_engine(args.backend, path))
        adapter = (
            adapter_class(args.backend).from_url(info, args.url, args.collection, **options)
            if engine is None
            else engine.sparse_adapter(info, args.collection, **options)
        )
        adapter.check_model()  # the collection exists and holds this model's codes
        collection = SparseCollection(adapter, model, query_k=args.query_k, rescore=args.rescore)
        try:
            ids, scores = collection.search(queries, top_k=args.top_k)
        except Exception as e:
            if not args.rescore:
                raise
            raise RuntimeError(
                f"{args.collection}: --rescore needs a collection ingested with --originals; the engine said: {e}"
            ) from e
    for row, (found, score) in enumerate(zip(ids, scores, strict=True)):
        hits = ", ".join(f"{i} ({s:.4f})" for i, s in zip(found, score, strict=True) if i >= 0)
        print(f"query {first + row}: {hits}")
    return {
        "collection": args.collection,
        "backend": args.backend,
        "first_row": first,
        "ids": ids.tolist(),
        "scores": np.where(np.isfinite(scores), scores, None).tolist(),
    }
