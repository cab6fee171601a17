"""Decoding a Seq2Seq one token at a time: greedy and beam search, batched over sources.

Both emit at most ``max_len`` tokens (EOS not counted): a hypothesis still open after
``max_len`` tokens is closed there (beam search scores it with the probability of EOS
at that point, i.e. it is forced to end).

Beam search (K beams per source, all sources in one batch of N·K rows): at step t every
open hypothesis y_{<t} with score log P(y_{<t}) is extended by every token v,
score + log p(v | y_{<t}); of the 2K best extensions of a source, those ending in EOS
that rank among the first K are closed, and the K best others stay open. A source is
done when K hypotheses are closed (early stopping, as fairseq). Closed hypotheses are
ranked by the length-normalised score (GNMT's length penalty, Wu et al. 2016):

    score(Y) = log P(Y) / lp(|Y|),    lp(n) = ((5 + n) / 6)^α        α = length_penalty

so α = 0 ranks by log P alone and larger α favours longer outputs. With K = 1 this is
greedy decoding exactly (the same tokens, ties broken toward the lower id in both).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .model import BOS, EOS, Encoded, Seq2Seq

__all__ = ["Hypothesis", "length_penalty", "decode_step", "greedy_decode", "beam_search"]


@dataclass
class Hypothesis:
    tokens: list[int]  # without BOS and EOS
    log_prob: float  # log P(tokens, then EOS) (the forced EOS included)
    score: float  # log_prob / lp(len(tokens))


def length_penalty(n: ArrayLike, alpha: float) -> np.ndarray:
    """GNMT's lp(n) = ((5 + n) / 6)^α."""
    return ((5.0 + np.asarray(n, np.float64)) / 6.0) ** alpha


def decode_step(
    model: Seq2Seq, enc: Encoded, prev: np.ndarray, h: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One decoder step for N rows: prev (N,) token ids → log p (N, V) float64, h, c,
    attention weights (N, S)."""
    logits, h, c, A = model.decode(enc, prev[:, None], h, c, scores=True)
    z = logits[:, 0].astype(np.float64)  # (N, V)
    z -= z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True)), h, c, A[:, 0]


def _check(src: ArrayLike, max_len: int) -> tuple[np.ndarray, int]:
    src = np.asarray(src)
    if src.ndim != 2 or len(src) == 0:
        raise ValueError(f"expected source ids of shape (batch, time), got {src.shape}")
    if int(max_len) != max_len or max_len < 1:
        raise ValueError(f"max_len must be a positive integer, got {max_len!r}")
    return src, int(max_len)


def greedy_decode(model: Seq2Seq, src: ArrayLike, max_len: int) -> list[list[int]]:
    """The most probable next token at every step, for each source row: token lists."""
    src, max_len = _check(src, max_len)
    enc = model.encode(src)
    N = len(src)
    out = np.zeros((N, max_len), np.int64)
    length = np.full(N, max_len)
    open_ = np.ones(N, bool)
    prev, h, c = np.full(N, BOS), enc.h0, enc.c0
    for t in range(max_len):
        logp, h, c, _ = decode_step(model, enc, prev, h, c)
        tok = logp.argmax(-1)  # ties → the lower id
        ends = open_ & (tok == EOS)
        length[ends] = t
        open_ &= ~ends
        if not open_.any():
            break
        out[open_, t] = tok[open_]
        prev = np.where(open_, tok, EOS)
    return [out[n, : length[n]].tolist() for n in range(N)]


def beam_search(
    model: Seq2Seq,
    src: ArrayLike,
    beam_size: int = 5,
    max_len: int = 30,
    length_penalty_alpha: float = 1.0,
    n_best: int = 1,
) -> list[list[Hypothesis]]:
    """For each source row, its ``n_best`` best closed hypotheses, best first."""
    src, max_len = _check(src, max_len)
    K = int(beam_size)
    if K < 1 or not 1 <= n_best <= K:
        raise ValueError(f"need beam_size ≥ 1 and 1 ≤ n_best ≤ beam_size, got {K}, {n_best}")
    N, V = len(src), model.config.tgt_vocab
    enc = model.encode(src).repeat(K)  # row n·K + j: beam j of source n
    scores = np.full((N, K), -np.inf)  # log P of the open hypotheses
    scores[:, 0] = 0.0  # one open hypothesis (BOS) to start from
    tokens = np.zeros((N, K, 0), np.int64)
    prev, h, c = np.full(N * K, BOS), enc.h0, enc.c0
    closed: list[list[Hypothesis]] = [[] for _ in range(N)]
    done = np.zeros(N, bool)
    rows = np.arange(N)[:, None]
    for t in range(max_len + 1):
        logp, h, c, _ = decode_step(model, enc, prev, h, c)
        logp = logp.reshape(N, K, V)
        if t == max_len:  # the length limit: only EOS may follow
            logp[:, :, np.arange(V) != EOS] = -np.inf
        cand = (scores[:, :, None] + logp).reshape(N, K * V)  # (N, K·V)
        top = np.argsort(-cand, axis=1, kind="stable")[:, : 2 * K]  # (N, 2K), ties → lower id
        top_score = np.take_along_axis(cand, top, 1)
        is_eos = top % V == EOS
        for r in range(K):  # EOS among the first K: close that hypothesis
            for n in np.nonzero(is_eos[:, r] & ~done & np.isfinite(top_score[:, r]))[0]:
                toks = tokens[n, top[n, r] // V].tolist()
                s = float(top_score[n, r])
                closed[n].append(
                    Hypothesis(toks, s, s / float(length_penalty(t, length_penalty_alpha)))
                )
        done |= np.array([len(hs) >= K for hs in closed])
        if done.all() or t == max_len:
            break
        keep = np.argsort(is_eos, axis=1, kind="stable")[:, :K]  # the K best non-EOS, in order
        pick = np.take_along_axis(top, keep, 1)  # (N, K) indices into K·V
        scores = np.take_along_axis(top_score, keep, 1)
        scores[done] = -np.inf
        origin, tok = pick // V, pick % V  # which beam it extends, with which token
        tokens = np.concatenate([tokens[rows, origin], tok[..., None]], axis=2)
        flat = (rows * K + origin).reshape(-1)
        h, c, prev = h[flat], c[flat], tok.reshape(-1)
    out = []
    for hs in closed:
        hs = sorted(hs, key=lambda x: -x.score)  # stable: earlier-closed first on ties
        out.append(hs[:n_best])
    return out
