"""Names and defaults shared by the Qdrant adapters (qdrant-client and Qdrant Edge)."""

from importlib.metadata import PackageNotFoundError, version

VECTOR_NAME = "sae"  # the named sparse vector holding the codes
DENSE_NAME = "dense"  # the named dense vector of the baseline
MODEL_FILE = "saevdb_model.json"  # Edge shards have no metadata: the model's identity beside the shard
PRECISIONS = ("float32", "float16", "uint8")  # sparse value storage; uint8 takes whole numbers 0..255


try:
    ENGINE_VERSION = f"qdrant-edge {version('qdrant-edge-py')}"  # the local engine, as reports name it
except PackageNotFoundError:
    ENGINE_VERSION = "qdrant-edge (not installed)"
