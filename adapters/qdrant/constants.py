"""Names and defaults shared by the Qdrant adapters (qdrant-client and Qdrant Edge)."""

from importlib.metadata import PackageNotFoundError, version

VECTOR_NAME = "sae"  # the named sparse vector holding the codes
DENSE_NAME = "dense"  # the named dense vector of the baseline
MODEL_FILE = "saevdb_model.json"  # Edge shards have no metadata: the model's identity beside the shard
ORIGINALS_FILE = "originals.bin"  # the flat originals file beside a shard (`originals_file=`)
PRECISIONS = ("float32", "float16", "uint8")  # sparse value storage; uint8 takes whole numbers 0..255
# Edge shards of codes: `optimize()` builds the immutable sparse index of every segment over 1 KB of
# vectors. Under Qdrant's default threshold (10 MB of vectors) a shard of few-entry codes and no
# originals stays an appendable segment: its raw sparse vectors are paged in and a mutable index is
# kept in RAM, several times what the indexed segment needs (benchmarks/RESULTS.md, "Few entries").
SPARSE_INDEXING_THRESHOLD_KB = 1


try:
    ENGINE_VERSION = f"qdrant-edge {version('qdrant-edge-py')}"  # the local engine, as reports name it
except PackageNotFoundError:
    ENGINE_VERSION = "qdrant-edge (not installed)"
