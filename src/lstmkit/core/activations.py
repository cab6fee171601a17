"""Squashing functions shared by every cell.

σ(z) = ½·tanh(z/2) + ½ is the logistic function written through tanh: it never
overflows (np.exp(-z) does for z < -709 in float64, -88 in float32) and it lets
every gate share one transcendental. tanh saturates cleanly to ±1.

Each function has an ``out=`` form so the fast kernels can work in place.
"""

from __future__ import annotations

import numpy as np


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
