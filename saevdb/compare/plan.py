"""What one comparison builds per engine: saevdb's codes in each search mode, and every built-in way
the engine offers to store the dense vectors (its `options.py`), each as one build swept through
its search settings.

saevdb's modes, on two builds:
    codes            the codes alone in the engine's sparse index: `engine order` (the engine's top
                     10) and `client re-rank R` (its top R re-ordered client-side by `q̄ · x̂/|x̂|`)
    codes+originals  the same codes, plus the original vectors on disk with no graph, in the
                     collection and, a build of its own, where the engine's registry entry also
                     offers (`originals_store`; Qdrant Edge: a flat float32 file beside the shard):
                     `two-stage D` (the codes' top D re-scored by exact cosine in the process that
                     holds the collection)
Each mode runs once per query width k_q (the non-zeros of the query's weights; a setting of the search,
not of the build), labelled ", k_q W" when more than one width is swept: an engine's cost per query
grows with the posting lists it reads, in some engines faster than linearly (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from saevdb.adapters.registry import dense_options

Search = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Setting:
    """One row of the report: a search setting on one build.

    `searcher(adapter, top_k)` returns the function that answers `[q, d]` dense queries."""

    label: str
    searcher: Callable[[Any, int], Search]
    rescore: bool = False
    originals_read: Callable[[int], int] = lambda top_k: 0


@dataclass(frozen=True)
class Build:
    """One collection built in a fresh engine: `kind` "sparse" (the codes of `model`, its adapter) or
    "dense" (`engine.dense_adapter(d, name, **options)`)."""

    method: str
    family: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    settings: tuple[Setting, ...] = ()
    originals_searched: bool = False
    server_only: str | None = None
    model: Any = None
    value_scale: float | None = None


def saevdb_builds(
    model,
    query_ks: tuple[int | None, ...],
    rerank: int,
    depths: tuple[int, ...],
    datatype: str = "float32",
    value_scale: float | None = None,
    originals_store: tuple[str, dict[str, Any]] = ("", {}),
) -> list[Build]:
    """The codes-only build (engine order, client re-rank) and the two-stage builds (one setting per
    depth) of one model, each mode at every query width of `query_ks` (None: all h weights), named by
    its shape ("saevdb codes h=4096 k=32"), with the codes' values stored as `datatype` in the
    engine's sparse index (named when not float32; uint8 needs the `value_scale` of
    `SparseCollection`). The two-stage build keeps the originals in the collection and, where the
    engine names another place (`originals_store`), once more there, its label in the name
    ("... + originals on disk (flat file, float32)"): which is cheaper depends on n."""
    from saevdb.collection import SparseCollection

    def searcher(query_k: int | None, **mode) -> Callable[[Any, int], Search]:
        def make(adapter, top_k: int) -> Search:
            collection = SparseCollection(adapter, model, query_k=query_k, value_scale=value_scale, **mode)
            return lambda q: collection.search(q, top_k)

        return make

    def width(query_k: int | None) -> str:
        return "" if len(query_ks) == 1 else f", k_q {query_k or 'full'}"

    codes = tuple(Setting(f"engine order{width(q)}", searcher(q, rerank=0)) for q in query_ks)
    if rerank:
        codes += tuple(Setting(f"client re-rank {rerank}{width(q)}", searcher(q, rerank=rerank)) for q in query_ks)
    name = f"saevdb codes h={model.config.h} k={model.config.k}"
    options: dict[str, Any] = {}
    if datatype != "float32":
        name, options = f"{name} {datatype}", {"datatype": datatype}
    builds = [Build(name, "saevdb", "sparse", options, codes, model=model, value_scale=value_scale)]
    if depths:
        label, store = originals_store
        stages = tuple(
            Setting(
                f"two-stage {depth}{width(q)}", searcher(q, rescore=depth), True, lambda top_k, d=depth: max(d, top_k)
            )
            for depth in depths
            for q in query_ks
        )
        places = [("", {})] + ([(f" ({label})", store)] if label else [])
        builds += [
            Build(
                f"{name} + originals on disk{suffix}",
                "saevdb",
                "sparse",
                {**options, "originals": True, **extra},
                stages,
                model=model,
                value_scale=value_scale,
            )
            for suffix, extra in places
        ]
    return builds


def built_in_builds(backend: str, methods: tuple[str, ...] | None) -> list[Build]:
    """The engine's dense options (all, or those whose method is in `methods`), as builds."""

    def searcher(params: dict[str, Any]) -> Callable[[Any, int], Search]:
        return lambda adapter, top_k: lambda q: adapter.search(q, top_k, **params)

    builds = []
    for option in dense_options(backend):
        if methods is not None and option.method not in methods:
            continue
        settings = tuple(
            Setting(s.label, searcher(s.params), s.rescore, lambda top_k, s=s: s.originals_read(top_k))
            for s in option.searches
        )
        builds.append(
            Build(
                option.method,
                "built-in",
                "dense",
                option.build,
                settings,
                option.originals_searched,
                option.server_only,
            )
        )
    return builds
