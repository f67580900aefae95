"""Ingest sources: .npy, Parquet and iterators give the same batches; unreadable inputs are named."""

from __future__ import annotations

import numpy as np
import pytest

from saevdb.sae_core.sources import SourceError, read_batches


def test_sources_give_the_same_batches(clusters, tmp_path, write_parquet):
    np.save(tmp_path / "x.npy", clusters[:1000])
    write_parquet(tmp_path / "x.parquet", clusters[:1000])
    npy = list(read_batches(tmp_path / "x.npy", 32, 300))
    parquet = list(read_batches(tmp_path / "x.parquet", 32, 300))
    chunks = list(read_batches((clusters[lo : min(lo + 128, 1000)] for lo in range(0, 1000, 128)), 32, 300))
    for batches in (parquet, chunks):
        assert [b.number for b in batches] == [0, 1, 2, 3]
        for a, b in zip(npy, batches, strict=True):
            np.testing.assert_array_equal(a.ids, b.ids)
            np.testing.assert_allclose(a.vectors, b.vectors, rtol=1e-6)
    assert [b.number for b in read_batches(tmp_path / "x.npy", 32, 300, start_batch=2)] == [2, 3]
    with_ids = next(read_batches(tmp_path / "x.parquet", 32, 300, id_column="item"))
    assert with_ids.ids[0] == 1000


def test_unreadable_inputs_are_named(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(SourceError, match="bad.npy"):
        list(read_batches(tmp_path / "bad.npy", 32, 10))
    np.save(tmp_path / "short.npy", np.zeros((100, 32), dtype=np.float32))
    raw = (tmp_path / "short.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(raw[: len(raw) // 2])  # truncated
    with pytest.raises(SourceError, match="short.npy"):
        list(read_batches(tmp_path / "short.npy", 32, 10))
    with pytest.raises(SourceError, match=r"expected \[n, 32\]"):
        np.save(tmp_path / "wide.npy", np.zeros((5, 33), dtype=np.float32))
        list(read_batches(tmp_path / "wide.npy", 32, 10))
