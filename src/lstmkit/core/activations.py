"""Squashing functions shared by every cell.

σ(z) = ½·tanh(z/2) + ½ is the logistic function written through tanh: it never
overflows (np.exp(-z) does for z < -709 in float64, -88 in float32) and it lets
every gate share one transcendental. tanh saturates cleanly to ±1.

Each function has an ``out=`` form so the fast kernels can work in place.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "sigmoid",
    "tanh",
    "relu",
    "linear",
    "softmax",
    "dsigmoid_from_output",
    "dtanh_from_output",
    "ACTIVATIONS",
    "ALIASES",
    "ACTIVATION_NAMES",
    "canonical_activation",
    "activation_forward",
    "activation_backward",
]


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(z) = 1 / (1 + e^{-z}) computed as ½·tanh(z/2) + ½ (no overflow)."""
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def tanh(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.tanh(z, out=out)


def relu(z, out=None):
    return np.maximum(z, 0, out=out)


def linear(z, out=None):
    if out is None:
        return z
    out[...] = z
    return out


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax over ``axis``, shifted by the max so exp never overflows."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# Derivatives written in terms of the activation's *output* a = f(z), which is
# what the kernels keep from the forward pass.
def dsigmoid_from_output(a):
    return a * (1 - a)


def dtanh_from_output(a):
    return 1 - a * a


ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "linear": linear,
    None: linear,
}


# ---------------------------------------------------------------- by name (Keras' names)
# Every activation a layer can name, as a pair (forward f(z), backward: dL/dz from z, a = f(z)
# and dL/da). The names, defaults and formulas are Keras 3's (keras.activations):
#
#   relu max(z, 0)       relu6 min(max(z, 0), 6)      leaky_relu z if z > 0 else 0.2·z
#   elu  z if z > 0 else eᶻ − 1        selu λ·elu_α(z), λ = 1.0507…, α = 1.6733…
#   celu max(z, 0) + min(eᶻ − 1, 0)    gelu ½z(1 + erf(z/√2))   (exact, not the tanh form)
#   softplus log(1 + eᶻ)   softsign z / (1 + |z|)   silu = swish z·σ(z)   mish z·tanh(softplus z)
#   hard_sigmoid relu6(z + 3)/6        hard_silu = hard_swish z·hard_sigmoid(z)
#   hard_tanh clip(z, −1, 1)   tanh_shrink z − tanh z   log_sigmoid −softplus(−z)
#   exponential eᶻ   soft_shrink sign(z)·max(|z| − ½, 0)   hard_shrink z·[|z| > ½]
#   sparse_plus 0 | (z + 1)²/4 | z   sparse_sigmoid 0 | (z + 1)/2 | 1
#                                              (for z ≤ −1 | |z| < 1 | z ≥ 1)
#   squareplus (z + √(z² + 4))/2     softmax, log_softmax over the last axis
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _softplus(z):
    return np.logaddexp(0, z).astype(z.dtype, copy=False)


def _gelu(z):
    return (0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))).astype(z.dtype, copy=False)


def _dgelu(z):
    cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
    return (cdf + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)).astype(z.dtype, copy=False)


def _log_softmax(z):
    s = z - z.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def _elementwise(f, df):
    """(forward, backward) of an element-wise activation with derivative df(z, a)."""
    return f, lambda z, a, dy: dy * df(z, a)


