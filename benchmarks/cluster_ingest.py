"""1,000,000 codes into a three-node OpenSearch cluster on loopback, and what each node must be given.

    .venv/bin/python benchmarks/cluster_ingest.py --model MODEL_DIR [--rows 1000000] [--json OUT]

The input is `ingest_million.py`'s (WordNet–MiniLM tiled with noise, float16 .npy). `saevdb ingest
--url` with the three nodes' URLs writes the codes' index with 3 shards and 1 replica (two copies of
every code). Each node is then read by the rules `compare` uses (`compare.provision`): the
cluster is restarted so every JVM is fresh, the index counted, each node's anonymous memory read
once loaded (less that node's reading when the cluster held no index), `QUERIES` queries sent
(each cut to its `QUERY_K` largest non-negative weights: a full-width query walks most postings and
takes seconds at 1M rows), then each node's resident index pages read; the JVM heap in use from each node's statistics
beside it. RAM to provision per vector per copy = the nodes' sum / (n × copies): what a node of a
larger cluster needs for each code it holds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from ingest_million import ensure_input, million_arguments

from saevdb.adapters import ModelInfo
from saevdb.adapters.opensearch.cluster import OpenSearchCluster
from saevdb.compare.provision import provisioned
from saevdb.sae_core.model_files import load_model
from saevdb.sae_core.query import query_vectors

SHARDS, REPLICAS = 3, 1
QUERIES = 200
QUERY_K = 128


def main() -> None:
    args = million_arguments(__doc__.splitlines()[0]).parse_args()
    ensure_input(args)
    model = load_model(args.model)
    work = Path(tempfile.mkdtemp(prefix="saevdb-cluster-"))
    work.chmod(0o755)  # under root the nodes run as `nobody`
    cluster = OpenSearchCluster(work / "cluster")
    try:
        began = time.perf_counter()
        cluster.start()
        started_s = time.perf_counter() - began
        empties = cluster.memory()
        report = work / "ingest.json"
        command = [sys.executable, "-m", "saevdb.cli", "ingest", "--model", args.model, "--data", str(args.input)]
        command += ["--backend", "opensearch", "--collection", "million", "--url", cluster.url]
        command += ["--shards", str(SHARDS), "--replicas", str(REPLICAS), "--checkpoint", str(work / "ckpt.json")]
        command += ["--json", str(report), "--quiet"]
        done = subprocess.run(command, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise SystemExit(f"ingest failed:\n{done.stderr[-3000:]}")
        summary = json.loads(report.read_text())
        cluster.stop()
        cluster.start()  # fresh JVMs: anonymous memory once loaded, as compare reads it
        adapter = cluster.sparse_adapter(ModelInfo.of(model), "million")
        n = adapter.count()
        loaded = cluster.memory()
        x = np.load(args.input, mmap_mode="r")
        rows = np.random.default_rng(0).choice(len(x), QUERIES, replace=False)
        queries = query_vectors(model, np.asarray(x[np.sort(rows)], dtype=np.float32), "asymmetric_nonneg", k=QUERY_K)
        t = time.perf_counter()
        adapter.search(queries, 10)
        search_s = time.perf_counter() - t
        after = cluster.memory()
        copies = 1 + REPLICAS
        nodes = []
        for i, (reading, load, empty) in enumerate(zip(after, loaded, empties, strict=True)):
            # provisioned() divides by what it is given: this node's share of the stored copies.
            figures = provisioned(reading, load, empty, n * copies, originals_searched=False)
            nodes.append({"node": i, **figures, "heap_used_bytes": reading.heap_used_bytes, **reading.to_dict()})
        per_copy = sum(node["ram_bytes_per_vector"] for node in nodes)
        results = {
            "rows": n,
            "shards": SHARDS,
            "replicas": REPLICAS,
            "cluster_start_s": started_s,
            "ingest": {key: summary[key] for key in ("vectors_per_s", "seconds", "upload_seconds", "peak_rss_bytes")},
            "queries": QUERIES,
            "query_k": QUERY_K,
            "search_qps_one_msearch": QUERIES / search_s,
            "ram_bytes_per_vector_per_copy": per_copy,
            "nodes": nodes,
        }
        print(
            f"{n:,} codes, {SHARDS} shards x {copies} copies on 3 nodes: {summary['vectors_per_s']:,.0f} vectors/s;"
            f" RAM to provision {per_copy:.1f} B per vector per copy (nodes: "
            + ", ".join(f"{node['ram_bytes_per_vector']:.1f}" for node in nodes)
            + "); heap in use "
            + ", ".join(f"{(node['heap_used_bytes'] or 0) / 2**20:.0f} MiB" for node in nodes),
            flush=True,
        )
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        cluster.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
