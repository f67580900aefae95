import copy
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.dictionary import refine_decoder, system_dtype
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.train import TrainConfig, build_and_fit


def _with_support(model: SparseAutoencoder, **changes) -> SparseAutoencoder:
    other = SparseAutoencoder(replace(model.config, **changes))
    other.load_state_dict(model.state_dict())
    return other.eval()


def _reconstruction_cosine(model: SparseAutoencoder, x: np.ndarray) -> float:
    with torch.no_grad():
        xt = torch.from_numpy(x)
        return torch.nn.functional.cosine_similarity(model(xt)[1], model.preprocess(xt)).mean().item()


def test_pursuit_codes_are_k_sparse_non_negative_and_closer(trained, clusters):
    pursuit = _with_support(trained, support="pursuit")
    codes = encode(pursuit, clusters[:500], show_progress_bar=False)
    nnz = np.diff(codes.indptr)
    assert (nnz <= 8).all() and nnz.mean() > 6 and (codes.data > 0).all()
    assert _reconstruction_cosine(pursuit, clusters[:500]) > _reconstruction_cosine(trained, clusters[:500])


def test_signed_pursuit_keeps_signs(trained, clusters):
    codes = encode(_with_support(trained, support="pursuit", signed=True), clusters[:200], show_progress_bar=False)
    assert (np.diff(codes.indptr) == 8).all() and (codes.data < 0).any()


def test_pursuit_batches_agree(trained, clusters):
    pursuit = _with_support(trained, support="pursuit")
    a = encode(pursuit, clusters[:300], batch_size=300, show_progress_bar=False)
    b = encode(pursuit, clusters[:300], batch_size=7, show_progress_bar=False)
    assert (a != 0).sum() == (b != 0).sum() and abs(a - b).max() < 1e-4


def test_more_pursuit_steps_give_closer_codes(trained, clusters):
    coarse = _with_support(trained, support="pursuit", pursuit_steps=1)
    fine = _with_support(trained, support="pursuit", pursuit_steps=8)
    assert _reconstruction_cosine(fine, clusters[:500]) > _reconstruction_cosine(coarse, clusters[:500])


def test_default_support_is_not_written_so_older_fingerprints_hold():
    text = SAEConfig(d=4, h=8, k=2).to_json()
    assert "support" not in text and "pursuit_steps" not in text
    config = SAEConfig(d=4, h=8, k=2, support="pursuit", pursuit_steps=2)
    assert SAEConfig.from_json(config.to_json()) == config


def test_unknown_support_and_bad_steps_are_refused():
    with pytest.raises(ValueError, match="support must be one of"):
        SAEConfig(d=4, h=8, k=2, support="omp")
    with pytest.raises(ValueError, match="pursuit_steps must be a positive integer"):
        SAEConfig(d=4, h=8, k=2, pursuit_steps=0)


def test_training_a_pursuit_model_refits_its_decoder(clusters):
    model, result = build_and_fit(
        clusters,
        SAEConfig(d=32, h=256, k=8, support="pursuit"),
        TrainConfig(epochs=3, batch_size=256, decoder_rounds=2),
        show_progress_bar=False,
    )
    assert len(result.decoder_cosines) == 2 and result.decoder_cosines[1] > result.decoder_cosines[0]
    assert torch.allclose(model.decoder.norm(dim=1), torch.ones(256), atol=1e-5)


def test_refinement_reads_a_sample_of_many_rows(trained, clusters, monkeypatch):
    monkeypatch.setattr(sys.modules["saevdb.sae_core.dictionary"], "MAX_ROWS", 300)
    model = _with_support(trained, support="pursuit")
    assert len(refine_decoder(model, clusters, np.arange(clusters.shape[0]), rounds=1)) == 1


def test_refinement_also_fits_a_topk_decoder_to_its_shortlist_codes(clusters):
    model, _ = build_and_fit(
        clusters,
        SAEConfig(d=32, h=256, k=8),
        TrainConfig(epochs=3, batch_size=256, decoder_rounds=0),
        show_progress_bar=False,
    )
    cosines = refine_decoder(model, clusters, np.arange(clusters.shape[0]), rounds=2)
    assert cosines[1] > cosines[0]


def test_the_refit_solves_in_float32_where_float64_would_not_fit_and_gets_the_same_decoder(clusters):
    assert system_dtype(4096, 2 << 30) == torch.float64 and system_dtype(16384, 2 << 30) == torch.float32
    model, _ = build_and_fit(
        clusters, SAEConfig(d=32, h=256, k=8), TrainConfig(epochs=2, batch_size=256, decoder_rounds=0)
    )
    narrow = copy.deepcopy(model)
    rows = np.arange(clusters.shape[0])
    wide_cosines = refine_decoder(model, clusters, rows, rounds=2, max_memory=16 * 256**2)
    narrow_cosines = refine_decoder(narrow, clusters, rows, rounds=2, max_memory=16 * 256**2 - 1)
    assert narrow_cosines == pytest.approx(wide_cosines, abs=1e-4)
    assert torch.allclose(model.decoder, narrow.decoder, atol=1e-3)
