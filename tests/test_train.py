import logging

import numpy as np
import pytest
import torch

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.encode import encode
from saevdb.sae_core.metrics import recall_at
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.model_files import fingerprint
from saevdb.sae_core.search import exact_topk
from saevdb.sae_core.train import TrainConfig, _batch_positions, _mined_neighbours, build_and_fit, fit

SMALL = TrainConfig(epochs=2, batch_size=128, seed=3)


def test_codes_keep_neighbours_on_synthetic_clusters(trained, clusters):
    queries = np.arange(0, 3000, 30)
    truth, _ = exact_topk(clusters[queries], clusters, 10, exclude=queries)
    codes = encode(trained, clusters, show_progress_bar=False)
    found, _ = exact_topk(codes[queries], codes, 10, exclude=queries)
    random_ids = np.random.default_rng(0).integers(0, 3000, size=found.shape)
    # 8 of 256 latents for 32-d noisy blobs: far above chance (about 0.003), well below exact.
    assert recall_at(truth, found, 10) > 0.2 > 0.02 > recall_at(truth, random_ids, 10)


def test_same_seed_same_weights(clusters):
    a, _ = build_and_fit(clusters[:600], SAEConfig(d=32, h=64, k=4), SMALL, show_progress_bar=False)
    b, _ = build_and_fit(clusters[:600], SAEConfig(d=32, h=64, k=4), SMALL, show_progress_bar=False)
    assert all(np.array_equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_resume_matches_uninterrupted_run(clusters, tmp_path, monkeypatch):
    sae = SAEConfig(d=32, h=64, k=4)
    full, _ = build_and_fit(clusters[:600], sae, SMALL, show_progress_bar=False)
    real_save = torch.save

    def save_then_crash(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt  # the process dies right after the first epoch's checkpoint

    monkeypatch.setattr(torch, "save", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        build_and_fit(clusters[:600], sae, SMALL, checkpoint_dir=tmp_path, show_progress_bar=False)
    monkeypatch.setattr(torch, "save", real_save)
    resumed, result = build_and_fit(clusters[:600], sae, SMALL, checkpoint_dir=tmp_path, show_progress_bar=False)
    assert result.epochs_run == 1
    for x, y in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        np.testing.assert_allclose(x, y, atol=1e-5)


def test_result_reports_dead_fraction(clusters):
    _, result = build_and_fit(clusters[:600], SAEConfig(d=32, h=64, k=4), SMALL, show_progress_bar=False)
    assert 0.0 <= result.dead_fraction <= 1.0 and result.reconstruction_loss > 0


@pytest.mark.parametrize(
    "x, message",
    [
        (np.full((10, 32), np.nan, dtype=np.float32), "NaN"),
        (np.ones((10, 16), dtype=np.float32), "dimension 16"),
        (np.ones((0, 32), dtype=np.float32), "empty"),
        (np.ones((1, 32), dtype=np.float32), "at least 2 rows"),
    ],
)
def test_bad_training_data(untrained, x, message):
    before = {k: v.clone() for k, v in untrained.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        fit(untrained, x, SMALL, show_progress_bar=False)
    assert all(np.array_equal(before[k], v) for k, v in untrained.state_dict().items())


def test_mined_batches_hold_each_anchors_true_neighbours(clusters):
    rows = np.arange(100, 700)
    picked = _mined_neighbours(clusters, rows, 3, seed=0)
    truth, _ = exact_topk(clusters[rows], clusters[rows], 10, exclude=np.arange(rows.size))
    assert picked.shape == (600, 3)
    assert all(set(p) <= set(t) and len(set(p)) == 3 for p, t in zip(picked, truth, strict=True))
    batch = _batch_positions(np.arange(600), 1, 128, picked)
    anchors = np.arange(32, 64)  # 128 // (1 + 3) anchors per batch
    assert set(anchors) | set(picked[anchors].ravel()) == set(batch)


def test_first_stage_term_trains_and_reports_only_terms_that_are_on(clusters, caplog):
    sae = SAEConfig(d=32, h=64, k=4)
    schedule = TrainConfig(
        epochs=2, batch_size=128, seed=3, first_stage_weight=1.0, first_stage_query_k=16, mined_neighbours=3
    )
    with caplog.at_level(logging.INFO, logger="saevdb.sae_core.train"):
        model, result = build_and_fit(clusters[:600], sae, schedule, show_progress_bar=False)
    assert result.first_stage_loss > 0 and result.distill_loss == 0
    epochs = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch")]
    assert len(epochs) == 2 and all("first_stage" in m and "distill" not in m for m in epochs)
    plain, _ = build_and_fit(clusters[:600], sae, SMALL, show_progress_bar=False)
    assert not torch.equal(model.decoder, plain.decoder)


def test_the_same_command_twice_gives_the_same_fingerprint(clusters):
    runs = [build_and_fit(clusters[:600], SAEConfig(d=32, h=64, k=4), SMALL, show_progress_bar=False)[0] for _ in "ab"]
    assert fingerprint(runs[0]) == fingerprint(runs[1])


def test_training_pins_its_thread_count_and_deterministic_kernels_then_restores_them(clusters):
    """A CPU matrix product's sums depend on the thread count, so training runs on a fixed one."""
    before = torch.get_num_threads()
    seen = []

    class Watch(SparseAutoencoder):
        def preprocess(self, x):
            seen.append((torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()))
            return super().preprocess(x)

    pinned = TrainConfig(epochs=1, batch_size=128, threads=1, decoder_rounds=0)
    model = Watch(SAEConfig(d=32, h=64, k=4))
    fit(model, clusters[:600], pinned, show_progress_bar=False)
    assert set(seen) == {(1, True)}
    shape = SAEConfig(d=32, h=64, k=4)
    runs = [build_and_fit(clusters[:600], shape, pinned, show_progress_bar=False)[0] for _ in "ab"]
    assert torch.get_num_threads() == before and not torch.are_deterministic_algorithms_enabled()
    assert fingerprint(runs[0]) == fingerprint(runs[1])
