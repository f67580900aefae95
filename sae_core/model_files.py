"""Model folders: `model.safetensors` + `config.json` + a fingerprint tying codes to the model.

Codes are only comparable when written and queried with the same weights, so adapters store the
fingerprint in collection metadata and refuse a different one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.model import SparseAutoencoder

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FINGERPRINT_FILE = "fingerprint.txt"
TRAINING_FILE = "training.json"


def fingerprint(model: SparseAutoencoder) -> str:
    """sha256 over the config JSON and every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256(model.config.to_json().encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def save_model(model: SparseAutoencoder, directory: str | Path, training: dict | None = None) -> str:
    """Write the model folder and return its fingerprint. `training` (optional) records how it was
    trained (config, data file, held-out rows) for `saevdb eval` to read back."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    save_file(tensors, out / WEIGHTS_FILE, metadata={"format_version": str(model.config.version)})
    (out / CONFIG_FILE).write_text(model.config.to_json())
    fp = fingerprint(model)
    (out / FINGERPRINT_FILE).write_text(fp + "\n")
    if training is not None:
        (out / TRAINING_FILE).write_text(json.dumps(training, indent=2, sort_keys=True))
    return fp


def load_model(directory: str | Path, device: str = "cpu") -> SparseAutoencoder:
    """Read a model folder; a version, shape or fingerprint mismatch raises `ValueError`."""
    src = Path(directory)
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        if not (src / name).is_file():
            raise ValueError(f"{src} is not a saevdb model folder: {name} is missing")
    config = SAEConfig.from_json((src / CONFIG_FILE).read_text(), source=src / CONFIG_FILE)
    model = SparseAutoencoder(config)
    tensors = load_file(src / WEIGHTS_FILE)
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in tensors.items()}
    if expected != found:
        raise ValueError(f"{src / WEIGHTS_FILE}: tensors {found} do not match config {config} ({expected})")
    model.load_state_dict(tensors)
    fp_file = src / FINGERPRINT_FILE
    if fp_file.is_file() and fp_file.read_text().strip() != fingerprint(model):
        raise ValueError(f"{src}: fingerprint does not match the weights and config (file was altered)")
    return model.to(device).eval()


def load_training_record(directory: str | Path) -> dict | None:
    """The `training.json` written by `save_model`, or None."""
    path = Path(directory) / TRAINING_FILE
    return json.loads(path.read_text()) if path.is_file() else None
