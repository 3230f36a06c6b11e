"""A stand-in for the embedding model in unit tests of its callers: each text gets a fixed random unit vector
(from a hash of the text), so unrelated texts sit near cosine 0 and identical texts at 1."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def hash_embed(texts: Sequence[str]) -> np.ndarray:
    rows = []
    for text in texts:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        vec = np.random.default_rng(seed).standard_normal(384)
        rows.append(vec / np.linalg.norm(vec))
    return np.asarray(rows, dtype=np.float32)
