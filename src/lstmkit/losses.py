"""Losses with their gradients w.r.t. the model output.

Each loss computes, per sample (every axis of ``y_pred`` but the last), a value
ℓ and its gradient ∂ℓ/∂y_pred; the batch loss is the (weighted) mean

    L = Σ w·ℓ / Σ w          (w = 1 by default; a mask (batch, time) for padded sequences)
    ∂L/∂y_pred = w·∂ℓ/∂y_pred / Σ w

Element-wise losses (MSE, MAE, Huber, binary CE) average over the last axis, as
Keras does. Cross-entropies from probabilities clip p to [ε, 1−ε], ε = 1e-7
(Keras' rule; the gradient is that of the clipped loss); ``from_logits=True``
works on logits z with log-sum-exp and never overflows:

    binary      ℓ = mean( max(z,0) − z·y + log(1 + e^{−|z|}) ),   ∂ℓ/∂z = (σ(z) − y)/C
    categorical ℓ = −Σ y·log_softmax(z),                       ∂ℓ/∂z = softmax(z)·Σy − y

``label_smoothing`` (cross-entropies, Keras'): y ← y·(1 − s) + s/C (categorical) or
+ s/2 (binary). Keras' other regression / margin losses, per sample over the last axis:
``mape`` 100·mean|y − p| / max(|y|, ε), ``msle`` mean(log(1+max(p,ε)) − log(1+max(y,ε)))²,
``log_cosh`` mean log cosh(p − y), ``poisson`` mean(p − y·log(p + ε)),
``kl_divergence`` Σ y·log(y/p) (both clipped to [ε, 1]), ``hinge`` / ``squared_hinge``
mean max(1 − y·p, 0) (squared), 0/1 labels taken as −1/+1.

``value_and_grad(…, normalizer=n)`` divides Σ w·ℓ by n instead of Σ w: the model uses
it for Keras' rule with sample weights (Σ w·ℓ over the number of loss terms).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core.ctc import ctc_loss_from_logits

__all__ = [
    "EPSILON",
    "Loss",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "CTCLoss",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "LogCosh",
    "Poisson",
    "KLDivergence",
    "Hinge",
    "SquaredHinge",
    "LOSSES",
    "get",
]

EPSILON = 1e-7


def _log_softmax(z):
    s = z - z.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


class Loss:
    name = "loss"

    def __init__(self, **kw):
        _keras_kwargs(self, kw)

    def per_sample(self, y_true, y_pred):
        """(ℓ of shape y_pred.shape[:-1], ∂ℓ/∂y_pred of shape y_pred.shape)."""
        raise NotImplementedError

    def _check(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        if y_true.shape != y_pred.shape:
            if y_true.shape == y_pred.shape[:-1] and y_pred.shape[-1] == 1:
                y_true = y_true[..., None]
            else:
                raise ValueError(
                    f"{type(self).__name__} expected y_true of shape {y_pred.shape} "
                    f"(like y_pred), got {y_true.shape}"
                )
        return y_true, y_pred

    def value_and_grad(self, y_true, y_pred, sample_weight=None, normalizer=None):
        """The batch loss (float) and ∂L/∂y_pred: Σ w·ℓ / Σ w (w = 1 without weights), or
        Σ w·ℓ / normalizer when one is given."""
        ell, dl = self.per_sample(y_true, y_pred)
        if sample_weight is None:
            n = max(ell.size, 1) if normalizer is None else normalizer
            return float(ell.sum() / n), dl / np.asarray(n, dl.dtype)
        w = np.asarray(sample_weight, dl.dtype)
        if w.shape != ell.shape:
            raise ValueError(f"sample_weight expected shape {ell.shape}, got {w.shape}")
        total = w.sum() if normalizer is None else normalizer
        if total <= 0:
            return 0.0, np.zeros_like(dl)
        return float((w * ell).sum() / total), dl * (w / total)[..., None]

    def __call__(self, y_true, y_pred, sample_weight=None, normalizer=None) -> float:
        return self.value_and_grad(y_true, y_pred, sample_weight, normalizer)[0]

    def get_config(self) -> dict:
        return {}


class MeanSquaredError(Loss):
    """ℓ = mean((p − y)²),  ∂ℓ/∂p = 2(p − y)/C."""

    name = "mean_squared_error"

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        e = p - y
        C = p.shape[-1]
        return (e * e).mean(axis=-1), e * (2.0 / C)


class MeanAbsoluteError(Loss):
    """ℓ = mean|p − y|,  ∂ℓ/∂p = sign(p − y)/C."""

    name = "mean_absolute_error"

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        e = p - y
        return np.abs(e).mean(axis=-1), np.sign(e) / p.shape[-1]


class Huber(Loss):
    """ℓ = mean(½e² if |e| ≤ δ else δ(|e| − ½δ)),  ∂ℓ/∂p = clip(e, −δ, δ)/C."""

    name = "huber"

    def __init__(self, delta=1.0, **kw):
        _keras_kwargs(self, kw)
        self.delta = float(delta)

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        e = p - y
        a, d = np.abs(e), self.delta
        ell = np.where(a <= d, 0.5 * e * e, d * (a - 0.5 * d))
        return ell.mean(axis=-1), np.clip(e, -d, d) / p.shape[-1]

    def get_config(self):
        return {"delta": self.delta}


class BinaryCrossentropy(Loss):
    """ℓ = −mean(y·log p + (1−y)·log(1−p)); from logits see the module docstring."""

    name = "binary_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, **kw):
        _keras_kwargs(self, kw)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        if self.label_smoothing:
            y = y * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        C = p.shape[-1]
        if self.from_logits:
            z = p
            ell = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
            sig = 0.5 * np.tanh(0.5 * z) + 0.5  # σ(z) without overflow
            return ell.mean(axis=-1), (sig - y) / C
        inside = (p >= EPSILON) & (p <= 1 - EPSILON)
        pc = np.clip(p, EPSILON, 1 - EPSILON)
        ell = -(y * np.log(pc) + (1 - y) * np.log1p(-pc))
        d = np.where(inside, (pc - y) / (pc * (1 - pc)), 0.0).astype(p.dtype)
        return ell.mean(axis=-1), d / C

    def get_config(self):
        out: dict[str, Any] = {"from_logits": self.from_logits}
        if self.label_smoothing:
            out["label_smoothing"] = self.label_smoothing
        return out


class CategoricalCrossentropy(Loss):
    """ℓ = −Σ y·log p̂, with p̂ = clip(p / Σp, ε, 1−ε) (Keras' rule for probabilities).

    Through a softmax layer the chained gradient is softmax − y, as it must be."""

    name = "categorical_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, **kw):
        _keras_kwargs(self, kw)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def _from_dist(self, y, p):
        if self.from_logits:
            ls = _log_softmax(p)
            return -(y * ls).sum(axis=-1), np.exp(ls) * y.sum(axis=-1, keepdims=True) - y
        s = p.sum(axis=-1, keepdims=True)
        q = p / s  # normalised probabilities
        inside = (q >= EPSILON) & (q <= 1 - EPSILON)
        qc = np.clip(q, EPSILON, 1 - EPSILON)
        ell = -(y * np.log(qc)).sum(axis=-1)
        a = np.where(inside, y / qc, 0.0).astype(p.dtype)  # −∂ℓ/∂q
        # q = p/s: ∂ℓ/∂p_j = (−a_j + Σ_k a_k q_k) / s
        return ell, (-a + (a * q).sum(axis=-1, keepdims=True)) / s

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        if self.label_smoothing:
            y = y * (1 - self.label_smoothing) + self.label_smoothing / p.shape[-1]
        return self._from_dist(y, p)

    def get_config(self):
        out: dict[str, Any] = {"from_logits": self.from_logits}
        if self.label_smoothing:
            out["label_smoothing"] = self.label_smoothing
        return out


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with integer class ids as targets (shape y_pred.shape[:-1])."""

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, ignore_class=None, **kw):
        if ignore_class is not None:
            raise ValueError(
                "SparseCategoricalCrossentropy: ignore_class is not supported by lstmkit "
                "(use sample_weight, or a mask from Embedding(mask_zero=True))"
            )
        super().__init__(from_logits=from_logits, **kw)

    def get_config(self):
        return {"from_logits": self.from_logits}

    def per_sample(self, y_true, y_pred):
        p = np.asarray(y_pred)
        ids = np.asarray(y_true)
        if ids.shape == p.shape[:-1] + (1,):
            ids = ids[..., 0]
        if ids.shape != p.shape[:-1]:
            raise ValueError(
                f"sparse_categorical_crossentropy expected integer targets of shape "
                f"{p.shape[:-1]}, got {ids.shape}"
            )
        C = p.shape[-1]
        if ids.dtype.kind == "f":
            if np.any(ids != np.round(ids)):
                raise ValueError("sparse_categorical_crossentropy expected integer class ids")
            ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= C):
            raise ValueError(
                f"sparse_categorical_crossentropy expected class ids in [0, {C}), "
                f"got values in [{ids.min()}, {ids.max()}]"
            )
        y = np.zeros_like(p)
        np.put_along_axis(y, ids[..., None], 1, axis=-1)
        return self._from_dist(y, p)


