"""A build served under a memory cap in Qdrant Edge (`saevdb.compare.capped`): uncapped it answers
and the cgroup counts what the engine charged, files evicted first; under a cap the collection
cannot fit, the OOM kill marks its rows failed with the cap and the cgroup's last reading."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from integration_tests.launchers import skip_unless_runnable
from saevdb.adapters.cgroup import CgroupUnavailable, MemoryCgroup
from saevdb.compare.build import build_collection
from saevdb.compare.capped import MB, empty_engine_bytes, serve_capped
from saevdb.compare.plan import saevdb_builds
from saevdb.compare.truth import Truth


@pytest.fixture(scope="module")
def built(model, vectors):
    skip_unless_runnable("qdrant")
    try:
        MemoryCgroup.child("saevdb-probe").remove()
    except CgroupUnavailable as e:
        pytest.skip(f"no child memory cgroup here: {e}")
    folder = Path(tempfile.mkdtemp(prefix="saevdb-capped-"))
    build = next(b for b in saevdb_builds(model, (None,), 0, (50,), "float16") if b.options.get("originals"))
    build_collection("qdrant", build, vectors, folder / "build", 1000, False)
    yield build, folder, empty_engine_bytes("qdrant", folder / "empty")
    shutil.rmtree(folder, ignore_errors=True)


def test_uncapped_serving_counts_what_the_engine_charged(built, vectors):
    build, folder, empty = built
    queries = vectors[:64] + 0.01
    (row,) = serve_capped(
        "qdrant", build, folder / "build", vectors.shape[1], None, empty, queries, Truth.of(queries, vectors)
    )
    assert row["status"] == "ok" and row["recall_at_10"] > 0.5
    assert row["evicted_bytes"] > 0
    # The originals and postings were evicted before the load, so their pages are the cgroup's.
    assert row["loaded"]["cache_bytes"] > 0 and row["cgroup"]["oom_kills"] == 0
    assert row["read_bytes_per_query"] >= 0 and row["major_faults_per_query"] >= 0


def test_a_cap_the_collection_cannot_fit_fails_its_rows_with_the_cap(built, vectors):
    build, folder, empty = built
    queries = vectors[:8]
    cap = empty + 2 * MB
    (row,) = serve_capped(
        "qdrant", build, folder / "build", vectors.shape[1], cap, empty, queries, Truth.of(queries, vectors)
    )
    assert row["status"] == "failed"
    assert row["reason"] == f"OOM kill at cap {cap / MB:.0f} MB"
    assert row["cgroup"]["oom_kills"] == 1


def test_an_engine_that_does_not_answer_in_time_is_killed_and_its_rows_say_so(built, vectors):
    build, folder, empty = built
    queries = vectors[:8]
    truth = Truth.of(queries, vectors)
    (row,) = serve_capped(
        "qdrant", build, folder / "build", vectors.shape[1], None, empty, queries, truth, deadline_s=0.05
    )
    assert row["status"] == "failed"
    assert row["reason"].startswith("no answer within 0 s with no cap (thrashing)")
