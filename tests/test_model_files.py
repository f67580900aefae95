import json

import pytest
import torch

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.encode import encode
from saevdb.sae_core.model import SparseAutoencoder
from saevdb.sae_core.model_files import CONFIG_FILE, fingerprint, load_model, save_model


def test_round_trip_gives_identical_codes_and_fingerprint(trained, clusters, tmp_path):
    fp = save_model(trained, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert fingerprint(loaded) == fp == (tmp_path / "m" / "fingerprint.txt").read_text().strip()
    a = encode(trained, clusters[:100], show_progress_bar=False)
    b = encode(loaded, clusters[:100], show_progress_bar=False)
    assert (a != b).nnz == 0


def test_fingerprint_changes_with_weights(untrained):
    before = fingerprint(untrained)
    with torch.no_grad():
        untrained.pre_bias[0] += 1e-3
    assert fingerprint(untrained) != before


def test_altered_weights_are_refused(untrained, tmp_path):
    save_model(untrained, tmp_path / "m")
    other = SparseAutoencoder(untrained.config)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, tmp_path / "m" / "model.safetensors")
    with pytest.raises(ValueError, match="fingerprint does not match"):
        load_model(tmp_path / "m")


def test_other_version_is_refused(untrained, tmp_path):
    save_model(untrained, tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    cfg["version"] = 99
    (tmp_path / "m" / CONFIG_FILE).write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="version 99"):
        load_model(tmp_path / "m")


def test_other_shape_is_refused(untrained, tmp_path):
    save_model(untrained, tmp_path / "m")
    (tmp_path / "m" / CONFIG_FILE).write_text(SAEConfig(d=32, h=128, k=8).to_json())
    with pytest.raises(ValueError, match="do not match config"):
        load_model(tmp_path / "m")


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a saevdb model folder"):
        load_model(tmp_path)
