"""`saevdb ingest` against every embedded engine: kill the engine (or the ingest) at a seeded random
batch, run the same command again, and find exactly the input's ids with the right codes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import psutil
import pytest
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from integration_tests.launchers import BACKENDS, skip_unless_runnable
from saevdb.adapters import ModelInfo, local_engine
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model_files import save_model

ROWS, BATCH = 30_000, 500


@pytest.fixture
def workspace(model, vectors):
    folder = Path(tempfile.mkdtemp(prefix="saevdb-ingest-"))
    folder.chmod(0o755)  # under root the OpenSearch node runs as `nobody`, who must reach engine/ inside
    save_model(model, folder / "model")
    data = np.tile(vectors, (ROWS // len(vectors) + 1, 1))[:ROWS]
    data += np.random.default_rng(0).normal(0, 0.01, data.shape).astype(np.float32)
    np.save(folder / "x.npy", data)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _command(folder: Path, backend: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "saevdb.cli",
        "ingest",
        "--model",
        str(folder / "model"),
        "--data",
        str(folder / "x.npy"),
        "--backend",
        backend,
        "--collection",
        "items",
        "--path",
        str(folder / "engine"),
        "--batch-size",
        str(BATCH),
        "--quiet",
    ]


def _batches_done(checkpoint: Path) -> int:
    return json.loads(checkpoint.read_text())["state"]["batches_done"] if checkpoint.is_file() else 0


def _wait_for_batch(checkpoint: Path, batch: int, process: subprocess.Popen) -> None:
    """Poll the checkpoint every 20 ms until it records `batch`, for at most 300 s."""
    waiting = Retrying(
        stop=lambda state: process.poll() is not None or stop_after_delay(300)(state),
        wait=wait_fixed(0.02),
        retry=retry_if_result(lambda done: done < batch),
        retry_error_callback=lambda _: -1,
    )
    if waiting(_batches_done, checkpoint) < batch:
        raise AssertionError(f"the ingest ended (or stalled) before batch {batch}: {process.returncode}")


@pytest.mark.parametrize("victim", ["engine", "ingest"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_mid_load_then_resume_gives_exactly_the_input(backend, victim, workspace, model):
    skip_unless_runnable(backend)
    checkpoint = workspace / "engine" / "items.ingest.json"
    at = int(np.random.default_rng(zlib.crc32(f"{backend}-{victim}".encode())).integers(3, 12))
    log = (workspace / "first-run.log").open("w")  # a file, not a pipe nobody reads: a pipe can fill and block
    ingest = subprocess.Popen(_command(workspace, backend), stderr=log)
    _wait_for_batch(checkpoint, at, ingest)
    if victim == "engine":
        for child in psutil.Process(ingest.pid).children(recursive=True):
            child.send_signal(signal.SIGKILL)
    else:
        os.kill(ingest.pid, signal.SIGKILL)
    ingest.wait(timeout=120)
    log.close()
    assert ingest.returncode != 0
    done = json.loads(checkpoint.read_text())["state"]["batches_done"]
    assert at <= done < ROWS // BATCH

    rerun = subprocess.run(_command(workspace, backend), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    state = json.loads(checkpoint.read_text())["state"]
    assert state["complete"] and state["rows_written"] == ROWS

    data = np.load(workspace / "x.npy")
    with local_engine(backend, workspace / "engine") as engine:
        adapter = engine.sparse_adapter(ModelInfo.of(model), "items")
        assert adapter.count() == ROWS  # none lost, none doubled
        sample = np.random.default_rng(1).choice(ROWS, 50, replace=False)
        stored = adapter.retrieve(sample)
        expected = encode(model, data[sample], show_progress_bar=False)
        np.testing.assert_allclose(stored.toarray(), expected.toarray(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reencode_into_a_new_collection_and_switch_the_alias(backend, workspace, model, untrained_model):
    """A new model goes into a new collection; the alias moves in one step; the old one is dropped."""
    skip_unless_runnable(backend)
    save_model(untrained_model, workspace / "model_v2")
    base = _command(workspace, backend)
    first = [*base[: base.index("--collection") + 1], "items_v1", *base[base.index("--collection") + 2 :]]
    done = subprocess.run([*first, "--alias", "items"], capture_output=True, text=True, timeout=600)
    if backend == "milvus":  # Milvus Lite has no aliases; a Milvus server does
        assert done.returncode == 2 and "no aliases" in done.stderr
        return
    assert done.returncode == 0, done.stderr[-2000:]
    second = [a if a != str(workspace / "model") else str(workspace / "model_v2") for a in first]
    second[second.index("items_v1")] = "items_v2"
    done = subprocess.run([*second, "--alias", "items", "--drop-previous"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with local_engine(backend, workspace / "engine") as engine:
        live = engine.sparse_adapter(ModelInfo.of(untrained_model), "items")
        assert live.count() == ROWS
        assert not engine.sparse_adapter(ModelInfo.of(model), "items_v1").exists()
