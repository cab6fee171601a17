"""Weight regularizers and constraints with Keras' names, defaults and formulas.

A regularizer R adds R(W) to the training loss (Keras adds every layer's penalties to
the loss it reports, in ``fit`` and ``evaluate``), so training adds ∂R/∂W to the gradient:

    L1(l1=0.01)            R = l1·Σ|W|                ∂R/∂W = l1·sign(W)
    L2(l2=0.01)            R = l2·ΣW²                 ∂R/∂W = 2·l2·W
    L1L2(l1=0.0, l2=0.0)   both                        (strings "l1", "l2", "l1_l2")

A constraint is applied to a weight after every optimizer step (W ← C(W)); norms are
taken along ``axis`` (0: each output unit's incoming weights), ε = 1e-7 as Keras:

    NonNeg                 W ⊙ [W ≥ 0]
    MaxNorm(2, axis=0)     W · clip(‖W‖, 0, m) / (ε + ‖W‖)
    UnitNorm(axis=0)       W / (ε + ‖W‖)
    MinMaxNorm(0, 1, rate=1, axis=0)   W · (rate·clip(‖W‖, lo, hi) + (1 − rate)·‖W‖) / (ε + ‖W‖)

Saved configs hold them as spec strings (``"L2(l2=0.01)"``, see :mod:`.initializers`).
"""

from __future__ import annotations

import numpy as np

from .initializers import parse_spec, snake, to_spec

__all__ = [
    "EPSILON",
    "Regularizer",
    "L1L2",
    "L1",
    "L2",
    "REGULARIZERS",
    "Constraint",
    "NonNeg",
    "MaxNorm",
    "UnitNorm",
    "MinMaxNorm",
    "CONSTRAINTS",
    "get_regularizer",
    "get_constraint",
    "config_value",
]

EPSILON = 1e-7


class Regularizer:
    def __call__(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def gradient(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(self.__dict__)

    def __repr__(self):
        return to_spec(self)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = 0.0 if l1 is None else float(l1)
        self.l2 = 0.0 if l2 is None else float(l2)

    def __call__(self, w):
        return float(self.l1 * np.abs(w).sum() + self.l2 * np.square(w).sum())

    def gradient(self, w):
        return (self.l1 * np.sign(w) + 2.0 * self.l2 * w).astype(w.dtype, copy=False)


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=0.01 if l1 is None else l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}


REGULARIZERS = {c.__name__: c for c in (L1, L2, L1L2)}
_REG_STRINGS = {"l1": L1, "l2": L2, "l1_l2": L1L2}


class Constraint:
    def __call__(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(self.__dict__)

    def __repr__(self):
        return to_spec(self)


class NonNeg(Constraint):
    def __call__(self, w):
        return w * (w >= 0)


class _Norm(Constraint):
    axis: int

    def _norms(self, w):
        return np.sqrt(np.sum(w * w, axis=self.axis, keepdims=True))


class MaxNorm(_Norm):
    def __init__(self, max_value=2.0, axis=0):
        self.max_value, self.axis = float(max_value), int(axis)

    def __call__(self, w):
        n = self._norms(w)
        return w * (np.clip(n, 0, self.max_value) / (EPSILON + n))


class UnitNorm(_Norm):
    def __init__(self, axis=0):
        self.axis = int(axis)

    def __call__(self, w):
        return w / (EPSILON + self._norms(w))


class MinMaxNorm(_Norm):
    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value = float(min_value), float(max_value)
        self.rate, self.axis = float(rate), int(axis)

    def __call__(self, w):
        n = self._norms(w)
        want = self.rate * np.clip(n, self.min_value, self.max_value) + (1 - self.rate) * n
        return w * (want / (EPSILON + n))


CONSTRAINTS = {c.__name__: c for c in (NonNeg, MaxNorm, UnitNorm, MinMaxNorm)}
_CON_STRINGS = {snake(n): c for n, c in CONSTRAINTS.items()}


def _get(identifier, base, table, strings, where):
    if identifier is None or isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip()
        if key in strings:
            return strings[key]()
        if key in table:
            return table[key]()
        if "(" in key:
            return parse_spec(key, table, where)
    raise ValueError(
        f"{where} must be None, one of {sorted(strings)} or an lstmkit "
        f"{base.__name__.lower()} ({', '.join(sorted(table))}), got {identifier!r}"
    )


def get_regularizer(identifier, where: str = "regularizer") -> Regularizer | None:
    """None, "l1" / "l2" / "l1_l2", a spec string or a Regularizer."""
    return _get(identifier, Regularizer, REGULARIZERS, _REG_STRINGS, where)


def get_constraint(identifier, where: str = "constraint") -> Constraint | None:
    """None, "non_neg" / "max_norm" / "unit_norm" / "min_max_norm", a spec or a Constraint."""
    return _get(identifier, Constraint, CONSTRAINTS, _CON_STRINGS, where)


def config_value(obj):
    """What a layer config stores: None or a spec string."""
    return None if obj is None else to_spec(obj)
