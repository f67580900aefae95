"""A real three-node OpenSearch cluster on loopback (`OpenSearchCluster`): it forms, serves the codes'
index with 3 shards and 1 replica through every node's URL, and survives the faults of an ingest —
a data node killed in the middle (seeded kill point), the cluster going red (a primary's only copy
lost), the ingest process itself killed and rerun, a node URL that does not answer — and takes a
Ray Data ingest. Each ends with exactly the input's ids, none twice."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from opensearchpy import helpers

from integration_tests.launchers import skip_unless_runnable, start_local_ray
from saevdb.adapters import ModelInfo
from saevdb.adapters.launcher import free_port
from saevdb.adapters.opensearch.cluster import OpenSearchCluster
from saevdb.adapters.opensearch.sparse import OpenSearchAdapter
from saevdb.cli import main as saevdb
from saevdb.ingest import IngestConfig, IngestError, ingest
from saevdb.sae_core.model_files import save_model

logger = logging.getLogger(__name__)
SHARDS, REPLICAS, BATCH = 3, 1, 250
QUERIES = 20
CONFIG = IngestConfig(batch_size=BATCH)


@pytest.fixture(scope="module")
def workspace():
    """Open to others: under root the nodes run as `nobody`."""
    skip_unless_runnable("opensearch")
    folder = Path(tempfile.mkdtemp(prefix="saevdb-cluster-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(workspace):
    with OpenSearchCluster(workspace / "cluster") as started:
        yield started


@pytest.fixture(scope="module")
def files(workspace, model, vectors):
    save_model(model, workspace / "model")
    np.save(workspace / "x.npy", vectors)
    return workspace


def on_cluster(cluster: OpenSearchCluster, model, index: str) -> OpenSearchAdapter:
    """The codes' index with 3 shards and 1 replica, through every node's URL as a user gives them."""
    return OpenSearchAdapter.from_url(ModelInfo.of(model), cluster.url, index, shards=SHARDS, replicas=REPLICAS)


def stored_ids(cluster: OpenSearchCluster, index: str) -> list[int]:
    """Every document id of `index`, read by a scroll over all shards (duplicates would show twice)."""
    client = cluster.client()
    try:
        client.indices.refresh(index=index)
        return [int(hit["_id"]) for hit in helpers.scan(client, index=index, _source=False, size=1000)]
    finally:
        client.close()


def when_written(checkpoint: Path, rows: int, action) -> threading.Thread:
    """Run `action` once the ingest's checkpoint says `rows` rows are stored: a fault at a batch boundary."""

    def watch() -> None:
        while True:
            try:
                if json.loads(checkpoint.read_text())["state"]["rows_written"] >= rows:
                    break
            except (FileNotFoundError, json.JSONDecodeError, KeyError):
                pass
            time.sleep(0.05)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_three_nodes_form_a_cluster_and_serve_the_codes_across_shards_and_replicas(cluster, model, codes):
    health = cluster.health()
    assert health["number_of_nodes"] == 3 and health["status"] == "green"
    adapter = OpenSearchAdapter.from_url(
        ModelInfo.of(model), cluster.url, "lifecycle", shards=SHARDS, replicas=REPLICAS
    )
    adapter.recreate()
    adapter.upsert(np.arange(1000), codes[:1000])
    cluster.wait_for(3, "green")  # the replicas copied from their primaries
    client = cluster.client()
    shards = client.cat.shards(index="lifecycle", format="json")
    client.close()
    assert len(shards) == SHARDS * (1 + REPLICAS) and {s["state"] for s in shards} == {"STARTED"}
    assert len({s["node"] for s in shards}) == 3
    ids, _ = adapter.search(codes[:QUERIES], 10)
    assert adapter.count() == 1000 and (ids[:, 0] == np.arange(QUERIES)).mean() >= 0.9
    readings = cluster.memory()
    assert all(r is not None and r.anonymous_bytes > 0 and r.heap_used_bytes for r in readings)
    adapter.drop()