class CTCLoss(Loss):
    """Connectionist temporal classification (Graves et al. 2006), as ``keras.losses.CTC``:
    ``y_pred`` (batch, T, C) logits, ``y_true`` (batch, L_max) integer labels with 0 the
    blank and the padding (label length = number of non-zero entries). ``sample_weight``
    (batch, T), a 0/1 frame mask (1s then 0s), gives the input lengths (default: all T).

    ℓ = −log p(l | x),  ∂ℓ/∂z = softmax(z) − γ  (:mod:`lstmkit.core.ctc`);
    L = mean of ℓ over the batch (Keras' "sum_over_batch_size")."""

    name = "ctc"

    def __init__(self, zero_infinity=False):
        self.zero_infinity = bool(zero_infinity)

    def per_sample(self, y_true, y_pred, sample_weight=None):
        """(ℓ (batch,), ∂ℓ/∂y_pred (batch, T, C))."""
        z = np.asarray(y_pred)
        lab = np.asarray(y_true)
        if z.ndim != 3 or lab.ndim != 2 or lab.shape[0] != z.shape[0]:
            raise ValueError(
                f"ctc expected y_pred (batch, time, classes) and y_true (batch, max_labels), "
                f"got {z.shape} and {lab.shape}"
            )
        B, T, _ = z.shape
        Tb = np.full(B, T)
        if sample_weight is not None:
            m = np.asarray(sample_weight) > 0
            Tb = m.sum(axis=1)
            if m.shape != (B, T) or np.any(m != (np.arange(T)[None, :] < Tb[:, None])):
                raise ValueError(f"ctc expected a (batch, time) = {(B, T)} prefix frame mask")
        if np.any((lab != 0)[:, 1:] > (lab != 0)[:, :-1]):
            raise ValueError("ctc expected each row of y_true to be labels, then 0-padding")
        Lb = (lab != 0).sum(axis=1)
        nll, dz = ctc_loss_from_logits(z, lab, Tb, Lb, 0, self.zero_infinity)
        return nll, dz.astype(z.dtype)

    def value_and_grad(self, y_true, y_pred, sample_weight=None, normalizer=None):
        # normalizer: unused — the mean over the batch is CTC's only reduction
        nll, dl = self.per_sample(y_true, y_pred, sample_weight)
        n = max(len(nll), 1)
        return float(nll.sum() / n), dl / np.asarray(n, dl.dtype)

    def __call__(self, y_true, y_pred, sample_weight=None, normalizer=None) -> float:
        return self.value_and_grad(y_true, y_pred, sample_weight)[0]  # the weights: a mask

    def get_config(self):
        return {"zero_infinity": self.zero_infinity}


