"""The engine registry: one entry per engine folder, declaring what it can do.

Tests, CLI choices, the integration launchers and the benchmarks read these entries instead of
listing engines by hand, so adding an engine is one folder under `adapters/` and one entry here.
Classes are named as "module:attribute" and imported on first use, so reading the registry needs
no engine client installed (each engine is an extra: `pip install saevdb[qdrant]`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import import_module, resources
from pathlib import Path
from typing import Any

from saevdb.adapters.costs import CostModel


@dataclass(frozen=True)
class EngineSpec:
    """One engine and its capabilities.

    Attributes:
        adapter: the sparse adapter for a server URL (`cls.from_url(model, url, collection)`).
        local: the `LocalEngine` this library starts when no URL is given.
        container: a context manager `(image) -> (adapter class, connected client)` over the
            engine's container (testcontainers), for users with a Docker engine.
        image: the container image pinned for that path (and in docker/compose.yml).
        extra: the pip extra that installs the engine's client.
        client_modules: modules the local engine needs importable.
        programs: programs the local engine needs on the PATH.
        signed: stores negative sparse weights (otherwise codes and queries must be non-negative).
        precisions: how the sparse index can store values (`datatype=` of every sparse adapter).
        score_rtol: relative error of a sparse inner product read back from float32 storage.
        alias_switch: what an adapter already open on an alias sees when the alias moves, in the
            local engine: "live" (the next call checks the new model), "reopen" (it keeps the
            collection it opened until reopened) or None (the local engine has no aliases).
        storage_variants: other sparse adapter options that change what is stored, worth measuring
            beside the precisions (benchmarks/engine_precision.py sweeps both).
        originals_store: a second place `saevdb compare` keeps the originals for a two-stage
            search, a build of its own beside the one holding them in the collection: (label,
            sparse adapter options), the label appended to that build's name; ("", {}): none.
        size_settle_s: seconds after a bulk load before the engine's store size is final (0: at once).
        quantizations: built-in dense quantizations the dense adapter takes (`quantization=`).
        options: "module:attribute" of the `DenseOption` grid `saevdb compare` sweeps (`options.py`).
        version: "module:attribute" of the local engine's name and version, as reports print it.
        pruning: sparse search knobs the sparse adapter takes, trading exactness (or hit counts) for speed.
        costs: "package:file" of the engine's cost model (`adapters/costs.py`), measured on its
            `version`; "" where no capped serving has measured one.
        line_of: the engine this entry is another release line of ("opensearch" for "opensearch3"):
            same folder and adapters, its own node and options. Named on request only, so a default
            run measures each engine once (`DEFAULT_ENGINES`); its own tests cover it.
    """

    adapter: str
    local: str
    container: str
    image: str
    extra: str
    client_modules: tuple[str, ...]
    programs: tuple[str, ...] = ()
    signed: bool = False
    precisions: tuple[str, ...] = ("float32",)
    score_rtol: float = 1e-5
    alias_switch: str | None = "live"
    storage_variants: tuple[dict[str, Any], ...] = ()
    originals_store: tuple[str, dict[str, Any]] = ("", {})
    size_settle_s: float = 0.0
    quantizations: tuple[str, ...] = ()
    pruning: tuple[str, ...] = ()
    options: str = ""
    version: str = ""
    costs: str = ""
    line_of: str = ""


ENGINES: dict[str, EngineSpec] = {
    "qdrant": EngineSpec(
        adapter="saevdb.adapters.qdrant.client:QdrantAdapter",
        local="saevdb.adapters.qdrant.engine:QdrantEdgeProcess",
        container="saevdb.adapters.qdrant.container:qdrant_container",
        image="qdrant/qdrant:v1.15.4",
        extra="qdrant",
        client_modules=("qdrant_client", "qdrant_edge"),
        signed=True,
        precisions=("float32", "float16", "uint8"),
        alias_switch="reopen",
        storage_variants=({"on_disk": True},),  # the sparse index memory-mapped instead of in RAM
        # A flat file beside the shard: in every capped run a smaller OOM edge than the originals inside
        # the shard (benchmarks/RESULTS.md, "Serving under a memory cap"). float32, for an exact
        # re-score: float16 served at the same edge, but swaps near-ties (MovieLens' two-stage recall).
        originals_store=("flat file, float32", {"originals_file": "float32"}),
        quantizations=(
            "scalar-int8",
            "binary-1bit",
            "binary-1bit-query8",
            "binary-1.5bit",
            "binary-2bit",
            "binary-2bit-query8",
            "turboquant-2bit",
            "turboquant-4bit",
            "pq-x16",
            "pq-x32",
        ),
        options="saevdb.adapters.qdrant.options:COMPARE_OPTIONS",
        version="saevdb.adapters.qdrant.constants:ENGINE_VERSION",
        costs="saevdb.adapters.qdrant:costs.json",
    ),
    "milvus": EngineSpec(
        adapter="saevdb.adapters.milvus.sparse:MilvusAdapter",
        local="saevdb.adapters.milvus.engine:MilvusLiteServer",
        container="saevdb.adapters.milvus.container:milvus_container",
        image="milvusdb/milvus:v2.5.17",
        extra="milvus",
        client_modules=("pymilvus", "milvus_lite"),
        alias_switch=None,
        pruning=("inverted_index_algo", "drop_ratio_search"),
        # The dense adapter's `index_type`s (constants.DENSE_SEARCH_PARAMS); Milvus Lite builds FLAT,
        # IVF_FLAT and AUTOINDEX only, the rest need a Milvus server (IVF_RABITQ: 2.6+).
        quantizations=(
            "FLAT",
            "AUTOINDEX",
            "IVF_FLAT",
            "IVF_SQ8",
            "IVF_PQ",
            "HNSW",
            "HNSW_SQ",
            "HNSW_PQ",
            "IVF_RABITQ",
        ),
        options="saevdb.adapters.milvus.options:COMPARE_OPTIONS",
        version="saevdb.adapters.milvus.constants:ENGINE_VERSION",
    ),
    "opensearch": EngineSpec(
        adapter="saevdb.adapters.opensearch.sparse:OpenSearchAdapter",
        local="saevdb.adapters.opensearch.engine:OpenSearchNode",
        container="saevdb.adapters.opensearch.container:opensearch_container",
        image="opensearchproject/opensearch:2.19.3",
        extra="opensearch",
        client_modules=("opensearchpy",),
        programs=("java", "mvn"),
        score_rtol=2**-8,  # rank_features keeps ~9 significant bits
        storage_variants=({"source": "none"}, {"source": "full"}),  # what _source keeps of a code
        # Lucene engine only (the Maven k-NN zip has no native faiss): scalar quantizer, int8 vectors.
        quantizations=("sq", "byte"),
        options="saevdb.adapters.opensearch.options:COMPARE_OPTIONS",
        version="saevdb.adapters.opensearch.constants:ENGINE_VERSION",
        # Each document stays whole as _recovery_source until the shard's retention lease (synced every
        # 30 s) passes it and a merge prunes it: sizes read sooner are the same whatever _source keeps.
        size_settle_s=65.0,
        pruning=("track_total_hits",),
    ),
}
# The 3.x line of OpenSearch: the same adapters and folder, its own node, image, options and version.
ENGINES["opensearch3"] = replace(
    ENGINES["opensearch"],
    local="saevdb.adapters.opensearch.engine:OpenSearch3Node",  # needs a Java 21+ JDK (`distribution.java_home`)
    image="opensearchproject/opensearch:3.5.0",
    quantizations=("sq", "byte", "on_disk", "binary"),
    options="saevdb.adapters.opensearch.options:COMPARE_OPTIONS_3",
    version="saevdb.adapters.opensearch.constants:ENGINE_VERSION_3",
    line_of="opensearch",
)
DEFAULT_ENGINES = tuple(name for name, spec in ENGINES.items() if not spec.line_of)


def engine_spec(name: str) -> EngineSpec:
    """The registry entry of engine `name`, or one error listing the known ones."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; known: {sorted(ENGINES)}")
    return ENGINES[name]


