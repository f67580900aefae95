"""saevdb core: a TopK sparse autoencoder that turns dense embeddings into k-sparse codes a vector
database's native sparse index can store and score by inner product."""

from sae_core.config import SAEConfig
from sae_core.data import load_embeddings, movielens_item_embeddings, synthetic_clusters
from sae_core.encode import encode
from sae_core.evaluate import EvalConfig, evaluate
from sae_core.metrics import ndcg_at, recall_at
from sae_core.model import SparseAutoencoder
from sae_core.model_files import fingerprint, load_model, save_model
from sae_core.search import exact_topk
from sae_core.train import TrainConfig, build_and_fit, fit

__all__ = [
    "EvalConfig",
    "SAEConfig",
    "SparseAutoencoder",
    "TrainConfig",
    "build_and_fit",
    "encode",
    "evaluate",
    "exact_topk",
    "fingerprint",
    "fit",
    "load_embeddings",
    "load_model",
    "movielens_item_embeddings",
    "ndcg_at",
    "recall_at",
    "save_model",
    "synthetic_clusters",
]
