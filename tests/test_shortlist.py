"""The least-squares shortlist (`sae_core.shortlist`) and cosine-scaled stored values."""

import json

import numpy as np
import torch

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model_files import CONFIG_FILE, load_model, save_model
from saevdb.sae_core.train import TrainConfig, build_and_fit


def _cosines(model, x, reconstruct):
    x_hat = torch.from_numpy(reconstruct(model, x))
    return torch.nn.functional.cosine_similarity(x_hat, model.preprocess(torch.from_numpy(x))).numpy()


def test_shortlist_codes_have_k_entries_among_the_encoders_best(trained, clusters, variant):
    model = variant(trained, shortlist=3)
    codes = encode(model, clusters[:300], show_progress_bar=False)
    assert codes.shape == (300, 256) and (np.diff(codes.indptr) <= 8).all() and (codes.data > 0).all()
    with torch.no_grad():
        pre = model.encoder(model.preprocess(torch.from_numpy(clusters[:300])) - model.pre_bias)
    best = pre.topk(24, dim=1).indices.numpy()
    for row in range(300):
        assert set(codes[row].indices) <= set(best[row])


def test_a_shortlist_rebuilds_rows_at_least_as_closely_as_topk(trained, clusters, variant, reconstruct):
    topk = _cosines(variant(trained, shortlist=1), clusters[:1000], reconstruct)
    shortlist = _cosines(variant(trained, shortlist=2), clusters[:1000], reconstruct)
    assert shortlist.mean() >= topk.mean() - 1e-4


def test_shortlist_of_width_beyond_h_is_cut_to_h(trained, clusters, variant):
    model = variant(trained, shortlist=100)  # 800 > h = 256
    assert (np.diff(encode(model, clusters[:20], show_progress_bar=False).indptr) <= 8).all()


def test_cosine_values_are_the_reconstruction_codes_over_the_reconstruction_length(trained, clusters, reconstruct):
    stored = encode(trained, clusters[:100], show_progress_bar=False)
    raw = encode(trained, clusters[:100], show_progress_bar=False, reconstruction=True)
    length = np.linalg.norm(reconstruct(trained, clusters[:100]), axis=1)
    np.testing.assert_allclose(stored.toarray(), raw.toarray() / length[:, None], rtol=1e-5, atol=1e-7)


def test_training_with_a_seed_is_deterministic(clusters):
    def run():
        cfg = SAEConfig(d=32, h=128, k=4, shortlist=2)
        model, result = build_and_fit(
            clusters[:1500], cfg, TrainConfig(epochs=2, batch_size=256, seed=3), show_progress_bar=False
        )
        return encode(model, clusters[:200], show_progress_bar=False), result

    (a, ra), (b, rb) = run(), run()
    assert (a != b).nnz == 0 and ra.decoder_cosines == rb.decoder_cosines
    assert len(ra.decoder_cosines) == TrainConfig.decoder_rounds


def test_folders_saved_before_the_fields_existed_keep_their_codes(trained, clusters, tmp_path, variant):
    """A config without `shortlist` / `cosine_values` means plain TopK and raw values, not today's defaults."""
    old = variant(trained, shortlist=1, cosine_values=False)
    save_model(old, tmp_path / "m")
    raw = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    assert "shortlist" not in raw and "cosine_values" not in raw
    loaded = load_model(tmp_path / "m")
    assert loaded.config.shortlist == 1 and not loaded.config.cosine_values
    a = encode(old, clusters[:50], show_progress_bar=False)
    assert (a != encode(loaded, clusters[:50], show_progress_bar=False)).nnz == 0
