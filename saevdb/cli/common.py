"""What the commands share: how data sources are recorded, the held-out split, and the output options."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from saevdb.sae_core.config import SAEConfig
from saevdb.sae_core.data import BUILTIN, wordnet_path
from saevdb.sae_core.model_files import load_training_record
from saevdb.sae_core.train import TrainConfig

DATA_HELP = f"a .npy file [n, d], or a built-in set: {', '.join(BUILTIN)}"
SUPPORT_HELP = (
    "how codes choose their k latents: topk (the encoder, one matmul: fast) or pursuit (matching pursuit"
    " with the decoder: closer codes at the same bytes, several matmuls per code; for ingest that can wait)"
)
PURSUIT_STEPS_HELP = (
    f"decoder products per pursuit code (default {SAEConfig.pursuit_steps}), each adding ceil(k/steps) latents:"
    " encoding time grows with it; raise it where each step would add many latents (large k)"
)


def add_memory_option(parser: argparse.ArgumentParser) -> None:
    """`--max-memory MB`: what the decoder refit's h × h system may take when training (`TrainConfig.max_memory`)."""
    parser.add_argument(
        "--max-memory",
        type=int,
        default=TrainConfig.max_memory,
        metavar="MB",
        help="memory the decoder refit's h x h system may take when training: float64 where it fits, else"
        " float32 factored in place; a model wider than it allows is refused before training",
    )


def data_id(source: str) -> str:
    """How a data source is recorded, so eval can tell whether it is the training data. The built-in
    WordNet set is a file: its name and its path are the same data."""
    if source == "wordnet":
        try:
            return str(wordnet_path().resolve())
        except FileNotFoundError:
            return source
    return source if source in BUILTIN else str(Path(source).resolve())


def split(n: int, holdout: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(held-out rows, training rows), both sorted; the held-out ones are eval's queries."""
    if not 0 <= holdout < n - 1:
        raise ValueError(f"--holdout {holdout} must leave at least 2 of the {n} rows for training")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[:holdout]), np.sort(perm[holdout:])


def sample(rows: np.ndarray, count: int, seed: int) -> np.ndarray:
    """The seeded sample of `count` rows that `train --train-rows` trains on (all when count covers them)."""
    return rows if count >= rows.size else np.sort(np.random.default_rng(seed).choice(rows, count, replace=False))


def same_data(record: dict | None, data: str, n: int) -> bool:
    """Whether a model's training record says it was trained on this data."""
    return bool(record) and "data" in record and data_id(record["data"]) == data_id(data) and record["rows"] == n


def query_rows(model_dir: Path, data: str, n: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(query rows, database rows, where they come from): the model's held-out rows when it was
    trained on this data, else a seeded sample of rows."""
    record = load_training_record(model_dir)
    if same_data(record, data, n):
        held = np.asarray(record["held_out_rows"], dtype=np.int64)
        if queries > held.size:
            raise ValueError(
                f"--queries {queries}: the model held out only {held.size} rows of this data;"
                " retrain with a larger --holdout"
            )
        return held[:queries], np.setdiff1d(np.arange(n), held), "rows held out from the model's training"
    if queries >= n:
        raise ValueError(f"--queries {queries} must be below the {n} rows of the data")
    perm = np.random.default_rng(seed).permutation(n)
    return (
        np.sort(perm[:queries]),
        np.sort(perm[queries:]),
        "sampled rows (the model was not trained on this data, or has no training record)",
    )


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", type=Path, help="write the result as JSON to this path")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
