import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from saevdb.sae_core.encode import encode
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.query import default_query_k, default_query_mode


def test_csr_has_at_most_k_positive_entries_per_row(trained, clusters):
    codes = encode(trained, clusters, batch_size=700, show_progress_bar=False)
    assert codes.shape == (3000, 256) and codes.format == "csr"
    nnz = np.diff(codes.indptr)
    # Least squares may ask for a negative value, which the non-negative rule clamps to 0 and drops.
    assert (nnz <= 8).all() and nnz.mean() > 7
    assert (codes.data > 0).all()
    assert codes.indices.dtype == np.int32 and codes.has_sorted_indices


@pytest.mark.parametrize("rule", [{"signed": True}, {"refit": False, "shortlist": 1}])
def test_exactly_k_entries_without_clamping(trained, clusters, rule):
    model = SparseAutoencoder(replace(trained.config, **rule))
    model.load_state_dict(trained.state_dict())
    codes = encode(model, clusters, show_progress_bar=False)
    assert (np.diff(codes.indptr) == 8).all()


@pytest.mark.parametrize("batch_size,slice_rows", [(33, None), (1000, 64)])
def test_batching_does_not_change_codes(trained, clusters, monkeypatch, batch_size, slice_rows):
    a = encode(trained, clusters[:1000], batch_size=1000, show_progress_bar=False)
    if slice_rows:  # cache-sized CPU slices inside a batch, as at h=4,096
        monkeypatch.setattr(sys.modules["saevdb.sae_core.encode"], "CPU_SLICE_BYTES", slice_rows * 4 * trained.config.h)
    b = encode(trained, clusters[:1000], batch_size=batch_size, show_progress_bar=False)
    assert (a != 0).sum() == (b != 0).sum()
    assert abs(a - b).max() < 1e-4  # BLAS blocking may change the last float bits, not the codes


def test_query_k_differs_from_item_k(trained, clusters):
    codes = encode(trained, clusters[:10], k=20, show_progress_bar=False)
    assert 8 < np.diff(codes.indptr).max() <= 20


def test_default_query_k_is_full_width_for_asymmetric_queries(trained):
    cfg = trained.config
    assert default_query_k(cfg, "asymmetric_nonneg") == default_query_k(cfg, "asymmetric") == cfg.h
    assert default_query_k(cfg, "symmetric") == cfg.k


def test_the_default_query_is_signed_only_at_full_width_where_the_engine_takes_it():
    assert default_query_mode(True) == "asymmetric" and default_query_mode(False) == "asymmetric_nonneg"
    assert default_query_mode(True, full_width=False) == default_query_mode(False, full_width=False)
    assert default_query_mode(False, full_width=False) == "asymmetric_nonneg"


def test_float16_values_are_rounded_like_the_engine_stores_them(trained, clusters):
    codes = encode(trained, clusters[:50], value_dtype="float16", show_progress_bar=False)
    assert codes.dtype == np.float32
    np.testing.assert_array_equal(codes.data, codes.data.astype(np.float16).astype(np.float32))


def test_low_precision_matmul_path_agrees(trained, clusters):
    """The bf16 matmul of the GPU path, run on CPU: same supports for nearly all entries."""
    exact = encode(trained, clusters[:500], show_progress_bar=False)
    low = encode(trained, clusters[:500], dtype=torch.bfloat16, batch_size=128, show_progress_bar=False)
    overlap = exact.multiply(low).nnz / exact.nnz
    assert overlap > 0.9
    np.testing.assert_allclose(abs(exact - low).sum(axis=1).mean(), 0, atol=0.2)


def test_memory_mapped_input(trained, clusters, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, clusters.astype(np.float16))
    codes = encode(trained, np.load(path, mmap_mode="r"), batch_size=512, show_progress_bar=False)
    assert codes.shape[0] == 3000


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_path_matches_cpu(trained, clusters):
    cpu = encode(trained, clusters, show_progress_bar=False)
    gpu = encode(trained, clusters, device="cuda", batch_size=256, show_progress_bar=False)
    assert cpu.multiply(gpu).nnz / cpu.nnz > 0.99


@pytest.mark.parametrize(
    "x, message",
    [
        (np.full((3, 32), np.nan, dtype=np.float32), "NaN or inf"),
        (np.vstack([np.ones((2, 32)), [np.r_[np.inf, np.zeros(31)]]]), "rows 2"),
        (np.ones((3, 31), dtype=np.float32), "dimension 31"),
        (np.ones((0, 32), dtype=np.float32), "empty"),
        (np.ones(32, dtype=np.float32), "2-D"),
        (np.ones((2, 2, 32), dtype=np.float32), "2-D"),
        (np.array([["a"] * 32]), "numeric"),
    ],
)
def test_bad_input_raises_one_clear_error(trained, x, message):
    with pytest.raises(ValueError, match=message):
        encode(trained, x, show_progress_bar=False)


def test_k_above_h_is_rejected(trained, clusters):
    with pytest.raises(ValueError, match="k=300"):
        encode(trained, clusters[:2], k=300, show_progress_bar=False)


def test_uint8_quantisation_keeps_support_and_order(trained, clusters):
    from saevdb.sae_core.quantize import quantize_uint8, uint8_scale

    codes = encode(trained, clusters, show_progress_bar=False)
    codes.eliminate_zeros()
    q = quantize_uint8(codes, uint8_scale(codes))
    assert q.nnz == codes.nnz and q.data.min() >= 1 and q.data.max() <= 255
    assert np.array_equal(q.data, np.rint(q.data))
    np.testing.assert_array_equal(q.indices, codes.indices)
    # Within one row, rounding can tie two values but never swaps their order.
    row = slice(codes.indptr[0], codes.indptr[1])
    assert (np.diff(q.data[row][np.argsort(codes.data[row])]) >= 0).all()
    with pytest.raises(ValueError, match="positive"):
        quantize_uint8(codes, 0.0)