def _keras_kwargs(loss, kw):
    """Keras' Loss(name=…, reduction="sum_over_batch_size", dtype=…): the defaults only."""
    kw = dict(kw)
    kw.pop("name", None)
    kw.pop("dtype", None)
    red = kw.pop("reduction", "sum_over_batch_size")
    if red not in ("sum_over_batch_size", "auto"):
        raise ValueError(
            f"{type(loss).__name__}: reduction={red!r} is not supported by lstmkit "
            f"(the batch loss is always Keras' default, sum_over_batch_size)"
        )
    if kw:
        raise TypeError(f"{type(loss).__name__} got unexpected argument(s) {sorted(kw)}")


class MeanAbsolutePercentageError(Loss):
    name = "mean_absolute_percentage_error"

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        den = np.maximum(np.abs(y), EPSILON)
        e = p - y
        return 100.0 * (np.abs(e) / den).mean(axis=-1), 100.0 * np.sign(e) / den / p.shape[-1]


class MeanSquaredLogarithmicError(Loss):
    name = "mean_squared_logarithmic_error"

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        pc = np.maximum(p, EPSILON)
        e = np.log(pc + 1.0) - np.log(np.maximum(y, EPSILON) + 1.0)
        d = 2.0 * e / (pc + 1.0) * (p >= EPSILON) / p.shape[-1]
        return (e * e).mean(axis=-1), d.astype(p.dtype)


