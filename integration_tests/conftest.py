"""Fixtures for the integration tests: a small trained model, its codes, and each real engine."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from integration_tests.launchers import BACKENDS, running, skip_unless_runnable
from sae_core.config import SAEConfig
from sae_core.data import synthetic_clusters
from sae_core.encode import encode
from sae_core.model import SparseAutoencoder
from sae_core.train import TrainConfig, build_and_fit

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
    """A started embedded engine of each backend, in its own folder, removed afterwards."""
    skip_unless_runnable(request.param)
    with running(request.param) as started:
        yield started