def load(name: str, role: str) -> Any:
    """The class (or function) engine `name` registers for `role` ("adapter", "local", "container");
    a missing client names the extra to install."""
    spec = engine_spec(name)
    module, attribute = getattr(spec, role).split(":")
    try:
        return getattr(import_module(module), attribute)
    except ImportError as e:
        raise ImportError(f"engine {name!r} needs its client: pip install 'saevdb[{spec.extra}]'") from e


def engine_folder(name: str) -> str:
    """The folder under `adapters/` holding engine `name` (its own, or that of the engine it is a line of)."""
    return engine_spec(name).line_of or name


def dense_options(name: str) -> tuple:
    """The `DenseOption`s engine `name` offers `saevdb compare` (its `options.py`)."""
    return load(name, "options")


def engine_version(name: str) -> str:
    """The local engine's name and version ("qdrant-edge 0.9.0"), or "name (version unknown)"."""
    return load(name, "version") if engine_spec(name).version else f"{name} (version unknown)"


def cost_model(name: str) -> CostModel:
    """The cost model of engine `name` (RAM to provision per option); one error where it has none."""
    spec = engine_spec(name)
    if not spec.costs:
        raise ValueError(
            f"engine {name!r} has no cost model: no capped serving has measured what its options need"
            f" (engines with one: {sorted(e for e, s in ENGINES.items() if s.costs)})"
        )
    package, file = spec.costs.split(":")
    with resources.as_file(resources.files(package) / file) as path:
        return CostModel.from_json(path)


def adapter_class(name: str) -> type:
    """The sparse adapter class of engine `name` (for a server URL: `.from_url(model, url, collection)`)."""
    return load(name, "adapter")


def local_engine(name: str, path: str | Path) -> Any:
    """The embedded engine of `name` on data folder `path`, not started yet: use it as a context manager."""
    return load(name, "local")(Path(path))
