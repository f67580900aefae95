"""Query cost as the collection grows: QPS and p99 of the codes in each engine's sparse index (with
its pruning knobs and the query width) beside the engine's HNSW and a built-in quantization.

    .venv/bin/python benchmarks/query_cost.py --model runs/compare100k/k32 \\
        --sizes 100000,1000000 --json benchmarks/results/query_cost_wordnet.json

An inverted index over codes scores every posting of the query's latents, and a posting list grows
with n, so a query can cost O(n) where HNSW costs about O(log n). Database: the first n rows of the
tiled WordNet set of `ingest_million.py` (noisy copies of WordNet rows); queries: WordNet rows with
fresh noise (another seed), so none is in the database. Each build runs through
`saevdb.compare.run.run_build` (loaded in one engine, measured in a fresh one on the same folder), so
the figures are those of `saevdb compare`, with recall against the exact cosine top-10.

Knobs swept on the codes: the query width k_q (non-zeros per query: fewer posting lists read), and
every pruning option the engine's registry entry names (`EngineSpec.pruning`, values below).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_million import tiled_input  # noqa: E402

from saevdb.adapters import engine_spec  # noqa: E402
from saevdb.adapters.milvus.constants import INVERTED_INDEX_ALGOS  # noqa: E402
from saevdb.compare.failure import failure  # noqa: E402
from saevdb.compare.plan import Build, Setting, built_in_builds  # noqa: E402
from saevdb.compare.run import CompareConfig, empty_memory, run_build  # noqa: E402
from saevdb.compare.truth import Truth  # noqa: E402
from saevdb.sae_core.data import load_wordnet  # noqa: E402
from saevdb.sae_core.model_files import load_model  # noqa: E402
from saevdb.sae_core.query import default_query_mode  # noqa: E402

# Values swept per pruning knob a registry entry names; the first of each is the adapter's default.
KNOB_VALUES = {
    "inverted_index_algo": INVERTED_INDEX_ALGOS,
    "drop_ratio_search": (0.0, 0.2, 0.5),
    "track_total_hits": (None, False),
}
QUERY_KS = (32, 128, 512, None)  # None: every weight of W_dec q̄ (the default)


def label(query_k: int | None) -> str:
    return f"engine order, k_q {query_k or 'full'}"


def code_builds(model, backend: str, knobs: set[str] | None = None) -> list[Build]:
    """The codes at each query width, then one build per non-default pruning value (widest query),
    all of them or those named in `knobs` ("knob=value")."""
    from saevdb.collection import SparseCollection

    def engine_order(query_k: int):
        def make(adapter, top_k):
            collection = SparseCollection(adapter, model, query_k=query_k, rerank=0)
            return lambda q: collection.search(q, top_k)

        return make

    name = f"saevdb codes h={model.config.h} k={model.config.k}"
    widths = tuple(Setting(label(q), engine_order(q)) for q in QUERY_KS)
    builds = [Build(name, "saevdb", "sparse", {}, widths, model=model)]
    for knob in engine_spec(backend).pruning:
        for value in KNOB_VALUES[knob][1:]:
            if knobs is not None and f"{knob}={value}" not in knobs:
                continue
            setting = Setting(label(QUERY_KS[-1]), engine_order(QUERY_KS[-1]))
            builds.append(Build(f"{name}, {knob}={value}", "saevdb", "sparse", {knob: value}, (setting,), model=model))
    return builds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="qdrant,milvus,opensearch")
    parser.add_argument("--methods", default="float32 HNSW,float32 FLAT,TurboQuant 2-bit,scalar int8")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--input", type=Path, default=Path("runs/wordnet_tiled_1m.npy"))
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--knobs", default=None, help="pruning values to build, as knob=value,... (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    sizes = [int(s) for s in args.sizes.split(",")]
    if not args.input.is_file():
        args.input.parent.mkdir(parents=True, exist_ok=True)
        tiled_input(args.input, max(sizes))
    tiled = np.load(args.input, mmap_mode="r")
    source = np.asarray(load_wordnet(), dtype=np.float32)
    rng = np.random.default_rng(1)
    picks = rng.choice(len(source), args.queries, replace=False)
    queries = source[picks] + rng.normal(0, 0.01, (args.queries, source.shape[1])).astype(np.float32)
    model = load_model(args.model)
    methods = tuple(m.strip() for m in args.methods.split(","))
    config = CompareConfig(clients=4)
    knobs = None if args.knobs is None else set(args.knobs.split(","))
    results = {"model": str(args.model), "queries": args.queries, "rows": []}
    if args.json.is_file():
        results = json.loads(args.json.read_text())  # resume: builds already measured stay
    done = {(r["n"], r["backend"], r["method"]) for r in results["rows"]}
    for n in sizes:
        database = np.asarray(tiled[:n], dtype=np.float32)
        truth = Truth.of(queries, database)
        for backend in args.backends.split(","):
            empty = empty_memory(backend)
            signed = engine_spec(backend).signed
            for build in code_builds(model, backend, knobs) + built_in_builds(backend, methods):
                if build.server_only or (n, backend, build.method) in done:
                    continue
                logging.info("%s n=%d: %s", backend, n, build.method)
                try:
                    rows = run_build(backend, build, database, queries, truth, empty, config, False)
                except Exception as e:  # one build failing leaves the others' figures
                    rows = [{"setting": "", "status": "failed", "reason": failure(e)}]
                for row in rows:
                    row.update(n=n, backend=backend, method=build.method)
                    if build.family == "saevdb":
                        row["query_mode"] = default_query_mode(signed, row["setting"] == label(None))
                    row.pop("engine_stats", None)
                    results["rows"].append(row)
                    if row["status"] == "ok":
                        logging.info(
                            "  %-24s recall %.3f  QPS %7.0f  p99 %7.2f ms  RAM %6.0f B",
                            row["setting"],
                            row["recall_at_10"],
                            row["qps"],
                            row["p99_ms"],
                            row["ram_bytes_per_vector"],
                        )
                args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
