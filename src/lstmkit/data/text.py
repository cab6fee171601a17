"""Tokenisation for the text jobs.

Characters (textgen): every distinct character of the corpus gets an id 0…V−1.
Words (classify): lower-cased word/punctuation tokens; id 0 is padding
(``Embedding(mask_zero=True)`` masks it), id 1 is any word not in the vocabulary.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

__all__ = ["CharVocab", "WordVocab", "words"]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]", re.IGNORECASE)
PAD, OOV = 0, 1


def words(text: str) -> list[str]:
    """'Mr. Darcy's ball!' → ['mr', '.', "darcy's", 'ball', '!']"""
    return _WORD.findall(text.lower())


class WordVocab:
    def __init__(self, tokens: list[str]):
        self.tokens = list(tokens)  # id k+2 ↔ tokens[k]
        self.ids = {t: k + 2 for k, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, texts, min_count: int = 2, max_size: int = 20000) -> WordVocab:
        counts = Counter(w for t in texts for w in words(t))
        common = [
            w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count
        ][:max_size]
        return cls(common)

    def __len__(self):  # the Embedding's input_dim (pad + oov + words)
        return len(self.tokens) + 2

    def encode(self, texts, maxlen: int) -> np.ndarray:
        """→ (n, maxlen) int64 ids, padded with 0 at the end, cut to the first maxlen tokens."""
        out = np.zeros((len(texts), maxlen), np.int64)  # (n, T) word ids, 0 = padding
        for n, t in enumerate(texts):
            ids = [self.ids.get(w, OOV) for w in words(t)][:maxlen]
            out[n, : len(ids)] = ids
        return out


class CharVocab:
    def __init__(self, chars: str):
        self.chars = chars
        self.ids = {c: k for k, c in enumerate(chars)}

    @classmethod
    def build(cls, text: str) -> CharVocab:
        return cls("".join(sorted(set(text))))

    def __len__(self):
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """text → (N,) int64 ids; characters not in the vocabulary are dropped."""
        return np.fromiter((self.ids[c] for c in text if c in self.ids), np.int64)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(k)] for k in ids)
