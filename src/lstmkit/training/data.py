"""What ``fit`` / ``evaluate`` slice into batches: one array, or several sliced together.

Keras takes ``x`` as an array, a list of arrays (a model with several inputs) or a dict
by input name, ``y`` likewise per output, and ``sample_weight`` (per sample, or per
sample and step) or ``class_weight`` ({class: weight}). :class:`Samples` holds such a
group of arrays (and the targets' sample weights) so that the loops can keep slicing
``x[idx]`` and ``y[idx]`` as for plain arrays; the model unpacks them.

``class_weight`` becomes sample weights as Keras computes them: the class of a sample
is ``argmax(y)`` for one-hot targets, ``round(y)`` for integer or 0/1 targets.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Samples", "as_samples", "input_shapes", "loss_count", "with_weights"]


class Samples:
    """Arrays sliced together along their first axis.

    ``parts``: the arrays (several inputs, or several targets); ``keys``: their names
    when they came as a dict; ``weights``: per part, its sample weights (or None)."""

    def __init__(self, parts: list, keys: list | None = None, weights: list | None = None):
        self.parts = list(parts)
        self.keys = None if keys is None else list(keys)
        self.weights = list(weights) if weights is not None else [None] * len(self.parts)
        if not self.parts:
            raise ValueError("expected at least one array, got an empty list")
        n = {len(p) for p in self.parts} | {len(w) for w in self.weights if w is not None}
        if len(n) != 1:
            raise ValueError(
                f"the arrays (and sample weights) must have the same number of samples, "
                f"got {sorted(n)}"
            )

    def __len__(self) -> int:
        return len(self.parts[0])

    def __getitem__(self, idx) -> Samples:
        return Samples(
            [p[idx] for p in self.parts],
            self.keys,
            [None if w is None else w[idx] for w in self.weights],
        )

    @property
    def shape(self):
        """The first part's shape (what a loop reading ``x.shape`` of one array expects)."""
        return self.parts[0].shape

    def __repr__(self):
        return f"Samples({[tuple(p.shape) for p in self.parts]}, keys={self.keys})"


def as_samples(a, what: str):
    """An array (kept as an ndarray), a list / tuple of arrays or a dict of arrays (→ Samples)."""
    if a is None:
        raise ValueError(f"fit expected {what}, got None")
    if isinstance(a, Samples):
        return a
    if isinstance(a, dict):
        return Samples([np.asarray(v) for v in a.values()], keys=list(a))
    if isinstance(a, (list, tuple)) and a and all(isinstance(v, np.ndarray) for v in a):
        return Samples([np.asarray(v) for v in a])
    return np.asarray(a)


def input_shapes(x):
    """One sample's shape (the array's shape without the batch), or a list of them."""
    if isinstance(x, Samples):
        return [p.shape[1:] for p in x.parts]
    return x.shape[1:]


def _class_weights(y, class_weight: dict) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim > 2:
        raise ValueError(
            f"class_weight needs targets of shape (batch,) or (batch, classes), got {y.shape} "
            f"(use sample_weight for sequence targets)"
        )
    cls = np.argmax(y, axis=-1) if y.ndim == 2 and y.shape[-1] != 1 else y.reshape(len(y))
    cls = np.round(cls).astype(np.int64)
    return np.array([float(class_weight.get(int(c), 1.0)) for c in cls])


def with_weights(y, sample_weight=None, class_weight=None):
    """The targets with their sample weights attached (→ Samples), or y unchanged."""
    if sample_weight is None and class_weight is None:
        return y
    if sample_weight is not None and class_weight is not None:
        raise ValueError("give sample_weight or class_weight, not both (as Keras)")
    parts = y.parts if isinstance(y, Samples) else [y]
    keys = y.keys if isinstance(y, Samples) else None
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise ValueError(f"class_weight must be a dict {{class: weight}}, got {class_weight!r}")
        if len(parts) != 1:
            raise ValueError("class_weight is not supported for models with several outputs")
        ws: list[np.ndarray | None] = [_class_weights(parts[0], class_weight)]
    elif isinstance(sample_weight, dict):
        if keys is None:
            raise ValueError("sample_weight is a dict: give y as a dict by output name too")
        ws = [None if sample_weight.get(k) is None else np.asarray(sample_weight[k]) for k in keys]
    elif isinstance(sample_weight, (list, tuple)) and len(parts) > 1:
        if len(sample_weight) != len(parts):
            raise ValueError(
                f"sample_weight has {len(sample_weight)} entries for {len(parts)} outputs"
            )
        ws = [None if w is None else np.asarray(w) for w in sample_weight]
    else:
        ws = [np.asarray(sample_weight)] * len(parts)
    for w, p in zip(ws, parts, strict=True):
        if w is not None and (w.ndim not in (1, 2) or w.shape != np.shape(p)[: w.ndim]):
            raise ValueError(
                f"sample_weight expected shape (batch,) or (batch, time) matching the targets "
                f"{np.shape(p)}, got {w.shape}"
            )
    return Samples(parts, keys, ws)


def loss_count(y_pred, w) -> float:
    """The weight of a batch's loss in the epoch's mean: its number of samples, as Keras
    weighs it (a masked batch counts by its samples too, not by its unmasked steps)."""
    if isinstance(y_pred, list):
        y_pred = y_pred[0]
    return float(len(y_pred))
