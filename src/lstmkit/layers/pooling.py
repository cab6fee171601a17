"""Pooling over time (channels last, as Keras' default).

    MaxPooling1D / AveragePooling1D(pool_size=2, strides=pool_size, padding)
    GlobalAveragePooling1D   y = Σ_t m_t x_t / Σ_t m_t       (m = 1 without a mask)
    GlobalMaxPooling1D       y_c = max_t x_{t,c}             (∂y/∂x: 1 at the first arg-max)
    AttentionPooling1D       u_t = tanh(x_t · W + b),  e_t = u_t · v,  α = softmax over
                             unmasked t,  y = Σ_t α_t x_t    (W (C, A), b (A,), v (A,))

Masks, as Keras: the windowed poolings drop a mask; GlobalAveragePooling1D leaves the
masked steps out; GlobalMaxPooling1D *ignores* the mask (Keras 3 does: a padded step
can win the max). ``GlobalMaxPooling1D(use_mask=True)`` is an lstmkit extension (not a
Keras argument) that takes the max over the real steps only, as the classify recipe
needs. AttentionPooling1D is lstmkit's own layer (Keras has none) and honours the mask.
A sequence whose every step is masked pools to zeros (Keras' average gives 0/0 = NaN).
No mask leaves a global pooling (the time axis is gone).
"""

from __future__ import annotations

import numpy as np

from .base import Layer, check_input
from .conv import check_channels_last, positive_int, window_count, window_index, window_pads

__all__ = [
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "AttentionPooling1D",
]


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


class _Pooling1D(Layer):
    input_ndim = 2
    supports_masking = False

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kw):
        super().__init__(**kw)
        check_channels_last(self, data_format)
        self.pool_size = positive_int(self, "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else positive_int(self, "strides", strides)
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(
                f"{type(self).__name__} padding must be 'valid' or 'same', got {padding!r}"
            )

    def compute_output_shape(self, input_shape):
        B, L, C = self.with_batch(input_shape)
        n = window_count(L, self.pool_size, self.strides, 1, self.padding)
        return self.same_form(input_shape, (B, n, C))

    def _gather(self, x):
        x = np.asarray(x, self.dtype)
        if x.ndim != 3:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (batch, time, channels), "
                f"got {x.shape}"
            )
        self._ensure_built(x)
        B, L, C = x.shape
        k, s = self.pool_size, self.strides
        left, right = window_pads(L, k, s, 1, self.padding)
        L_out = window_count(L, k, s, 1, self.padding)
        if L_out < 1:
            raise ValueError(f"{type(self).__name__}: input of length {L} < pool_size {k}")
        idx = window_index(L_out, k, s, 1)  # (L_out, k) positions in the padded input
        valid = (idx >= left) & (idx < left + L)  # padded positions do not count
        src = np.clip(idx - left, 0, L - 1)
        self._shape = (x.shape, idx, valid, src)
        return x[:, src, :], valid  # (B, L_out, k, C)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
        }


class MaxPooling1D(_Pooling1D):
    type_name = "MaxPooling1D"

    def forward(self, x, training=False, mask=None):
        w, valid = self._gather(x)
        w = np.where(valid[None, :, :, None], w, -np.inf)
        self._arg = np.argmax(w, axis=2)  # (B, L_out, C)
        return np.take_along_axis(w, self._arg[:, :, None, :], axis=2)[:, :, 0, :]

    def backward(self, dy):
        shape, idx, valid, src = self._shape
        B, L_out, C = dy.shape
        dx = np.zeros(shape, self.dtype)
        pos = src[np.arange(L_out)[None, :, None], self._arg]  # (B, L_out, C) input steps
        b = np.arange(B)[:, None, None]
        c = np.arange(C)[None, None, :]
        np.add.at(dx, (b, pos, c), dy)
        return dx


class AveragePooling1D(_Pooling1D):
    """Mean of each window; with padding="same" the padded zeros do not count (Keras)."""

    type_name = "AveragePooling1D"

    def forward(self, x, training=False, mask=None):
        w, valid = self._gather(x)
        self._n = valid.sum(axis=1).astype(self.dtype)  # (L_out,) real steps per window
        return (w * valid[None, :, :, None]).sum(axis=2) / self._n[None, :, None]

    def backward(self, dy):
        shape, idx, valid, src = self._shape
        dx = np.zeros(shape, self.dtype)
        share = (dy / self._n[None, :, None])[:, :, None, :] * valid[None, :, :, None]
        # numpy's stub types a tuple index too narrowly
        np.add.at(dx, (slice(None), src), share)  # type: ignore[arg-type]
        return dx


