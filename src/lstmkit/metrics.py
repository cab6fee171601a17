"""Metrics, accumulated over the batches of an epoch (weighted by batch size).

Names as in Keras: ``accuracy`` picks binary / categorical / sparse categorical
accuracy from the loss (or, failing that, from the shapes), ``mae``, ``mse``, ``rmse``,
``mape``, ``msle``, and any loss name (``"binary_crossentropy"``, ``"log_cosh"``, …) as the
mean of that loss. Keras' metric classes: ``MeanSquaredError()``, ``MeanAbsoluteError()``,
``RootMeanSquaredError()``, ``BinaryAccuracy(threshold=0.5)``, ``CategoricalAccuracy()``,
``SparseCategoricalAccuracy()``, ``TopKCategoricalAccuracy(k=5)``. Weights (masks, sample
weights) make every mean a weighted one: Σ w·v / Σ w.
"""

from __future__ import annotations

import numpy as np

from . import losses as losses_mod

__all__ = [
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "Metric",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "RootMeanSquaredError",
    "LossMetric",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "Accuracy",
    "get",
]


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

    def __init__(self, name=None, dtype=None):
        self.name = name or self.name
        self.reset()

    # Keras' names for the same three operations
    def reset_state(self):
        self.reset()

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.update(y_true, y_pred, sample_weight)

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


class MeanSquaredError(Metric):
    name = "mse"

    def per_sample(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        e = y_pred - np.asarray(y_true).reshape(y_pred.shape)
        return (e * e).mean(axis=-1)


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


class LossMetric(Metric):
    """The running mean of a loss's per-sample values (Keras' loss-named metrics)."""

    def __init__(self, loss, name=None):
        self.loss = losses_mod.get(loss)
        super().__init__(name or self.loss.name)

    def per_sample(self, y_true, y_pred):
        return self.loss.per_sample(y_true, np.asarray(y_pred))[0]


class BinaryAccuracy(Metric):
    name = "binary_accuracy"

    def __init__(self, name=None, threshold=0.5, dtype=None):
        self.threshold = float(threshold)
        super().__init__(name)

    def per_sample(self, y_true, y_pred):
        return binary_accuracy(y_true, y_pred, self.threshold)


class CategoricalAccuracy(Metric):
    name = "categorical_accuracy"

    def __init__(self, name=None, dtype=None):
        super().__init__(name)

    def per_sample(self, y_true, y_pred):
        return categorical_accuracy(y_true, y_pred)


class SparseCategoricalAccuracy(Metric):
    name = "sparse_categorical_accuracy"

    def __init__(self, name=None, dtype=None):
        super().__init__(name)

    def per_sample(self, y_true, y_pred):
        return sparse_categorical_accuracy(y_true, y_pred)


class TopKCategoricalAccuracy(Metric):
    """[the true class is among the k largest p] (one-hot targets)."""

    name = "top_k_categorical_accuracy"

    def __init__(self, k=5, name=None, dtype=None):
        self.k = int(k)
        super().__init__(name)

    def per_sample(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        true = np.argmax(np.asarray(y_true), axis=-1)
        score = np.take_along_axis(y_pred, true[..., None], axis=-1)
        return ((y_pred > score).sum(axis=-1) < self.k).astype(np.float64)


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
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "rmse": RootMeanSquaredError,
    "root_mean_squared_error": RootMeanSquaredError,
}
#: metric names that are the mean of a loss (Keras' loss-named metrics)
_LOSS_NAMES = (
    "mape",
    "mean_absolute_percentage_error",
    "msle",
    "mean_squared_logarithmic_error",
    "log_cosh",
    "logcosh",
    "poisson",
    "kl_divergence",
    "kld",
    "hinge",
    "squared_hinge",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
)


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
        if key == "top_k_categorical_accuracy":
            return TopKCategoricalAccuracy()
        if key in _LOSS_NAMES:
            return LossMetric(key, name=identifier)
    raise ValueError(
        f"metric must be one of {sorted(['accuracy', *_FUNCTIONS, *_ALIASES, *_LOSS_NAMES])} "
        f"or a Metric, got {identifier!r}"
    )
