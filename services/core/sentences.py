"""Sentence-level evidence: every sentence of a chunk embedded on its own, kept in the chunk's payload.

A chunk's vector blends everything the chunk says, so a page that answers a need in one sentence among
others on different topics scores lower than it deserves. Talk tracks add each document's best single sentence
to its score (`services/pitch/ranking.py`). The vectors are embedded at ingest with the chunk, in the same
model calls, and stored as float16 (half the payload; cosines move by about 1e-3).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np

from services.core.text import split_sentences

PAYLOAD_KEY = "sentence_vectors"
# Shorter "sentences" are headings, list labels and fragments: they match everything a little.
MIN_WORDS = 4


def evidence_sentences(text: str) -> list[str]:
    """The sentences of a chunk's text that are embedded on their own."""
    return [s for s in split_sentences(text) if len(s.split()) >= MIN_WORDS]


def group_sentences(chunk_texts: Sequence[str]) -> tuple[list[list[str]], list[str]]:
    """Each chunk's evidence sentences, and the distinct ones of the whole group in first-seen order: what one
    model call embeds (a sentence the chunk overlap repeats is embedded once)."""
    per_chunk = [evidence_sentences(t) for t in chunk_texts]
    return per_chunk, list(dict.fromkeys(s for chunk in per_chunk for s in chunk))


def pack(vectors: np.ndarray) -> str:
    """Rows of unit vectors as float16, base64: what the payload stores."""
    return base64.b64encode(np.ascontiguousarray(vectors, dtype=np.float16).tobytes()).decode("ascii")


def unpack(data: str, dimension: int) -> np.ndarray:
    """The float32 rows `pack` stored; shape (n, dimension), n = 0 for an empty string."""
    raw = np.frombuffer(base64.b64decode(data), dtype=np.float16)
    return raw.astype(np.float32).reshape(-1, dimension)
