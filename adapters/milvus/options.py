"""Milvus' own ways of storing the dense vectors, as `saevdb compare` sweeps them
(`MilvusDenseAdapter(d, client, name, index_type=..., index_params=...)`, searched with the knobs of
`constants.DENSE_SEARCH_PARAMS`).

Milvus Lite 2.5, the local engine, builds only FLAT, IVF_FLAT and AUTOINDEX: every other index is a
Milvus server's, and its option says so (`server_only`) instead of being run as something else.
On Lite, IVF_FLAT and AUTOINDEX are segcore's interim IVF index over full chunks of the one growing
segment, with segcore's own `nlist` and `nprobe`: the `nprobe` rows below differ only on a server.

Graph settings are those every engine's HNSW option uses (M=16, efConstruction=100, ef=128).
IVF lists: `nlist` ≈ 4√n is usual (1024 at n ≈ 65k); one fixed `nlist` keeps the grid static, `nprobe` is swept.
Quantized indexes with a refine step keep a second copy of each vector at `refine_type` precision
(FP32 here: the originals) and re-score `refine_k × top_k` candidates with it; `refine_k` 1 re-scores
only the `top_k` the quantized search found, so that row ranks the same set as no refine.
"""

from __future__ import annotations

from saevdb.adapters.options import DenseOption, SearchSetting, rescore_sweep

LITE_ONLY_SERVES = "Milvus Lite 2.5 serves only FLAT, IVF_FLAT and AUTOINDEX: needs a Milvus 2.5 server"
NEEDS_2_6 = "IVF_RABITQ is Milvus 2.6+ (Milvus Lite 2.5 serves only FLAT, IVF_FLAT and AUTOINDEX)"

HNSW_BUILD = {"M": 16, "efConstruction": 100}
HNSW_SEARCH = {"ef": 128}
NLIST = 1024
NPROBES = (8, 16, 32, 64)
REFINE = {"refine": True, "refine_type": "FP32"}
REFINE_KS = (2.0, 4.0, 8.0)  # refine_k: candidates re-scored per requested result


def nprobe_sweep(base: dict | None = None) -> tuple[SearchSetting, ...]:
    """One search setting per `nprobe` (inverted lists scanned of `NLIST`)."""
    return tuple(SearchSetting(f"nprobe {n}", {**(base or {}), "nprobe": n}) for n in NPROBES)


COMPARE_OPTIONS: tuple[DenseOption, ...] = (
    DenseOption("float32 FLAT", {"index_type": "FLAT"}, originals_searched=True),
    DenseOption("AUTOINDEX", {"index_type": "AUTOINDEX"}, originals_searched=True),
    DenseOption(
        f"IVF_FLAT nlist {NLIST}",
        {"index_type": "IVF_FLAT", "index_params": {"nlist": NLIST}},
        nprobe_sweep(),
        originals_searched=True,
    ),
    DenseOption(
        "float32 HNSW",
        {"index_type": "HNSW", "index_params": HNSW_BUILD},
        (SearchSetting("ef 128", HNSW_SEARCH),),
        originals_searched=True,
        server_only=LITE_ONLY_SERVES,
    ),
    DenseOption(
        "HNSW_SQ 8-bit",
        {"index_type": "HNSW_SQ", "index_params": {**HNSW_BUILD, "sq_type": "SQ8", **REFINE}},
        rescore_sweep(REFINE_KS, "refine_k", None, HNSW_SEARCH),
        server_only=LITE_ONLY_SERVES,
    ),
    DenseOption(
        "HNSW_PQ 32×8-bit",  # 32 sub-vectors of 8 bits: 32 bytes a vector; d must be a multiple of 32
        {"index_type": "HNSW_PQ", "index_params": {**HNSW_BUILD, "m": 32, "nbits": 8, **REFINE}},
        rescore_sweep(REFINE_KS, "refine_k", None, HNSW_SEARCH),
        server_only=LITE_ONLY_SERVES,
    ),
    DenseOption(
        f"IVF_SQ8 nlist {NLIST}",
        {"index_type": "IVF_SQ8", "index_params": {"nlist": NLIST}},
        nprobe_sweep(),
        server_only=LITE_ONLY_SERVES,
    ),
    DenseOption(
        f"IVF_PQ 32×8-bit nlist {NLIST}",
        {"index_type": "IVF_PQ", "index_params": {"nlist": NLIST, "m": 32, "nbits": 8}},
        nprobe_sweep(),
        server_only=LITE_ONLY_SERVES,
    ),
    DenseOption(
        f"IVF_RABITQ 1-bit nlist {NLIST}",
        {"index_type": "IVF_RABITQ", "index_params": {"nlist": NLIST, **REFINE}},
        rescore_sweep(REFINE_KS, "refine_k", None, {"nprobe": 64}),
        server_only=NEEDS_2_6,
    ),
)
