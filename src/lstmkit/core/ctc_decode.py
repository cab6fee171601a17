"""Reading a label sequence out of CTC outputs, and scoring it.

Greedy (best path): take the most likely class at every frame and apply 𝓑 (drop
repeats, then blanks). It finds the most likely *path*, not the most likely *label
sequence*: p(l | x) sums over every path that reads l, and many small paths can outweigh
one big one (the test suite has a two-frame example).

Prefix beam search (Graves 2012 §7.5; Hannun et al. 2014, without a language model)
keeps the W most likely label prefixes ρ after each frame, each with two log-scores,
the mass of the paths reading ρ that end in a blank, p_b(ρ), or in ρ's last label,
p_nb(ρ). From frame t−1 to t, with y = y_t::

    blank:                 p_b(ρ)     ⊕= (p_b(ρ) ⊕ p_nb(ρ)) + log y(−)
    k = last label of ρ:   p_nb(ρ)    ⊕= p_nb(ρ) + log y(k)      (the repeat collapses)
                           p_nb(ρ+k)  ⊕= p_b(ρ)  + log y(k)      (a new k, after a blank)
    any other k:           p_nb(ρ+k)  ⊕= (p_b(ρ) ⊕ p_nb(ρ)) + log y(k)

(⊕ is log-add-exp.) With W at least the number of distinct prefixes it is exact:
score(ρ) = log p(ρ | x) for every complete ρ, the same number the CTC loss computes.

Label error rate: Levenshtein distance (substitutions, insertions, deletions, each 1)
summed over utterances, over the total reference length.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "collapse",
    "greedy_decode",
    "prefix_beam_search",
    "beam_decode",
    "edit_distance",
    "label_error_rate",
]


def collapse(path: Iterable[int], blank: int = 0) -> list[int]:
    """𝓑(π): drop repeated classes, then blanks."""
    out, prev = [], None
    for k in path:
        k = int(k)
        if k != prev and k != blank:
            out.append(k)
        prev = k
    return out


def greedy_decode(
    log_probs: ArrayLike, input_lengths: ArrayLike | None = None, blank: int = 0
) -> list[list[int]]:
    """Best-path decoding of (B, T, C) (or one (T, C)) log-probabilities (or probabilities,
    or logits: only the argmax matters) → one label list per sample, frames t < T_b."""
    lp = np.asarray(log_probs)
    if lp.ndim == 2:
        lp = lp[None]
    if lp.ndim != 3:
        raise ValueError(f"greedy_decode expected (batch, time, classes), got {lp.shape}")
    B, T, _ = lp.shape
    Tb = np.full(B, T) if input_lengths is None else np.broadcast_to(input_lengths, (B,))
    best = lp.argmax(axis=-1)  # (B, T) most likely class per frame
    return [collapse(best[b, : int(Tb[b])], blank) for b in range(B)]


def prefix_beam_search(
    log_probs: ArrayLike, beam_width: int = 8, blank: int = 0, prune: float = 0.0
) -> list[tuple[tuple[int, ...], float]]:
    """Prefix beam search over one utterance's (T, C) log-probabilities → the final beam,
    best first, as (labels, log-score) pairs. ``prune`` > 0 skips, at each frame, the
    classes with probability below it (the most likely class is always tried)."""
    lp = np.asarray(log_probs, np.float64)
    if lp.ndim != 2:
        raise ValueError(f"prefix_beam_search expected (time, classes), got {lp.shape}")
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, got {beam_width}")
    T, C = lp.shape
    lae = np.logaddexp
    beam: dict[tuple[int, ...], list[float]] = {(): [0.0, -np.inf]}  # ρ → [p_b, p_nb]
    log_prune = np.log(prune) if prune > 0 else -np.inf
    for t in range(T):
        y = lp[t]
        ks = [k for k in range(C) if k != blank and (y[k] >= log_prune or k == y.argmax())]
        nxt: dict[tuple[int, ...], list[float]] = {}
        for rho, (pb, pnb) in beam.items():
            total = lae(pb, pnb)
            s = nxt.setdefault(rho, [-np.inf, -np.inf])
            s[0] = lae(s[0], total + y[blank])  # a blank: ρ unchanged, now ends in a blank
            for k in ks:
                ext = nxt.setdefault(rho + (k,), [-np.inf, -np.inf])
                if rho and rho[-1] == k:
                    s[1] = lae(s[1], pnb + y[k])  # k again: collapses into ρ
                    ext[1] = lae(ext[1], pb + y[k])  # k after a blank: a new label
                else:
                    ext[1] = lae(ext[1], total + y[k])
        ranked = sorted(nxt.items(), key=lambda kv: lae(kv[1][0], kv[1][1]), reverse=True)
        beam = {rho: s for rho, s in ranked[:beam_width] if lae(s[0], s[1]) > -np.inf}  # p > 0
    return [(rho, float(lae(pb, pnb))) for rho, (pb, pnb) in beam.items()]


def beam_decode(
    log_probs: ArrayLike,
    input_lengths: ArrayLike | None = None,
    beam_width: int = 8,
    blank: int = 0,
    prune: float = 0.0,
) -> list[list[int]]:
    """Prefix beam search over each sample of (B, T, C) log-probabilities → the best labels."""
    lp = np.asarray(log_probs)
    if lp.ndim == 2:
        lp = lp[None]
    B, T, _ = lp.shape
    Tb = np.full(B, T) if input_lengths is None else np.broadcast_to(input_lengths, (B,))
    return [
        list(prefix_beam_search(lp[b, : int(Tb[b])], beam_width, blank, prune)[0][0])
        for b in range(B)
    ]


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance between two sequences (unit costs)."""
    ref, hyp = list(ref), list(hyp)
    d = list(range(len(hyp) + 1))  # row i−1 of the DP table
    for i in range(1, len(ref) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(hyp) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (ref[i - 1] != hyp[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(hyp)]


def label_error_rate(refs: Sequence[Sequence], hyps: Sequence[Sequence]) -> float:
    """Σ edit_distance(ref, hyp) / Σ len(ref) over the utterances."""
    refs, hyps = list(refs), list(hyps)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    n = sum(len(r) for r in refs)
    if n == 0:
        raise ValueError("label_error_rate needs references with at least one label")
    return sum(edit_distance(r, h) for r, h in zip(refs, hyps, strict=True)) / n
