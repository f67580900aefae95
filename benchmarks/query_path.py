"""Where one two-stage query's time goes: each part timed alone, side by side, in one run.

    .venv/bin/python benchmarks/query_path.py --model runs/os23/models/h4096_k8 --n 1000000 \\
        --folder runs/cold --cold-bookkeeping --originals-file float16 \\
        --methods "binary 1-bit, 8-bit query" --query-k 16,32,128 --queries 300 --json runs/qps/path.json

Takes `memory_cap.py`'s options and its report (`--json`, whose `builds` name each build's folder;
a build not there yet is made, as `memory_cap.py` makes it). Each build is opened twice, one after
the other: in this process (the adapter class itself) and served by the engine's child process as
the capped runs serve it (`local_engine`: every call a round trip through a manager proxy, its
arguments and results pickled). No cap: every file stays in the page cache once read, and one
untimed pass over the queries comes first, so the parts are compared warm. Per single query (the
one-client latency `measure_search` takes), mean and median ms over `--queries` WordNet queries:

- `encode`: `query_vectors` — `W_dec q̄` [h] and its k_q largest positive weights (the client's part);
- `first stage`: the codes' top D from the engine's sparse index, in this process;
- `re-score`: the flat file's exact cosines of those D rows (`OriginalsFile.rescore`), alone;
- `search`: the adapter's whole two-stage search, in this process (in-shard builds re-score inside
  the engine, from its `Memory.Cold` dense vector);
- `served`: the setting's whole search as `memory_cap.py` times it: encode, proxy, search; what it
  adds to `search` is the proxy's (`proxy`, a difference of two timings).

The built-ins get `search` and `served`. Printed: RESULTS.md's table of the run (`path_tables.py`),
with each saevdb setting's served QPS over the fastest served built-in's (`memory_cap.py` measures
their recall; this script only times).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from memory_cap import BACKEND, arguments, data, option_builds, slug  # noqa: E402
from path_tables import path_table  # noqa: E402

from saevdb.adapters import local_engine  # noqa: E402
from saevdb.adapters.base import ModelInfo  # noqa: E402
from saevdb.adapters.originals import OriginalsFile  # noqa: E402
from saevdb.adapters.qdrant.constants import ORIGINALS_FILE  # noqa: E402
from saevdb.adapters.qdrant.edge import QdrantEdgeAdapter  # noqa: E402
from saevdb.adapters.qdrant.edge_dense import QdrantEdgeDenseAdapter  # noqa: E402
from saevdb.compare.build import COLLECTION, build_collection, open_adapter  # noqa: E402
from saevdb.compare.plan import Build  # noqa: E402
from saevdb.sae_core.query import query_vectors  # noqa: E402

TOP_K = 10


def timed(call, queries: np.ndarray) -> dict:
    """`call(i)` for every query index, once untimed (warm-up), once timed: mean and median ms."""
    for i in range(len(queries)):
        call(i)
    times = np.empty(len(queries))
    for i in range(len(queries)):
        start = time.perf_counter()
        call(i)
        times[i] = time.perf_counter() - start
    return {"mean_ms": 1000 * float(times.mean()), "p50_ms": 1000 * float(np.median(times))}


def in_process(build: Build, folder: Path, d: int):
    """The build's adapter opened in this process, as the engine's child opens it."""
    if build.kind == "sparse":
        return QdrantEdgeAdapter(ModelInfo.of(build.model), folder / COLLECTION, **build.options)
    return QdrantEdgeDenseAdapter(d, folder / COLLECTION, **build.options)


def depth_of(label: str) -> int:
    """D of a "two-stage D[, k_q K]" label."""
    return int(label.split("two-stage ")[1].split(",")[0])


def query_k_of(label: str) -> int | None:
    return int(label.split("k_q ")[1]) if "k_q " in label else None


def parts_in_process(build: Build, adapter, queries: np.ndarray) -> list[dict]:
    """The in-process parts of each setting of `build` (see the module docstring)."""
    rows = []
    for setting in build.settings:
        search = setting.searcher(adapter, TOP_K)
        row = {"method": build.method, "setting": setting.label}
        row["search"] = timed(lambda i, s=search: s(queries[i : i + 1]), queries)
        if build.kind == "sparse":
            row.update(sparse_parts(build, adapter, queries, depth_of(setting.label), query_k_of(setting.label)))
        rows.append(row)
    return rows


def sparse_parts(build: Build, adapter, queries: np.ndarray, depth: int, query_k: int | None) -> dict:
    """`encode`, `first stage` and (with a flat file) `re-score` of one two-stage setting."""

    def encode(i: int):
        return query_vectors(build.model, queries[i : i + 1], "asymmetric_nonneg", query_k)

    weights = [encode(i) for i in range(len(queries))]
    parts = {
        "encode": timed(encode, queries),
        "first stage": timed(lambda i: adapter.search(weights[i], depth), queries),
    }
    dtype = build.options.get("originals_file")
    if dtype is not None:
        file = OriginalsFile(adapter.path / ORIGINALS_FILE, queries.shape[1], dtype)
        candidates = [adapter.search(w, depth)[0] for w in weights]
        parts["re-score"] = timed(lambda i: file.rescore(queries[i : i + 1], candidates[i], TOP_K), queries)
        file.close()
    return parts


def served(build: Build, folder: Path, d: int, queries: np.ndarray, rows: list[dict]) -> None:
    """Add each setting's `served` time to its row in `rows`."""
    with local_engine(BACKEND, folder) as engine:
        adapter = open_adapter(engine, build, d)
        adapter.count()
        for setting in build.settings:
            (row,) = [r for r in rows if r["method"] == build.method and r["setting"] == setting.label]
            search = setting.searcher(adapter, TOP_K)
            row["served"] = timed(lambda i, s=search: s(queries[i : i + 1]), queries)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="this script's JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    report = json.loads(args.json.read_text()) if args.json.is_file() else {"rows": [], "builds": {}}
    database, queries, _ = data(args)
    queries = queries[: args.queries]
    rows: list[dict] = []
    for build in option_builds(args, database):
        folder = args.folder / f"{Path(args.data).stem}_{args.n}" / slug(build.method)
        if build.method not in report["builds"]:
            ingest_s, optimize_s = build_collection(BACKEND, build, database, folder, 1000, False)
            report["builds"][build.method] = {"folder": str(folder), "ingest_s": ingest_s, "optimize_s": optimize_s}
            args.json.write_text(json.dumps(report, indent=1))
        folder = Path(report["builds"][build.method]["folder"])
        logging.info("timing %s", build.method)
        adapter = in_process(build, folder, database.shape[1])
        rows += parts_in_process(build, adapter, queries)
        adapter.close()
        served(build, folder, database.shape[1], queries, rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"command": " ".join(sys.argv), "n": len(database), "queries": len(queries), "rows": rows}
    args.out.write_text(json.dumps(result, indent=1))
    print(path_table(result))


if __name__ == "__main__":
    main()
