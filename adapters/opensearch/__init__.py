"""OpenSearch: codes in a `rank_features` field scored by `rank_feature` queries. `OpenSearchAdapter`,
`OpenSearchDenseAdapter` (k-NN plugin, Lucene HNSW), `OpenSearchIngestHook` (opensearch-py: any
cluster) and `OpenSearchNode` (a node assembled from Maven Central: the local engine)."""

from saevdb.adapters.opensearch.dense import OpenSearchDenseAdapter
from saevdb.adapters.opensearch.engine import OpenSearchNode
from saevdb.adapters.opensearch.hook import OpenSearchIngestHook
from saevdb.adapters.opensearch.sparse import OpenSearchAdapter

__all__ = ["OpenSearchAdapter", "OpenSearchDenseAdapter", "OpenSearchIngestHook", "OpenSearchNode"]
