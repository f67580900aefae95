"""`saevdb ingest` then `saevdb search` in every embedded engine, as the README shows them: each
query row finds itself first; `--rescore` re-scores from the originals `--originals` kept; another
model's query is refused by the collection's model check."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from integration_tests.launchers import BACKENDS, skip_unless_runnable
from saevdb.cli import main as saevdb
from saevdb.sae_core.model_files import save_model


@pytest.fixture
def workspace():
    """A folder under /tmp open to others: under root the OpenSearch node runs as `nobody`, who must
    reach engine/ inside (pytest's tmp_path sits below a folder closed to other users)."""
    folder = Path(tempfile.mkdtemp(prefix="saevdb-search-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ingest_then_search_from_the_cli(backend, model, untrained_model, vectors, workspace, capsys):
    skip_unless_runnable(backend)
    tmp_path = workspace
    save_model(model, tmp_path / "model")
    np.save(tmp_path / "x.npy", vectors)
    where = f"--backend {backend} --collection items --path {tmp_path / 'engine'}"
    assert (
        saevdb(f"ingest --model {tmp_path / 'model'} --data {tmp_path / 'x.npy'} {where} --originals --quiet".split())
        == 0
    )
    search = f"search --model {tmp_path / 'model'} --queries {tmp_path / 'x.npy'} --rows 0:20 {where} --quiet".split()
    assert saevdb([*search, "--json", str(tmp_path / "codes.json")]) == 0
    assert saevdb([*search, "--rescore", "50", "--json", str(tmp_path / "rescored.json")]) == 0
    codes, rescored = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("codes", "rescored"))
    assert codes["first_row"] == 0 and len(codes["ids"]) == 20 and len(codes["ids"][0]) == 10
    assert sum(ids[0] == row for row, ids in enumerate(codes["ids"])) >= 18
    assert [ids[0] for ids in rescored["ids"]] == list(range(20))  # exact cosine 1 with itself
    assert all(abs(scores[0] - 1) < 1e-3 for scores in rescored["scores"])
    assert "query 0: 0 (" in capsys.readouterr().out
    save_model(untrained_model, tmp_path / "other")
    assert saevdb([*search[:2], str(tmp_path / "other"), *search[3:]]) == 2
    assert "re-encode into a new collection" in capsys.readouterr().err
