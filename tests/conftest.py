"""Shared fixtures: a small synthetic set and one model trained on it once per session."""

from __future__ import annotations

import shutil
import tempfile

import numpy as np
import pytest

from sae_core.config import SAEConfig
from sae_core.data import synthetic_clusters
from sae_core.model import SparseAutoencoder
from sae_core.train import TrainConfig, build_and_fit

D, H, K = 32, 256, 8


@pytest.fixture(scope="session")
def clusters() -> np.ndarray:
    return synthetic_clusters(n=3000, d=D, clusters=30, noise=0.4, seed=1)


@pytest.fixture(scope="session")
def trained(clusters) -> SparseAutoencoder:
    model, _ = build_and_fit(
        clusters, SAEConfig(d=D, h=H, k=K), TrainConfig(epochs=15, batch_size=256, seed=0), show_progress_bar=False
    )
    return model


@pytest.fixture
def untrained() -> SparseAutoencoder:
    return SparseAutoencoder(SAEConfig(d=D, h=H, k=K))


@pytest.fixture(scope="session")
def opensearch_url() -> str:
    """One real OpenSearch node for the session (fetched from Maven Central on first use).

    Its folder is made with `mkdtemp` in the system temp dir, not pytest's: under root the node
    runs as `nobody`, who cannot enter pytest's private folders."""
    pytest.importorskip("opensearchpy", reason="needs the [opensearch] extra")
    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.skip("an OpenSearch node needs java (17+) and mvn on the PATH")
    from adapters.opensearch_node import OpenSearchNode

    folder = tempfile.mkdtemp(prefix="saevdb-opensearch-")
    try:
        with OpenSearchNode(folder) as node:
            yield node.url
    finally:
        shutil.rmtree(folder, ignore_errors=True)
