"""How the classify job turns time series into model input (and what of it the sidecar keeps).

1. **Normalise** (``normalize``):
   ``sequence`` — each sequence, each feature on its own: x' = (x − μ_seq) / σ_seq
   (the UCR convention: shape counts, level and scale do not; σ = 1 where a
   sequence is constant);
   ``global`` — every feature with the training rows' μ, σ (level and scale count);
   ``both`` — the two side by side (2F features);
   ``auto`` (the default) — ``sequence`` for one feature, ``both`` for several
   (chosen by measurement over the UCR/UEA sets, see docs/classify.md).
2. **Cut / pad**: a sequence longer than ``maxlen`` (the longest training sequence,
   at most MAX_STEPS·patch) keeps its last steps; shorter ones are padded with zeros
   *in front*. When the training sequences differ in length the model starts with a
   ``Masking`` layer, so padded steps take no part.
3. **Patch**: the (T, F) sequence becomes (T/p, p·F), p consecutive steps per LSTM
   step, with p = ⌈longest training sequence / MAX_STEPS⌉ — the LSTM reads at most
   MAX_STEPS steps (a strided convolution of width p, folded into W_x), so long series
   train in seconds, not minutes.
"""

from __future__ import annotations

import math

import numpy as np

from ...data.scaling import StandardScaler

__all__ = [
    "MAX_STEPS",
    "NORMALIZE",
    "encode_series",
    "fit_series_meta",
    "length_note",
    "normalise",
]

NORMALIZE = ("auto", "sequence", "global", "both")
MAX_STEPS = 128  # the most steps the LSTM reads (patching folds longer series)


def znorm(s: np.ndarray) -> np.ndarray:
    """Per-sequence, per-feature z-normalisation of one (T, F) sequence."""
    mu, sd = s.mean(0), s.std(0)
    return (s - mu) / np.where(sd > 1e-8, sd, 1.0)


def resolve_normalize(normalize: str, n_features: int) -> str:
    if normalize == "auto":
        return "sequence" if n_features == 1 else "both"
    return normalize


def normalise(seqs, meta: dict) -> list[np.ndarray]:
    """The sequences as the model (and the baselines) see them, before padding."""
    how = meta["normalize"]
    out = []
    sc = StandardScaler.from_dict(meta["scaler"]) if how in ("global", "both") else None
    for s in seqs:
        s = np.asarray(s, np.float64)
        if how == "sequence":
            out.append(znorm(s))
        elif how == "global":
            assert sc is not None
            out.append(sc.transform(s))
        else:
            assert sc is not None
            out.append(np.concatenate([znorm(s), sc.transform(s)], axis=1))
    return out


def fit_series_meta(train_seqs, features, normalize: str, maxlen: int | None) -> dict:
    """The series part of the sidecar, from the training sequences only."""
    lens = np.array([len(s) for s in train_seqs])
    how = resolve_normalize(normalize, len(features))
    longest = int(maxlen or lens.max())
    patch = max(1, math.ceil(longest / MAX_STEPS))
    meta = {
        "features": list(features),
        "normalize": how,
        "maxlen": int(math.ceil(longest / patch) * patch),  # steps before patching
        "patch": patch,
        "masked": bool(lens.min() != lens.max()),
    }
    if how in ("global", "both"):
        meta["scaler"] = StandardScaler().fit(np.concatenate(list(train_seqs))).to_dict()
    return meta


def encode_series(seqs, meta: dict) -> np.ndarray:
    """Model input (n, T/p, p·F') float32: normalised, cut to the last ``maxlen`` steps,
    zero-padded in front, p steps folded into one."""
    T, p = meta["maxlen"], meta["patch"]
    seqs = normalise(seqs, meta)
    F = seqs[0].shape[1] if seqs else len(meta["features"])
    X = np.zeros((len(seqs), T, F), np.float32)  # (n, T, F) zero = padding
    for n, s in enumerate(seqs):
        s = s[-T:]
        X[n, T - len(s) :] = s
    return X.reshape(len(seqs), T // p, p * F)


def length_note(seqs) -> str | None:
    """A warning when the sequences' lengths differ a lot (the longest over twice the
    shortest), else None."""
    lens = np.array([len(s) for s in seqs])
    lo, hi = int(lens.min()), int(lens.max())
    if hi <= 2 * lo:
        return None
    return (
        f"sequence lengths differ a lot ({lo} … {hi} steps, median {int(np.median(lens))}): "
        f"shorter sequences are padded in front and masked; if length is not what tells "
        f"the classes apart, consider cutting the sequences to comparable windows"
    )