def test_a_data_node_killed_mid_ingest_loses_nothing_and_searches_agree_while_yellow(cluster, model, vectors, files):
    n, batches = len(vectors), -(-len(vectors) // BATCH)
    kill_at = int(np.random.default_rng(7).integers(batches // 4, 3 * batches // 4))  # seeded kill point
    checkpoint = files / "node-kill.json"
    adapter = OpenSearchAdapter.from_url(
        ModelInfo.of(model), cluster.url, "node_kill", shards=SHARDS, replicas=REPLICAS
    )
    killer = when_written(checkpoint, kill_at * BATCH, lambda: cluster.kill_node(2))
    resumed, summary = 0, None
    while summary is None:  # the ingest goes on through the failover, or stops at a batch and resumes
        try:
            summary = ingest(adapter, model, str(files / "x.npy"), checkpoint, "opensearch:node_kill", CONFIG, False)
        except IngestError as e:
            resumed += 1
            logger.info("ingest stopped, resuming: %s", e)
            assert resumed <= 3, "the ingest did not get past the node's failure"
    killer.join(timeout=60)
    assert cluster.nodes[2].pid is None and summary["rows_written"] == n
    assert cluster.health()["status"] in ("yellow", "green") and cluster.health()["number_of_nodes"] == 2
    codes = adapter.retrieve(np.arange(QUERIES))
    during, _ = adapter.search(codes, 10)
    yellow_ids = stored_ids(cluster, "node_kill")
    cluster.restart_node(2)
    after, _ = adapter.search(codes, 10)
    ids = stored_ids(cluster, "node_kill")
    differing = int((during != after).any(axis=1).sum())
    logger.info(
        "node kill at batch %d of %d: %d ids in, %d stored, %d duplicates, %d resumes, %d of %d searches differed",
        kill_at,
        batches,
        n,
        len(set(ids)),
        len(ids) - len(set(ids)),
        resumed,
        differing,
        QUERIES,
    )
    assert sorted(ids) == list(range(n)) and sorted(yellow_ids) == list(range(n))
    assert differing == 0 and cluster.health()["status"] == "green"
    adapter.drop()


def test_a_cluster_gone_red_stops_the_ingest_at_its_batch_and_the_rerun_completes_it(cluster, model, vectors, files):
    """No replicas: the node holding shard 0's primary dies, so that shard has no copy left (red).
    The bulk writing to it fails once the node's wait for the primary runs out: the ingest stops with
    that batch, every batch before it stored; with the node back, the rerun resumes and completes."""
    n, batches = len(vectors), -(-len(vectors) // BATCH)
    kill_at = int(np.random.default_rng(8).integers(batches // 4, 3 * batches // 4))
    checkpoint = files / "red.json"
    adapter = OpenSearchAdapter.from_url(ModelInfo.of(model), cluster.url, "red", shards=SHARDS, replicas=0)
    adapter.recreate()
    client = cluster.client()
    shards = client.cat.shards(index="red", format="json")
    client.close()
    holder = next(s["node"] for s in shards if s["shard"] == "0" and s["prirep"] == "p")
    victim = [node.seat.name for node in cluster.nodes].index(holder)
    killer = when_written(checkpoint, kill_at * BATCH, lambda: cluster.kill_node(victim))
    with pytest.raises(IngestError, match=r"batch \d+ .*the engine refused it") as stopped:
        ingest(adapter, model, str(files / "x.npy"), checkpoint, "opensearch:red", CONFIG, False)
    killer.join(timeout=60)
    stored = json.loads(checkpoint.read_text())["state"]["rows_written"]
    status = cluster.health()["status"]
    cluster.restart_node(victim)
    summary = ingest(adapter, model, str(files / "x.npy"), checkpoint, "opensearch:red", CONFIG, False)
    ids = stored_ids(cluster, "red")
    logger.info(
        "red at batch %d of %d (%s): stopped with %d rows stored (%s); resumed from batch %d: %d ids, %d duplicates",
        kill_at,
        batches,
        status,
        stored,
        str(stopped.value)[:160],
        summary["resumed_from_batch"],
        len(set(ids)),
        len(ids) - len(set(ids)),
    )
    assert status == "red" and kill_at * BATCH <= stored < n
    assert summary["resumed_from_batch"] * BATCH == stored and sorted(ids) == list(range(n))
    adapter.drop()


def test_a_ray_data_ingest_writes_every_row_into_the_cluster(cluster, model, vectors, files):
    ray = pytest.importorskip("ray", reason="needs the [ray] extra")
    from saevdb.ray_ingest import ray_ingest

    adapter = on_cluster(cluster, model, "ray_items")
    adapter.recreate()
    start_local_ray(ray)
    try:
        dataset = ray.data.from_items([{"id": i, "embedding": v} for i, v in enumerate(vectors)])
        written = ray_ingest(dataset, files / "model", "opensearch", cluster.url, "ray_items", batch_size=500)
    finally:
        ray.shutdown()
    ids = stored_ids(cluster, "ray_items")
    assert written["rows_written"] == len(vectors) and sorted(ids) == list(range(len(vectors)))
    adapter.drop()


def test_an_ingest_killed_and_run_again_ends_with_exactly_the_inputs_ids(cluster, vectors, files):
    command = (
        f"ingest --model {files / 'model'} --data {files / 'x.npy'} --backend opensearch --collection ingest_kill"
        f" --url {cluster.url} --shards {SHARDS} --replicas {REPLICAS} --batch-size {BATCH}"
        f" --checkpoint {files / 'ingest-kill.json'} --quiet"
    )
    child = subprocess.Popen([sys.executable, "-m", "saevdb.cli", *command.split()])
    half = (len(vectors) // BATCH // 2) * BATCH
    when_written(files / "ingest-kill.json", half, child.kill).join(timeout=300)
    child.wait(timeout=60)
    assert child.returncode != 0  # killed, not finished
    stored_at_kill = json.loads((files / "ingest-kill.json").read_text())["state"]["rows_written"]
    assert 0 < stored_at_kill < len(vectors)
    assert saevdb([*command.split(), "--json", str(files / "rerun.json")]) == 0
    rerun = json.loads((files / "rerun.json").read_text())
    ids = stored_ids(cluster, "ingest_kill")
    logger.info(
        "ingest killed at %d rows, rerun from batch %d: %d ids stored",
        stored_at_kill,
        rerun["resumed_from_batch"],
        len(ids),
    )
    assert rerun["resumed_from_batch"] * BATCH >= stored_at_kill and sorted(ids) == list(range(len(vectors)))


def test_a_node_url_that_does_not_answer_is_named_and_nothing_is_written(cluster, files, capsys):
    dead = f"http://127.0.0.1:{free_port()}"
    urls = ",".join([*cluster.urls[:2], dead])
    command = (
        f"ingest --model {files / 'model'} --data {files / 'x.npy'} --backend opensearch --collection never"
        f" --url {urls} --checkpoint {files / 'never.json'} --quiet"
    )
    assert saevdb(command.split()) == 2
    assert f"{dead}: no OpenSearch node answers there" in capsys.readouterr().err
    client = cluster.client()
    assert not client.indices.exists(index="never") and not (files / "never.json").exists()
    client.close()
