"""Names and defaults shared by the OpenSearch adapters."""

from saevdb.adapters.opensearch.distribution import VERSION, VERSION_3

ENGINE_VERSION = f"opensearch {VERSION} (k-NN {VERSION}.0, Lucene engine)"  # the local node, as reports name it
ENGINE_VERSION_3 = f"opensearch {VERSION_3} (k-NN {VERSION_3}.0, Lucene engine)"  # the registry's "opensearch3"

VECTOR_FIELD = "sae"  # the rank_features (or sparse_vector) field holding the codes
CODE_FIELD = "sae_code"  # the compact copy of a code kept in _source (source="compact")
DENSE_FIELD = "dense"  # the knn_vector field of the baseline
ORIGINALS_FIELD = "sae_original"  # the dense originals beside the codes (originals=True): doc values only
# Built-in dense quantizations of the Lucene engine (the only one the Maven k-NN zip can run):
# "sq" = the Lucene scalar quantizer (encoder sq, 7-bit), "byte" = data_type byte vectors; from 3.x
# also "on_disk" = mode on_disk (on Lucene: 4x, the same 7-bit quantizer, rescored by default) and
# "binary" = data_type binary vectors (one sign bit per dimension, Hamming distance).
QUANTIZATIONS = ("sq", "byte")
QUANTIZATIONS_3 = (*QUANTIZATIONS, "on_disk", "binary")
# The knn query's knobs: `ef_search` (method_parameters), `oversample_factor` (rescore the top
# oversample_factor × k from the full-precision vectors; 3.x) and `rescore` (False: no rescoring,
# where a mode rescores by default).
DENSE_SEARCH_PARAMS = ("ef_search", "oversample_factor", "rescore")
PRECISIONS = ("float32",)  # rank_features keeps one precision (~9 significant bits of a float32)
# opensearch-py waits 10 s by default; a large bulk on a busy node, or merging HNSW graphs, takes longer.
BULK_TIMEOUT_S = 120
MERGE_TIMEOUT_S = 3600
# opensearch-py waits 10 s by default; a refresh after a bulk load or a batch of searches against a
# cold, memory-mapped 100k-document index on 2 cores can take longer.
CLIENT_TIMEOUT_S = 120
# A node refuses a request body above `http.max_content_length` (100 MB by default) with 413. A
# full-width query at h=16384 is ~8,000 rank_feature clauses (~0.6 MB of JSON), so 256 of them in one
# msearch were refused: searches go out in msearch bodies of at most this many bytes.
MSEARCH_BYTES = 16 * 2**20
PROBE_TIMEOUT_S = 5  # each node named in a URL must answer a ping within this before anything is written
CLIENT_POOL = 16  # HTTP connections per client we create: concurrent searches share one adapter
SOURCE_MODES = ("compact", "none", "full")
# method → (field type, query type). neural_sparse and SEISMIC need the neural-search plugin.
METHODS = {
    "rank_feature": ("rank_features", "rank_feature"),
    "neural_sparse": ("rank_features", "neural_sparse"),
    "seismic": ("sparse_vector", "neural_sparse"),
}
