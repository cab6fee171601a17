"""Token error rate and sequence error rate against one or more references per item.

    d(p, r)   Levenshtein distance (substitutions, insertions, deletions, each cost 1;
              :func:`lstmkit.core.ctc_decode.edit_distance`)
    r*        the reference closest to the prediction p (the first one on a tie)
    TER       = Σ d(p, r*) / Σ |r*|      (phoneme error rate, PER, for G2P)
    SER       = #{items whose p equals none of its references} / #items   (word error rate, WER)

With several references (alternative pronunciations) a prediction counts as correct if it
matches any of them, and its token errors are counted against the closest one — the
convention of the G2P literature on CMUdict (Bisani & Ney 2008; Yao & Zweig 2015).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.ctc_decode import edit_distance

__all__ = ["closest_reference", "edit_distance", "error_rates"]


def closest_reference(pred: Sequence, refs: Sequence[Sequence]) -> tuple[int, Sequence]:
    """(distance, reference) of the reference nearest to pred; the first on a tie."""
    if not refs:
        raise ValueError("expected at least one reference")
    best = None
    for r in refs:
        d = edit_distance(pred, r)
        if best is None or d < best[0]:
            best = (d, r)
    assert best is not None  # refs is not empty
    return best


def error_rates(preds: Sequence[Sequence], refs: Sequence[Sequence[Sequence]]) -> dict:
    """{"per", "wer", "errors", "ref_tokens", "wrong", "n"} over aligned predictions and
    reference lists (see the module docstring)."""
    if len(preds) != len(refs):
        raise ValueError(
            f"expected as many predictions as reference lists, got {len(preds)} and {len(refs)}"
        )
    if not preds:
        raise ValueError("expected at least one prediction")
    errors = ref_tokens = wrong = 0
    for p, rs in zip(preds, refs, strict=True):
        p = list(p)
        d, r = closest_reference(p, [list(x) for x in rs])
        errors += d
        ref_tokens += len(r)
        wrong += d > 0
    return {
        "per": errors / max(ref_tokens, 1),
        "wer": wrong / len(preds),
        "errors": errors,
        "ref_tokens": ref_tokens,
        "wrong": wrong,
        "n": len(preds),
    }
