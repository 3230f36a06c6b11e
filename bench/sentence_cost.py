"""What sentence vectors cost the model on a corpus: the encoder on the chunk texts alone, then on the chunk
texts plus each group's distinct sentences (what the ingest pipeline embeds with PITCHCRAFT_SENTENCE_VECTORS on:
`pipeline.model_texts`), two alternating runs each.

    .venv/bin/python bench/sentence_cost.py ../shared/evalsets/supabase/corpus
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PITCHCRAFT_LOG_LEVEL", "WARNING")

from services.core.embeddings import get_embedder
from services.core.settings import Settings
from services.core.tokens import token_counter
from services.ingest.chunking import Chunk, Chunker
from services.ingest.pipeline import model_texts

_FRONT_MATTER = re.compile(r"^---\n(.*?)\n---\n(.*)$", re.S)


def chunks_of(corpus: Path) -> list[Chunk]:
    cfg = Settings().ingest
    chunker = Chunker(token_counter(), max_tokens=cfg.chunk_tokens, overlap_tokens=cfg.chunk_overlap_tokens)
    out: list[Chunk] = []
    for path in sorted(corpus.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        text = path.read_text(encoding="utf-8")
        match = _FRONT_MATTER.match(text)
        meta, body = (yaml.safe_load(match.group(1)) or {}, match.group(2)) if match else ({}, text)
        out += chunker.chunk(body, str(meta.get("title", path.stem)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path)
    args = parser.parse_args()
    chunks = chunks_of(args.corpus)
    texts, with_sentences = model_texts(chunks, False), model_texts(chunks, True)
    embedder = get_embedder()
    embedder.embed(["warm up"] * 8)
    runs: dict[str, list[float]] = {"chunks": [], "chunks_and_sentences": []}
    for _ in range(2):
        for name, batch in (("chunks", texts), ("chunks_and_sentences", with_sentences)):
            began = time.perf_counter()
            embedder.embed(batch, batch_size=Settings().ingest.embed_batch_size)
            runs[name].append(round(time.perf_counter() - began, 2))
    counter = token_counter()
    print(
        json.dumps(
            {
                "corpus": str(args.corpus),
                "chunks": len(texts),
                "texts_with_sentences": len(with_sentences),
                "word_pieces_ratio": round(sum(counter.count_many(with_sentences)) / sum(counter.count_many(texts)), 2),
                "runs_s": runs,
                "time_ratio": round(sum(runs["chunks_and_sentences"]) / sum(runs["chunks"]), 2),
                "load_1min": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
