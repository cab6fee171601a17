"""Conv1D: a 1-D convolution over time, Keras' names, arguments and semantics
(channels last; ``padding`` "valid" | "same" | "causal"; kernel (k, C_in, filters)).

    y[b, t, o] = act( Σ_{j<k} Σ_c x̃[b, t·s + j·d, c] · W[j, c, o] + bias[o] )

x̃ is x padded with zeros (for "same": ⌊(k−1)d/2⌋ in front, the rest behind, as
Keras; for "causal": all (k−1)d in front). The products are one GEMM over the
unfolded input (batch·time, k·C_in) @ (k·C_in, filters); backward is the two
transposed GEMMs, and the input gradient is folded back with one add per tap.

A mask (batch, time) passes through unchanged when the output has the input's
length ("same" / "causal" with stride 1); otherwise it ends here.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, check_input
from .simple import ACTIVATION_NAMES, act_backward, act_forward

__all__ = ["Conv1D"]

PADDINGS = ("valid", "same", "causal")


class Conv1D(Layer):
    type_name = "Conv1D"

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        strides: int = 1,
        padding: str = "valid",
        dilation_rate: int = 1,
        activation=None,
        use_bias: bool = True,
        **kw,
    ):
        super().__init__(**kw)
        for nm, v in (
            ("filters", filters),
            ("kernel_size", kernel_size),
            ("strides", strides),
            ("dilation_rate", dilation_rate),
        ):
            if int(v) != v or v < 1:
                raise ValueError(f"Conv1D {nm} must be a positive integer, got {v!r}")
        if padding not in PADDINGS:
            raise ValueError(f"Conv1D padding must be one of {PADDINGS}, got {padding!r}")
        if strides > 1 and dilation_rate > 1:
            raise ValueError("Conv1D: strides > 1 together with dilation_rate > 1 is not supported")
        self.filters, self.kernel_size = int(filters), int(kernel_size)
        self.strides, self.dilation_rate = int(strides), int(dilation_rate)
        self.padding = padding
        activation = "linear" if activation is None else activation
        if activation not in ACTIVATION_NAMES:
            raise ValueError(f"activation must be one of {ACTIVATION_NAMES}, got {activation!r}")
        self.activation = activation
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"Conv1D expected input of shape (batch, time, channels), "
                f"got (batch, {', '.join(map(str, input_shape))})"
            )
        super().build(input_shape)
        C, k, Co = int(input_shape[-1]), self.kernel_size, self.filters
        lim = np.sqrt(6.0 / (k * C + k * Co))  # glorot uniform over fan-in / fan-out, as Keras
        self._add_param("kernel", self.rng.uniform(-lim, lim, (k, C, Co)))
        if self.use_bias:
            self._add_param("bias", np.zeros(Co))

    def _pads(self, T: int) -> tuple[int, int]:
        """Zeros (in front, behind) for an input of T steps (Keras' rule for "same":
        the output has ⌈T / strides⌉ steps, the odd one of the padding goes behind)."""
        span = (self.kernel_size - 1) * self.dilation_rate
        if self.padding == "valid":
            return 0, 0
        if self.padding == "causal":
            return span, 0
        total = max((-(-T // self.strides) - 1) * self.strides + span + 1 - T, 0)
        return total // 2, total - total // 2

    def _out_len(self, T: int) -> int:
        front, back = self._pads(T)
        span = (self.kernel_size - 1) * self.dilation_rate
        return max(0, (T + front + back - span - 1) // self.strides + 1)

    def compute_output_shape(self, input_shape):
        T = input_shape[0]
        return (None if T is None else self._out_len(int(T)), self.filters)

    def compute_mask(self, mask, x=None):
        if mask is None or self.padding == "valid" or self.strides != 1:
            return None
        return mask

    def forward(self, x, training=False, mask=None):
        x = check_input(self, x, 3, "batch, time")
        self._ensure_built(x)
        B, T, C = x.shape
        k, s, d = self.kernel_size, self.strides, self.dilation_rate
        front, back = self._pads(T)
        To = self._out_len(T)
        if To < 1:
            raise ValueError(
                f"Conv1D with kernel_size {k} (dilation {d}) expected at least "
                f"{(k - 1) * d + 1} time steps with padding={self.padding!r}, got {T}"
            )
        xp = np.pad(x, ((0, 0), (front, back), (0, 0))) if front or back else x  # (B, Tp, C)
        cols = np.empty((B, To, k, C), x.dtype)  # the unfolded input
        for j in range(k):
            cols[:, :, j] = xp[:, j * d : j * d + (To - 1) * s + 1 : s]
        self._cols, self._shape = cols, (B, T, C, xp.shape[1])
        z = cols.reshape(B * To, k * C) @ self.params[0].reshape(k * C, self.filters)
        if self.use_bias:
            z += self.params[1]
        self._z = z.reshape(B, To, self.filters)
        self._a = act_forward(self.activation, self._z)
        return self._a

    def backward(self, dy):
        dz = act_backward(self.activation, self._a, self._z, np.asarray(dy, self.dtype))
        B, T, C, Tp = self._shape
        k, s, d, Co = self.kernel_size, self.strides, self.dilation_rate, self.filters
        To = dz.shape[1]
        dz2 = dz.reshape(B * To, Co)
        self.grads[0][...] = (self._cols.reshape(B * To, k * C).T @ dz2).reshape(k, C, Co)  # dW
        if self.use_bias:
            self.grads[1][...] = dz2.sum(0)  # db
        dcols = (dz2 @ self.params[0].reshape(k * C, Co).T).reshape(B, To, k, C)
        dxp = np.zeros((B, Tp, C), self.dtype)
        for j in range(k):  # fold the taps back onto the input steps they read
            dxp[:, j * d : j * d + (To - 1) * s + 1 : s] += dcols[:, :, j]
        front, _ = self._pads(T)
        return dxp[:, front : front + T]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
            "activation": self.activation,
            "use_bias": self.use_bias,
        }
