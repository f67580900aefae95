"""Launchers for the real engines, as pytest fixtures: local processes by default, containers
(testcontainers) when a Docker engine answers.

Local: each backend's embedded engine (`adapters.local_engine`): Qdrant Edge in a child process,
the Milvus Lite 2.5 binary on a loopback port, an OpenSearch node from Maven Central. Each starts
on a free port in its own temporary folder, and the folder is removed afterwards.
Containers: the images pinned in `docker/compose.yml`, reached through the same adapters.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from adapters import LocalEngine, local_engine

BACKENDS = ("qdrant", "milvus", "opensearch")
CLIENTS = {"qdrant": "qdrant_edge", "milvus": "milvus_lite", "opensearch": "opensearchpy"}
PROGRAMS = {"opensearch": ("java", "mvn")}  # the node is fetched with Maven and runs on Java 17+
# The images docker/compose.yml pins (tests/test_repo.py keeps the two in step).
IMAGES = {
    "qdrant": "qdrant/qdrant:v1.15.4",
    "milvus": "milvusdb/milvus:v2.5.17",
    "opensearch": "opensearchproject/opensearch:2.19.3",
}


def skip_unless_runnable(backend: str) -> None:
    """Skip, saying why, when this machine cannot run `backend`'s embedded engine."""
    pytest.importorskip(CLIENTS[backend], reason=f"needs the [{backend}] extra")
    missing = [program for program in PROGRAMS.get(backend, ()) if shutil.which(program) is None]
    if missing:
        pytest.skip(f"the {backend} engine needs {' and '.join(missing)} on the PATH")


@contextmanager
def running(backend: str) -> Iterator[LocalEngine]:
    """A started embedded engine in a fresh folder; stopped and its data removed on exit.

    The folder comes from `mkdtemp` in the system temp dir: under root OpenSearch runs as `nobody`,
    who cannot enter pytest's private folders."""
    folder = Path(tempfile.mkdtemp(prefix=f"saevdb-{backend}-"))
    engine = local_engine(backend, folder)
    try:
        with engine:
            yield engine
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def docker_available() -> str | None:
    """None when a Docker engine answers, else why not."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception as e:  # no SDK, no socket, no daemon: all mean "no containers here"
        return f"no Docker engine answers ({type(e).__name__}: {str(e)[:120]})"
    return None


def _qdrant_container() -> Iterator[tuple[str, object]]:
    from qdrant_client import QdrantClient
    from testcontainers.qdrant import QdrantContainer

    with QdrantContainer(IMAGES["qdrant"]) as c:
        yield "qdrant", QdrantClient(host=c.get_container_host_ip(), port=int(c.get_exposed_port(6333)))


def _milvus_container() -> Iterator[tuple[str, object]]:
    from pymilvus import MilvusClient
    from testcontainers.milvus import MilvusContainer

    with MilvusContainer(IMAGES["milvus"]) as c:
        yield "milvus", MilvusClient(uri=c.get_connection_url())


def _opensearch_container() -> Iterator[tuple[str, object]]:
    from opensearchpy import OpenSearch
    from testcontainers.opensearch import OpenSearchContainer

    with OpenSearchContainer(IMAGES["opensearch"], security_enabled=False) as c:
        yield "opensearch", OpenSearch(f"http://{c.get_container_host_ip()}:{c.get_exposed_port(9200)}")


CONTAINERS = {"qdrant": _qdrant_container, "milvus": _milvus_container, "opensearch": _opensearch_container}


@contextmanager
def container(backend: str) -> Iterator[tuple[str, object]]:
    """The backend's pinned image started by testcontainers; yields (adapter name, connected client)."""
    yield from CONTAINERS[backend]()
