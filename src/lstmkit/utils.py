"""Keras' data helpers (``keras.utils``): pad_sequences and to_categorical."""

from __future__ import annotations

import numpy as np

__all__ = ["pad_sequences", "to_categorical"]


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
) -> np.ndarray:
    """Lists of ids → one (n, maxlen) array, as ``keras.utils.pad_sequences``: shorter
    sequences are filled with ``value`` before ("pre", Keras' default) or after ("post"),
    longer ones cut at the front ("pre") or the back ("post")."""
    for nm, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f"pad_sequences {nm} must be 'pre' or 'post', got {v!r}")
    seqs = [np.asarray(s) for s in sequences]
    if maxlen is None:
        maxlen = max((len(s) for s in seqs), default=0)
    inner = next((s.shape[1:] for s in seqs if len(s)), ())
    out = np.full((len(seqs), int(maxlen), *inner), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or not maxlen:
            continue
        s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, : len(s)] = s
        else:
            out[i, -len(s) :] = s
    return out


def to_categorical(x, num_classes=None) -> np.ndarray:
    """Integer class ids → one-hot float32 rows (``keras.utils.to_categorical``)."""
    x = np.asarray(x, dtype=np.int64)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x[..., 0]
    n = int(x.max()) + 1 if num_classes is None else int(num_classes)
    if x.size and (x.min() < 0 or x.max() >= n):
        raise ValueError(f"to_categorical expected ids in [0, {n}), got [{x.min()}, {x.max()}]")
    return np.eye(n, dtype=np.float32)[x]
