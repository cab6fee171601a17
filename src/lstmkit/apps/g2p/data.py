"""The g2p job's data: CMUdict words and pronunciations as padded id batches.

Source ids: 0 = PAD, 1 … = the letters (``'`` and a–z, in sorted order). Target ids:
0 = PAD, 1 = BOS, 2 = EOS, 3 … = the phonemes (sorted). A training example is one
(word, pronunciation) pair — a word with two pronunciations gives two examples.
Batches hold words of similar length (sorted by length, ties in a seeded random order,
cut into runs of ``batch_size``) and are visited in a new seeded order every epoch,
so padding stays small and a run is reproducible (and resumable) from (seed, epoch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...data import cmudict
from ...errors import UserError
from ...seq2seq import BOS, EOS, PAD


@dataclass
class Vocab:
    letters: list[str]  # id k + 1 ↔ letters[k]
    phonemes: list[str]  # id k + 3 ↔ phonemes[k]

    @property
    def src_size(self) -> int:
        return len(self.letters) + 1

    @property
    def tgt_size(self) -> int:
        return len(self.phonemes) + 3

    @classmethod
    def build(cls, lex: dict) -> Vocab:
        letters = sorted({ch for w in lex for ch in w})
        phonemes = sorted({p for prons in lex.values() for pr in prons for p in pr})
        return cls(letters, phonemes)

    def check_word(self, word: str) -> str:
        w = word.strip().lower()
        bad = sorted({ch for ch in w if ch not in self.letters})
        if not w or bad:
            raise UserError(
                f"cannot spell {word!r}: expected letters from {''.join(self.letters)!r}"
                + (f", got {''.join(bad)!r}" if bad else ", got an empty word")
            )
        return w

    def encode_words(self, words: list[str]) -> np.ndarray:
        """words → source ids (N, S), right-padded with PAD."""
        ids = {c: k + 1 for k, c in enumerate(self.letters)}
        out = np.full((len(words), max(map(len, words))), PAD, np.int64)
        for r, w in enumerate(words):
            out[r, : len(w)] = [ids[c] for c in w]
        return out

    def encode_prons(self, prons: list) -> tuple[np.ndarray, np.ndarray]:
        """pronunciations → decoder input [BOS, p…] and target [p…, EOS] (N, T+1)."""
        ids = {p: k + 3 for k, p in enumerate(self.phonemes)}
        T = max(map(len, prons)) + 1
        tin = np.full((len(prons), T), PAD, np.int64)
        tout = np.full((len(prons), T), PAD, np.int64)
        for r, pr in enumerate(prons):
            p = [ids[x] for x in pr]
            tin[r, : len(p) + 1] = [BOS, *p]
            tout[r, : len(p) + 1] = [*p, EOS]
        return tin, tout

    def decode(self, ids) -> list[str]:
        return [self.phonemes[i - 3] for i in ids if i >= 3]


def load(stress: bool = False, max_words: int | None = None, seed: int = 0):
    """→ (lexicon, {split: words}). ``max_words`` keeps a seeded sample of each split
    (the same fraction of each), for quick runs."""
    lex = cmudict.lexicon(stress=stress)
    parts = cmudict.split(lex)
    if max_words:
        total = sum(len(v) for v in parts.values())
        rng = np.random.default_rng(seed)
        for k, words in parts.items():
            n = max(1, round(len(words) * max_words / total))
            parts[k] = sorted(rng.choice(words, min(n, len(words)), replace=False).tolist())
    return lex, parts


def pairs_of(lex: dict, words: list[str]) -> list[tuple[str, tuple]]:
    return [(w, pr) for w in words for pr in lex[w]]


def make_batches(pairs: list, batch_size: int, seed: int) -> list[np.ndarray]:
    """Indices into ``pairs``, grouped by word length (see the module docstring)."""
    tie = np.random.default_rng(seed).random(len(pairs))
    order = np.lexsort((tie, np.array([len(w) for w, _ in pairs])))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def epoch_order(n_batches: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n_batches)


def batch_arrays(vocab: Vocab, pairs: list, idx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    words = [pairs[k][0] for k in idx]
    tin, tout = vocab.encode_prons([pairs[k][1] for k in idx])
    return vocab.encode_words(words), tin, tout
