"""Pooling over time: a whole sequence (batch, time, channels) → one vector (batch, channels).

Keras' names and arguments (``GlobalAveragePooling1D``, ``GlobalMaxPooling1D``, with
``keepdims``; data are channels-last), plus ``AttentionPooling1D`` (lstmkit's own: Keras
has no such layer). Each honours the mask the layer before hands on (e.g. a ``Masking``
or ``Embedding(mask_zero=True)`` under an LSTM with ``return_sequences``): masked steps
take no part, and no mask leaves the layer (the time axis is gone). A sequence whose
every step is masked pools to zeros.

    average    y = Σ_t m_t x_t / Σ_t m_t
    max        y_c = max_{t: m_t} x_{t,c}        (∂y/∂x: 1 at the first arg-max, else 0)
    attention  u_t = tanh(x_t · W + b),  e_t = u_t · v,  α = softmax over unmasked t,
               y = Σ_t α_t x_t                   (W (C, A), b (A,), v (A,))

Keras 3 lets ``GlobalMaxPooling1D`` ignore a mask; here it is honoured (a padded step
must not win the max), so the two agree wherever no mask is given.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, check_input

__all__ = ["GlobalAveragePooling1D", "GlobalMaxPooling1D", "AttentionPooling1D"]


def _mask_of(mask, x) -> np.ndarray | None:
    """The (batch, time) mask as x's dtype (1 = a real step), or None."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != x.shape[:2]:
        raise ValueError(
            f"expected a mask of shape (batch, time) = {x.shape[:2]}, got {mask.shape}"
        )
    return mask.astype(x.dtype)


class _GlobalPooling1D(Layer):
    def __init__(self, data_format: str = "channels_last", keepdims: bool = False, **kw):
        super().__init__(**kw)
        if data_format != "channels_last":
            raise ValueError(f"data_format must be 'channels_last', got {data_format!r}")
        self.data_format = data_format
        self.keepdims = bool(keepdims)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (batch, time, channels), "
                f"got (batch, {', '.join(map(str, input_shape))})"
            )
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        C = input_shape[-1]
        return (1, C) if self.keepdims else (C,)

    def compute_mask(self, mask, x=None):
        return None

    def _shape_out(self, y):  # (B, C) → (B, 1, C) with keepdims
        return y[:, None, :] if self.keepdims else y

    def _shape_dy(self, dy):
        dy = np.asarray(dy, self.dtype)
        return dy[:, 0, :] if self.keepdims else dy

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    type_name = "GlobalAveragePooling1D"

    def forward(self, x, training=False, mask=None):
        x = check_input(self, x, 3, "batch, time")
        self._ensure_built(x)
        m = _mask_of(mask, x)
        B, T, C = x.shape
        if m is None:
            self._w = np.full((B, T), 1.0 / T, x.dtype)  # the weight of each step
        else:
            n = m.sum(1, keepdims=True)  # (B, 1) real steps per sequence
            self._w = m / np.maximum(n, 1)
        y = np.einsum("bt,btc->bc", self._w, x)  # (B, C)
        return self._shape_out(y)

    def backward(self, dy):
        dy = self._shape_dy(dy)  # (B, C)
        return self._w[:, :, None] * dy[:, None, :]  # (B, T, C)


class GlobalMaxPooling1D(_GlobalPooling1D):
    type_name = "GlobalMaxPooling1D"

    def forward(self, x, training=False, mask=None):
        x = check_input(self, x, 3, "batch, time")
        self._ensure_built(x)
        m = _mask_of(mask, x)
        xm = x if m is None else np.where(m[:, :, None] > 0, x, -np.inf)
        self._arg = np.argmax(xm, axis=1)  # (B, C) the first arg-max of each channel
        y = np.take_along_axis(x, self._arg[:, None, :], axis=1)[:, 0, :]  # (B, C)
        self._empty = None
        if m is not None:
            self._empty = m.sum(1) == 0  # (B,) every step masked: pools to zeros
            y[self._empty] = 0
        self._shape_x = x.shape
        return self._shape_out(y)

    def backward(self, dy):
        dy = self._shape_dy(dy).copy()  # (B, C)
        if self._empty is not None:
            dy[self._empty] = 0
        dx = np.zeros(self._shape_x, self.dtype)  # (B, T, C)
        np.put_along_axis(dx, self._arg[:, None, :], dy[:, None, :], axis=1)
        return dx


class AttentionPooling1D(Layer):
    """Additive attention over time (a learned weighted mean; see the module docstring).

    ``units`` A is the size of the scoring layer. The weights of the last forward,
    α (batch, time), are kept in ``attention_weights`` (what a picture would show)."""

    type_name = "AttentionPooling1D"

    def __init__(self, units: int = 32, **kw):
        super().__init__(**kw)
        if int(units) != units or units < 1:
            raise ValueError(f"AttentionPooling1D units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.attention_weights = None

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"AttentionPooling1D expected input of shape (batch, time, channels), "
                f"got (batch, {', '.join(map(str, input_shape))})"
            )
        super().build(input_shape)
        C, A = int(input_shape[-1]), self.units
        lim = np.sqrt(6.0 / (C + A))  # glorot uniform
        self._add_param("kernel", self.rng.uniform(-lim, lim, (C, A)))  # W
        self._add_param("bias", np.zeros(A))  # b
        self._add_param("context", self.rng.uniform(-np.sqrt(3.0 / A), np.sqrt(3.0 / A), A))  # v

    def compute_output_shape(self, input_shape):
        return (input_shape[-1],)

    def compute_mask(self, mask, x=None):
        return None

    def forward(self, x, training=False, mask=None):
        x = check_input(self, x, 3, "batch, time")
        self._ensure_built(x)
        W, b, v = self.params
        m = _mask_of(mask, x)
        u = np.tanh(x @ W + b)  # (B, T, A)
        e = u @ v  # (B, T) scores
        if m is not None:
            e = np.where(m > 0, e, -np.inf)
        e_max = np.max(e, axis=1, keepdims=True)
        e_max = np.where(np.isfinite(e_max), e_max, 0.0)
        a = np.exp(e - e_max)  # masked steps: exp(−inf) = 0
        s = a.sum(1, keepdims=True)
        alpha = a / np.where(s > 0, s, 1.0)  # (B, T); all masked → zeros
        self._x, self._u, self._alpha = x, u, alpha
        self.attention_weights = alpha
        return np.einsum("bt,btc->bc", alpha, x)  # (B, C)

    def backward(self, dy):
        dy = np.asarray(dy, self.dtype)  # (B, C)
        x, u, alpha = self._x, self._u, self._alpha
        W, b, v = self.params
        d_alpha = np.einsum("bc,btc->bt", dy, x)  # ∂L/∂α_t = dy · x_t
        de = alpha * (d_alpha - (alpha * d_alpha).sum(1, keepdims=True))  # softmax backward
        du = de[:, :, None] * v  # (B, T, A)
        da = du * (1 - u * u)  # through tanh
        A = self.units
        self.grads[0][...] = x.reshape(-1, x.shape[-1]).T @ da.reshape(-1, A)  # dW
        self.grads[1][...] = da.reshape(-1, A).sum(0)  # db
        self.grads[2][...] = np.einsum("bt,bta->a", de, u)  # dv
        return alpha[:, :, None] * dy[:, None, :] + da @ W.T  # (B, T, C)

    def get_config(self):
        return {**super().get_config(), "units": self.units}