class LogCosh(Loss):
    """ℓ = mean(log cosh(p − y)), computed as e + softplus(−2e) − log 2."""

    name = "log_cosh"

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        e = p - y
        ell = e + np.logaddexp(0, -2.0 * e) - np.log(2.0)
        return ell.mean(axis=-1), np.tanh(e) / p.shape[-1]


class Poisson(Loss):
    name = "poisson"

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        ell = p - y * np.log(p + EPSILON)
        return ell.mean(axis=-1), (1.0 - y / (p + EPSILON)) / p.shape[-1]


class KLDivergence(Loss):
    name = "kl_divergence"

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        yc, pc = np.clip(y, EPSILON, 1), np.clip(p, EPSILON, 1)
        inside = (p >= EPSILON) & (p <= 1)
        return (yc * np.log(yc / pc)).sum(axis=-1), np.where(inside, -yc / pc, 0.0).astype(p.dtype)


def _hinge_labels(y):
    return 2.0 * y - 1.0 if np.all((y == 0) | (y == 1)) else y


class Hinge(Loss):
    name = "hinge"
    power = 1

    def per_sample(self, y_true, y_pred):
        y, p = self._check(y_true, y_pred)
        y = _hinge_labels(y)
        m = np.maximum(1.0 - y * p, 0.0)
        d = -y * (m > 0) * (self.power * m ** (self.power - 1))
        return (m**self.power).mean(axis=-1), (d / p.shape[-1]).astype(p.dtype)


class SquaredHinge(Hinge):
    name = "squared_hinge"
    power = 2


LOSSES = {
    c.__name__: c
    for c in (
        MeanSquaredError,
        MeanAbsoluteError,
        Huber,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        CTCLoss,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        LogCosh,
        Poisson,
        KLDivergence,
        Hinge,
        SquaredHinge,
    )
}
_ALIASES: dict[str, type[Loss]] = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "ctc": CTCLoss,
    "mape": MeanAbsolutePercentageError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "log_cosh": LogCosh,
    "logcosh": LogCosh,
    "poisson": Poisson,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
}


def get(identifier) -> Loss:
    """A loss name ('mse', 'categorical_crossentropy', …) or a Loss instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _ALIASES:
        return _ALIASES[identifier.lower()]()
    raise ValueError(f"loss must be one of {sorted(_ALIASES)} or a Loss, got {identifier!r}")
