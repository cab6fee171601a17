"""SimpleRNN layer (Elman network), the baseline the LSTM is compared with.

    h_t = tanh(x_t · W_x + h_{t-1} · W_h + b)

Weights in Keras shapes: kernel (D, H), recurrent_kernel (H, H), bias (H,).
PyTorch names are those of ``torch.nn.RNN(nonlinearity="tanh")``; its two biases
are summed on import (``bias_hh`` is written as zeros), as for the LSTM.
"""

from __future__ import annotations

from ..core import cells
from ..core import rnn as rnn_core
from .recurrent import Recurrent

__all__ = ["SimpleRNN"]


class SimpleRNN(Recurrent):
    """Fully connected recurrent layer, h_t = a(x_t · W_x + h_{t-1} · W_h + b), a = tanh
    by default (Keras' ``activation=``; SimpleRNN has no recurrent activation)."""

    type_name = "SimpleRNN"
    n_gates = 1
    n_states = 1

    def __init__(self, units, activation="tanh", **kw):
        if "recurrent_activation" in kw:
            raise TypeError(
                "SimpleRNN got unexpected argument 'recurrent_activation' (SimpleRNN has "
                "one activation, activation=)"
            )
        super().__init__(units, activation=activation, **kw)

    @property
    def fast(self) -> bool:
        return self.activation == "tanh"

    def _core_forward(self, xt, states0, mask, rmask, need_cache):
        h0 = None if states0 is None else states0[0]
        if not self.fast:
            W_x, W_h = self.params[0], self.params[1]
            return cells.rnn_forward(xt, W_x, W_h, self.bias, self.activation, h0, mask, rmask)
        hs, h_T, cache = rnn_core.rnn_forward(
            xt,
            self.params[0],
            self.params[1],
            self.bias,
            h0,
            mask,
            rmask,
            need_cache=need_cache,
        )
        return hs, [h_T], cache

    def _core_backward(self, dhs, d_final, cache):
        if not self.fast:
            dx, d0, g = cells.rnn_backward(dhs, d_final[0], cache, self.params[0], self.params[1])
            self._store_grads(*g)
            return dx, d0
        dx, dh0, dW_x, dW_h, db = rnn_core.rnn_backward(
            dhs, d_final[0], cache, self.params[0], self.params[1]
        )
        self._store_grads(dW_x, dW_h, db)
        return dx, [dh0]