_TABLE = {
    "linear": (lambda z: z, lambda z, a, dy: dy),
    "relu": _elementwise(lambda z: np.maximum(z, 0), lambda z, a: z > 0),
    "relu6": _elementwise(lambda z: np.clip(z, 0, 6), lambda z, a: (z > 0) & (z < 6)),
    "leaky_relu": _elementwise(
        lambda z: np.where(z > 0, z, 0.2 * z), lambda z, a: np.where(z > 0, 1.0, 0.2)
    ),
    "elu": _elementwise(
        lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
        lambda z, a: np.where(z > 0, 1.0, a + 1.0),
    ),
    "selu": _elementwise(
        lambda z: _SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0))),
        lambda z, a: np.where(z > 0, _SELU_SCALE, a + _SELU_SCALE * _SELU_ALPHA),
    ),
    "celu": _elementwise(
        lambda z: np.maximum(z, 0) + np.minimum(np.expm1(np.minimum(z, 0)), 0),
        lambda z, a: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0))),
    ),
    "gelu": _elementwise(_gelu, lambda z, a: _dgelu(z)),
    "sigmoid": _elementwise(sigmoid, lambda z, a: a * (1 - a)),
    "hard_sigmoid": _elementwise(
        lambda z: np.clip(z / 6 + 0.5, 0, 1), lambda z, a: ((z > -3) & (z < 3)) / 6.0
    ),
    "hard_silu": _elementwise(
        lambda z: z * np.clip(z / 6 + 0.5, 0, 1),
        lambda z, a: np.where(z <= -3, 0.0, np.where(z >= 3, 1.0, z / 3 + 0.5)),
    ),
    "tanh": _elementwise(np.tanh, lambda z, a: 1 - a * a),
    "hard_tanh": _elementwise(lambda z: np.clip(z, -1, 1), lambda z, a: (z > -1) & (z < 1)),
    "tanh_shrink": _elementwise(lambda z: z - np.tanh(z), lambda z, a: np.tanh(z) ** 2),
    "softplus": _elementwise(_softplus, lambda z, a: sigmoid(z)),
    "softsign": _elementwise(lambda z: z / (1 + np.abs(z)), lambda z, a: 1 / (1 + np.abs(z)) ** 2),
    "silu": _elementwise(
        lambda z: z * sigmoid(z), lambda z, a: sigmoid(z) * (1 + z * (1 - sigmoid(z)))
    ),
    "mish": _elementwise(
        lambda z: z * np.tanh(_softplus(z)),
        lambda z, a: np.tanh(_softplus(z)) + z * sigmoid(z) * (1 - np.tanh(_softplus(z)) ** 2),
    ),
    "exponential": _elementwise(np.exp, lambda z, a: a),
    "log_sigmoid": _elementwise(lambda z: -_softplus(-z), lambda z, a: sigmoid(-z)),
    "soft_shrink": _elementwise(
        lambda z: np.sign(z) * np.maximum(np.abs(z) - 0.5, 0), lambda z, a: np.abs(z) > 0.5
    ),
    "hard_shrink": _elementwise(lambda z: z * (np.abs(z) > 0.5), lambda z, a: np.abs(z) > 0.5),
    "sparse_plus": _elementwise(
        lambda z: np.where(z <= -1, 0.0, np.where(z >= 1, z, (z + 1) ** 2 / 4)),
        lambda z, a: np.where(z <= -1, 0.0, np.where(z >= 1, 1.0, (z + 1) / 2)),
    ),
    "sparse_sigmoid": _elementwise(
        lambda z: np.clip((z + 1) / 2, 0, 1), lambda z, a: ((z > -1) & (z < 1)) / 2.0
    ),
    "squareplus": _elementwise(
        lambda z: (z + np.sqrt(z * z + 4)) / 2, lambda z, a: (1 + z / np.sqrt(z * z + 4)) / 2
    ),
    # softmax: dz = a ⊙ (dy − Σ dy ⊙ a);  log_softmax: dz = dy − softmax(z)·Σ dy
    "softmax": (
        lambda z: softmax(z, axis=-1),
        lambda z, a, dy: a * (dy - (dy * a).sum(axis=-1, keepdims=True)),
    ),
    "log_softmax": (
        _log_softmax,
        lambda z, a, dy: dy - np.exp(a) * dy.sum(axis=-1, keepdims=True),
    ),
}
#: Keras' other names for the same functions
ALIASES = {"swish": "silu", "hard_swish": "hard_silu", None: "linear"}
#: every activation name a layer accepts
ACTIVATION_NAMES = tuple(sorted(_TABLE)) + tuple(k for k in ALIASES if k is not None)


def canonical_activation(name):
    """An accepted activation name → the canonical one ('swish' → 'silu', None → 'linear');
    raises ValueError listing what is accepted."""
    key = ALIASES.get(name, name)
    if not isinstance(key, str) or key not in _TABLE:
        raise ValueError(f"activation must be one of {sorted(ACTIVATION_NAMES)}, got {name!r}")
    return key


def activation_forward(name: str, z: np.ndarray) -> np.ndarray:
    """a = f(z) for a canonical activation name, in z's dtype."""
    return np.asarray(_TABLE[name][0](z), dtype=z.dtype)


def activation_backward(name: str, z: np.ndarray, a: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dL/dz from dL/da, where a = f(z)."""
    return np.asarray(_TABLE[name][1](z, a, dy), dtype=z.dtype)
