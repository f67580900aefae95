"""Names and defaults shared by the OpenSearch adapters."""

VECTOR_FIELD = "sae"  # the rank_features (or sparse_vector) field holding the codes
CODE_FIELD = "sae_code"  # the compact copy of a code kept in _source (source="compact")
DENSE_FIELD = "dense"  # the knn_vector field of the baseline
PRECISIONS = ("float32",)  # rank_features keeps one precision (~9 significant bits of a float32)
# opensearch-py waits 10 s by default; a large bulk on a busy node, or merging HNSW graphs, takes longer.
BULK_TIMEOUT_S = 120
MERGE_TIMEOUT_S = 3600
CLIENT_POOL = 16  # HTTP connections per client we create: concurrent searches share one adapter
SOURCE_MODES = ("compact", "none", "full")
# method → (field type, query type). neural_sparse and SEISMIC need the neural-search plugin.
METHODS = {
    "rank_feature": ("rank_features", "rank_feature"),
    "neural_sparse": ("rank_features", "neural_sparse"),
    "seismic": ("sparse_vector", "neural_sparse"),
}
