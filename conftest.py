"""Fixtures both test folders share: a small synthetic set and one model trained on it once per session.

Engines are started only by `integration_tests/` (its conftest and launchers); `tests/` starts none."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.data import synthetic_clusters
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.train import TrainConfig, build_and_fit

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
def variant():
    """`variant(model, **config_changes)`: the same weights under a changed config (another code rule)."""

    def make(model: SparseAutoencoder, **changes) -> SparseAutoencoder:
        other = SparseAutoencoder(dataclasses.replace(model.config, **changes))
        other.load_state_dict(model.state_dict())
        return other.eval()

    return make


@pytest.fixture(scope="session")
def reconstruct():
    """`reconstruct(model, x)`: x̂ `[n, d]` decoded from the model's reconstruction codes of `x`."""

    def run(model: SparseAutoencoder, x: np.ndarray) -> np.ndarray:
        codes = encode(model, x, show_progress_bar=False, reconstruction=True)
        with torch.no_grad():
            return model.decode(torch.from_numpy(codes.toarray())).numpy()

    return run


@pytest.fixture
def write_parquet():
    """`write_parquet(path, vectors, lengths={row: length})`: the vectors as a Parquet list column
    "embedding" (rows cut to `length` where given: wrong dimensions) beside an id column "item"."""

    def write(path, vectors, lengths=None) -> None:
        rows = [list(map(float, v)) for v in vectors]
        for row, length in (lengths or {}).items():
            rows[row] = rows[row][:length]
        pq.write_table(pa.table({"embedding": rows, "item": np.arange(len(rows)) + 1000}), path)

    return write