class _GlobalPooling1D(Layer):
    input_ndim = 2

    def __init__(self, data_format=None, keepdims=False, **kw):
        super().__init__(**kw)
        check_channels_last(self, data_format)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        B, _, C = self.with_batch(input_shape)
        return self.same_form(input_shape, (B, 1, C) if self.keepdims else (B, C))

    def output_mask(self, inputs, mask):
        return None

    def _check(self, x):
        x = np.asarray(x, self.dtype)
        if x.ndim != 3:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (batch, time, channels), "
                f"got {x.shape}"
            )
        self._ensure_built(x)
        return x

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """y = Σ_t m_t·x_t / Σ_t m_t (m = 1 without a mask; no real step: 0)."""

    type_name = "GlobalAveragePooling1D"

    def forward(self, x, training=False, mask=None):
        x = self._check(x)
        m = _mask_of(mask, x)
        if m is None:
            m = np.ones(x.shape[:2], self.dtype)
        self._w = m / np.maximum(m.sum(axis=1, keepdims=True), 1)  # (B, T) weights
        y = np.einsum("bt,btc->bc", self._w, x)
        return y[:, None, :] if self.keepdims else y

    def backward(self, dy):
        dy = np.asarray(dy, self.dtype).reshape(len(self._w), -1)
        return self._w[:, :, None] * dy[:, None, :]


class GlobalMaxPooling1D(_GlobalPooling1D):
    """Max over time. Keras ignores a mask here, and so does this layer by default;
    ``use_mask=True`` (lstmkit only) takes the max over the real steps."""

    type_name = "GlobalMaxPooling1D"

    def __init__(self, data_format=None, keepdims=False, use_mask: bool = False, **kw):
        super().__init__(data_format=data_format, keepdims=keepdims, **kw)
        self.use_mask = bool(use_mask)

    def forward(self, x, training=False, mask=None):
        x = self._check(x)
        m = _mask_of(mask, x) if self.use_mask else None
        xm = x if m is None else np.where(m[:, :, None] > 0, x, -np.inf)
        self._arg = np.argmax(xm, axis=1)  # (B, C) the first arg-max of each channel
        self._T = x.shape[1]
        y = np.take_along_axis(x, self._arg[:, None, :], axis=1)[:, 0, :]  # (B, C)
        self._empty = None
        if m is not None:
            self._empty = m.sum(1) == 0  # (B,) every step masked: pools to zeros
            y[self._empty] = 0
        return y[:, None, :] if self.keepdims else y

    def backward(self, dy):
        dy = np.asarray(dy, self.dtype).reshape(self._arg.shape).copy()  # (B, C)
        if self._empty is not None:
            dy[self._empty] = 0
        B, C = dy.shape
        dx = np.zeros((B, self._T, C), self.dtype)
        np.put_along_axis(dx, self._arg[:, None, :], dy[:, None, :], axis=1)
        return dx

    def get_config(self):
        return {**super().get_config(), "use_mask": self.use_mask}


class AttentionPooling1D(Layer):
    """Additive attention over time (a learned weighted mean; see the module docstring).

    ``units`` A is the size of the scoring layer. The weights of the last forward,
    α (batch, time), are kept in ``attention_weights`` (what a picture would show)."""

    type_name = "AttentionPooling1D"
    input_ndim = 2

    def __init__(self, units: int = 32, **kw):
        super().__init__(**kw)
        self.units = positive_int(self, "units", units)
        self.attention_weights = None

    def build(self, input_shape):
        full = super().build(input_shape)
        C, A = int(full[-1]), self.units
        lim = np.sqrt(6.0 / (C + A))  # glorot uniform
        self.add_param("kernel", self.rng.uniform(-lim, lim, (C, A)))  # W
        self.add_param("bias", np.zeros(A))  # b
        self.add_param("context", self.rng.uniform(-np.sqrt(3.0 / A), np.sqrt(3.0 / A), A))  # v
        return full

    def compute_output_shape(self, input_shape):
        B, _, C = self.with_batch(input_shape)
        return self.same_form(input_shape, (B, C))

    def output_mask(self, inputs, mask):
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
