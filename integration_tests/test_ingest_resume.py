"""`saevdb ingest` against every embedded engine: kill the engine (or the ingest) at a random batch,
run the same command again, and find exactly the input's ids with the right codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from adapters import ModelInfo, local_engine
from integration_tests.launchers import BACKENDS, skip_unless_runnable
from sae_core.encode import encode
from sae_core.model_files import save_model

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
    subprocess.run(["rm", "-rf", str(folder)], check=False)


def _command(folder: Path, backend: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sae_core.cli",
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


def _wait_for_batch(checkpoint: Path, batch: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.is_file() and json.loads(checkpoint.read_text())["state"]["batches_done"] >= batch:
            return
        time.sleep(0.02)
    raise AssertionError(f"the ingest ended (or stalled) before batch {batch}: {process.returncode}")


@pytest.mark.parametrize("victim", ["engine", "ingest"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_mid_load_then_resume_gives_exactly_the_input(backend, victim, workspace, model):
    skip_unless_runnable(backend)
    checkpoint = workspace / "engine" / "items.ingest.json"
    at = int(np.random.default_rng().integers(3, 12))
    ingest = subprocess.Popen(_command(workspace, backend), stderr=subprocess.PIPE, text=True)
    _wait_for_batch(checkpoint, at, ingest)
    if victim == "engine":
        for child in psutil.Process(ingest.pid).children(recursive=True):
            child.send_signal(signal.SIGKILL)
    else:
        os.kill(ingest.pid, signal.SIGKILL)
    ingest.wait(timeout=120)
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
