"""The one source of engines for the integration tests (all started through `launchers.py`), and the
small model and codes they load. Every test here carries the `integration` marker."""

from __future__ import annotations

from contextlib import ExitStack

import numpy as np
import pytest
import scipy.sparse as sp

from integration_tests.launchers import BACKENDS, running
from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.data import synthetic_clusters
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.train import TrainConfig, build_and_fit

N, D = 5000, 32


def pytest_collection_modifyitems(items) -> None:
    """Everything in this folder runs real engines: `pytest -m integration` selects it."""
    for item in items:
        if "integration_tests" in item.nodeid:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def vectors() -> np.ndarray:
    return synthetic_clusters(n=N, d=D, clusters=40, noise=0.4, seed=11)


@pytest.fixture(scope="session")
def model(vectors) -> SparseAutoencoder:
    config, schedule = SAEConfig(d=D, h=256, k=8), TrainConfig(epochs=8, batch_size=256, seed=0)
    return build_and_fit(vectors, config, schedule, show_progress_bar=False)[0]


@pytest.fixture(scope="session")
def untrained_model() -> SparseAutoencoder:
    """Another model (its own fingerprint) for the re-encode tests."""
    return SparseAutoencoder(SAEConfig(d=D, h=256, k=8))


@pytest.fixture(scope="session")
def codes(model, vectors) -> sp.csr_matrix:
    return encode(model, vectors, show_progress_bar=False)


@pytest.fixture(params=BACKENDS)
def engine(request):
    """A started local engine of each backend, in its own folder, removed afterwards."""
    with running(request.param) as started:
        yield started


@pytest.fixture(scope="session")
def shared_engine():
    """`shared_engine(backend)`: one started local engine per backend for the whole session, started
    on first use, for tests that only need a collection of their own in some engine (an OpenSearch
    node takes the longest to start)."""
    with ExitStack() as stack:
        started: dict[str, object] = {}

        def get(backend: str):
            if backend not in started:
                started[backend] = stack.enter_context(running(backend))
            return started[backend]

        yield get


@pytest.fixture(scope="session")
def opensearch_node(shared_engine):
    return shared_engine("opensearch")
