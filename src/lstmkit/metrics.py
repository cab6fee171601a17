"""Metrics, accumulated over the batches of an epoch (weighted by batch size).

Names as in Keras: ``accuracy`` picks binary / categorical / sparse categorical
accuracy from the loss (or, failing that, from the shapes), ``mae``, ``rmse``.
"""

from __future__ import annotations

import numpy as np


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Per-sample mean over the last axis of [ (p > threshold) == y ]."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true).reshape(y_pred.shape)
    return ((y_pred > threshold) == (y_true > 0.5)).mean(axis=-1)


def categorical_accuracy(y_true, y_pred):
    """[argmax p == argmax y] per sample (one-hot targets)."""
    return (np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """[argmax p == y] per sample (integer targets)."""
    y_pred = np.asarray(y_pred)
    ids = np.asarray(y_true).reshape(y_pred.shape[:-1])
    return (np.argmax(y_pred, axis=-1) == ids).astype(np.float64)


class Metric:
    """Running weighted mean of a per-sample value."""

    name = "metric"

    def __init__(self, name=None):
        self.name = name or self.name
        self.reset()

    def reset(self):
        self.total, self.count = 0.0, 0.0

    def per_sample(self, y_true, y_pred):
        raise NotImplementedError

    def update(self, y_true, y_pred, sample_weight=None):
        v = np.asarray(self.per_sample(y_true, y_pred), np.float64)
        if sample_weight is None:
            self.total += float(v.sum())
            self.count += v.size
        else:
            w = np.asarray(sample_weight, np.float64).reshape(v.shape)
            self.total += float((w * v).sum())
            self.count += float(w.sum())

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def get_state(self):
        return [self.total, self.count]

    def set_state(self, s):
        self.total, self.count = float(s[0]), float(s[1])


class _FnMetric(Metric):
    def __init__(self, fn, name):
        self.fn = fn
        super().__init__(name)

    def per_sample(self, y_true, y_pred):
        return self.fn(y_true, y_pred)


class MeanAbsoluteError(Metric):
    name = "mae"

    def per_sample(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        return np.abs(y_pred - np.asarray(y_true).reshape(y_pred.shape)).mean(axis=-1)


class RootMeanSquaredError(Metric):
    """√(mean (p − y)²) over everything seen (not a mean of per-batch roots)."""

    name = "rmse"

    def per_sample(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        e = y_pred - np.asarray(y_true).reshape(y_pred.shape)
        return (e * e).mean(axis=-1)

    def result(self):
        return float(np.sqrt(super().result()))


_FUNCTIONS = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
}


def _accuracy_for(loss_name, y_true_shape=None, y_pred_shape=None):
    if loss_name == "binary_crossentropy":
        return binary_accuracy
    if loss_name == "categorical_crossentropy":
        return categorical_accuracy
    if loss_name == "sparse_categorical_crossentropy":
        return sparse_categorical_accuracy
    return None


class Accuracy(Metric):
    """Keras' "accuracy": the variant matching the loss, else chosen from the shapes
    (last axis 1 → binary; y_true like y_pred → categorical; else sparse)."""

    name = "accuracy"

    def __init__(self, loss_name=None, name="accuracy"):
        self.fn = _accuracy_for(loss_name)
        super().__init__(name)

    def per_sample(self, y_true, y_pred):
        fn = self.fn
        if fn is None:
            yt, yp = np.shape(y_true), np.shape(y_pred)
            if yp[-1] == 1:
                fn = binary_accuracy
            elif yt == yp:
                fn = categorical_accuracy
            else:
                fn = sparse_categorical_accuracy
        return fn(y_true, y_pred)


_ALIASES = {
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "rmse": RootMeanSquaredError,
    "root_mean_squared_error": RootMeanSquaredError,
}


def get(identifier, loss_name=None) -> Metric:
    """A metric name ('accuracy', 'acc', 'mae', 'rmse', 'binary_accuracy', …) or a Metric."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            return Accuracy(loss_name, name=identifier)
        if key in _FUNCTIONS:
            return _FnMetric(_FUNCTIONS[key], key)
        if key in _ALIASES:
            return _ALIASES[key](name=identifier)
    raise ValueError(
        f"metric must be one of {sorted(['accuracy', *_FUNCTIONS, *_ALIASES])} "
        f"or a Metric, got {identifier!r}"
    )
