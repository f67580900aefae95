"""Launchers for the real engines, for the integration tests: every engine of the registry
(`saevdb.adapters.DEFAULT_ENGINES`) as its local engine by default, or in a container (testcontainers)
when a Docker engine answers. Nothing here names an engine: the registry entries say what each needs.

Local: each engine starts on a free port in its own temporary folder, removed afterwards.
Containers: the images the registry pins (docker/compose.yml pins the same), reached through the
same adapters.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from saevdb.adapters import DEFAULT_ENGINES, LocalEngine, engine_spec, local_engine
from saevdb.adapters.registry import load

BACKENDS = DEFAULT_ENGINES  # another release line of an engine has its own tests (test_opensearch3.py)


def skip_unless_runnable(backend: str) -> None:
    """Skip, saying why, when this machine cannot run `backend`'s local engine."""
    spec = engine_spec(backend)
    for module in spec.client_modules:
        pytest.importorskip(module, reason=f"needs the [{spec.extra}] extra")
    missing = [program for program in spec.programs if shutil.which(program) is None]
    if missing:
        pytest.skip(f"the {backend} engine needs {' and '.join(missing)} on the PATH")


@contextmanager
def running(backend: str) -> Iterator[LocalEngine]:
    """A started local engine in a fresh folder; stopped and its data removed on exit.

    The folder comes from `mkdtemp` in the system temp dir: under root OpenSearch runs as `nobody`,
    who cannot enter pytest's private folders."""
    skip_unless_runnable(backend)
    folder = Path(tempfile.mkdtemp(prefix=f"saevdb-{backend}-"))
    folder.chmod(0o755)
    try:
        with local_engine(backend, folder) as engine:
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


@contextmanager
def container(backend: str) -> Iterator[tuple[type, object]]:
    """The engine's pinned image started by testcontainers; yields (adapter class, connected client)."""
    with load(backend, "container")(engine_spec(backend).image) as started:
        yield started


def start_local_ray(ray) -> None:
    """A small local Ray instance (`ray`: the module, which the `[ray]` extra installs). On a loaded
    2-core machine Ray's start has missed its fixed windows: the raylet's registration ("The current
    node timed out during startup") and, once, the GCS server's port file ("Timed out waiting for
    file ..."): one more try, then fail."""
    options = dict(num_cpus=2, object_store_memory=256 * 2**20, include_dashboard=False, log_to_driver=False)
    try:
        ray.init(**options)
    except Exception as e:  # Ray raises a bare Exception or a RuntimeError for these
        if "timed out" not in str(e).lower():
            raise
        ray.shutdown()
        ray.init(**options)
