"""Loading a g2p model, pronouncing words (greedy or beam search) and scoring them.

A g2p model directory holds ``model.safetensors`` (a :mod:`lstmkit.seq2seq` file) and
``model.json``, the job's sidecar: ``lstmkit_task`` = "g2p", the letters and phonemes
(id order), whether stress marks were kept, the length limit and the training options.
Both are checked on load; anything off is a ModelFileError (one line, exit 2).
"""

from __future__ import annotations

import numpy as np

from ...errors import ModelFileError, UserError
from ...seq2seq import Seq2Seq
from ...seq2seq.io import load_seq2seq
from ...seq2seq.metrics import error_rates
from ...seq2seq.search import beam_search, greedy_decode
from ..shared.modelfiles import read_sidecar, resolve_model_path
from .data import Vocab

TASK = "g2p"
MAX_LEN_LIMIT = 1000


def check_sidecar(path: str, meta: dict | None) -> dict:
    side = "model.json"
    if meta is None:
        raise ModelFileError(
            f"{path} has no {side} beside it; expected a model written by 'lstmkit g2p train'"
        )
    task = meta.get("lstmkit_task")
    if task != TASK:
        raise ModelFileError(
            f"{path} is a '{task}' model; expected a 'g2p' model"
            if task
            else f"{path}: {side} is not an lstmkit model description (no 'lstmkit_task')"
        )
    letters, phonemes = meta.get("letters"), meta.get("phonemes")
    ok = (
        isinstance(letters, list)
        and all(isinstance(c, str) and len(c) == 1 for c in letters)
        and len(set(letters)) == len(letters) > 0
        and isinstance(phonemes, list)
        and all(isinstance(p, str) and 0 < len(p) <= 8 for p in phonemes)
        and len(set(phonemes)) == len(phonemes) > 0
    )
    if not ok:
        raise ModelFileError(
            f"{path}: {side} must list distinct 'letters' (single characters) and "
            f"'phonemes' (short strings)"
        )
    m = meta.get("max_len")
    if (
        type(m) is not int
        or not 1 <= m <= MAX_LEN_LIMIT
        or not isinstance(meta.get("stress"), bool)
    ):
        raise ModelFileError(
            f"{path}: {side} needs 'max_len' (an integer in 1..{MAX_LEN_LIMIT}) and 'stress' "
            f"(true/false), got {str(m)[:20]!r}, {str(meta.get('stress'))[:20]!r}"
        )
    return meta


def load_g2p(path: str) -> tuple[Seq2Seq, Vocab, dict]:
    """A g2p model directory (or its model.safetensors) → (model, vocab, sidecar)."""
    path = resolve_model_path(path)
    meta = check_sidecar(path, read_sidecar(path))
    model = load_seq2seq(path)
    vocab = Vocab(meta["letters"], meta["phonemes"])
    c = model.config
    if (c.src_vocab, c.tgt_vocab) != (vocab.src_size, vocab.tgt_size):
        raise ModelFileError(
            f"{path}: model.json lists {len(vocab.letters)} letters and {len(vocab.phonemes)} "
            f"phonemes, but the model has {c.src_vocab - 1} and {c.tgt_vocab - 3}"
        )
    return model, vocab, meta


def pronounce(
    model: Seq2Seq,
    vocab: Vocab,
    words: list[str],
    beam: int = 1,
    max_len: int = 40,
    length_penalty: float = 1.0,
    n_best: int = 1,
    chunk: int = 512,
    progress=None,
) -> list[list[tuple[list[str], float]]]:
    """For each word, its n_best (phonemes, log P) — log P is None for greedy decoding.
    Words are decoded in chunks of similar length (the order of the result is the input's)."""
    if beam < 1:
        raise UserError(f"--beam must be at least 1, got {beam}")
    if not 1 <= n_best <= beam:
        raise UserError(f"--n-best must be in 1..--beam ({beam}), got {n_best}")
    if max_len < 1:
        raise UserError(f"--max-len must be at least 1, got {max_len}")
    order = sorted(range(len(words)), key=lambda k: len(words[k]))
    out: list = [None] * len(words)
    size = chunk if beam == 1 else max(1, chunk // beam)
    for i in range(0, len(order), size):
        idx = order[i : i + size]
        src = vocab.encode_words([words[k] for k in idx])
        res: list[list[tuple[list[str], float | None]]]  # per word: (phonemes, log p)
        if beam == 1:
            res = [[(vocab.decode(t), None)] for t in greedy_decode(model, src, max_len)]
        else:
            hyps = beam_search(model, src, beam, max_len, length_penalty, n_best)
            res = [[(vocab.decode(h.tokens), h.log_prob) for h in hs] for hs in hyps]
        for k, r in zip(idx, res, strict=True):
            out[k] = r
        if progress is not None:
            progress(len(idx))
    return out


def score(model, vocab, lex: dict, words: list[str], progress=None, **kw) -> tuple[dict, list]:
    """PER / WER of the best hypothesis against every listed pronunciation (see
    :mod:`lstmkit.seq2seq.metrics`) → (metrics, predictions)."""
    preds = [hs[0][0] for hs in pronounce(model, vocab, words, progress=progress, **kw)]
    return error_rates(preds, [lex[w] for w in words]), preds


def attention_matrix(model: Seq2Seq, vocab: Vocab, word: str, phonemes: list[str]) -> np.ndarray:
    """A (len(phonemes) + 1, len(word)): the weight each output step (the last is EOS)
    puts on each letter, from the decoder fed the given phonemes."""
    tin, _ = vocab.encode_prons([tuple(phonemes)])
    return model.attention_weights(vocab.encode_words([word]), tin)[0]


def error_table(words: list[str], preds: list, lex: dict) -> str:
    """The words whose predicted pronunciation is none of the dictionary's, as TSV
    (word, predicted, the dictionary's pronunciations joined by ' | ')."""
    lines = ["word\tpredicted\tdictionary"]
    for w, p in zip(words, preds, strict=True):
        if tuple(p) not in lex[w]:
            lines.append(f"{w}\t{' '.join(p)}\t{' | '.join(' '.join(r) for r in lex[w])}")
    return "\n".join(lines) + "\n"
