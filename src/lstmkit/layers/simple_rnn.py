"""SimpleRNN layer (Elman network), the baseline the LSTM is compared with.

    h_t = tanh(x_t · W_x + h_{t-1} · W_h + b)

Weights in Keras shapes: kernel (D, H), recurrent_kernel (H, H), bias (H,).
PyTorch names are those of ``torch.nn.RNN(nonlinearity="tanh")``; its two biases
are summed on import (``bias_hh`` is written as zeros), as for the LSTM.
"""

from __future__ import annotations

from ..core import rnn as rnn_core
from .recurrent import Recurrent


class SimpleRNN(Recurrent):
    """Fully connected recurrent layer with a tanh activation."""

    type_name = "SimpleRNN"
    n_gates = 1
    n_states = 1

    def _core_forward(self, xt, states0, mask, rmask, need_cache):
        h0 = None if states0 is None else states0[0]
        hs, h_T, cache = rnn_core.rnn_forward(
            xt,
            self.params[0],
            self.params[1],
            self.params[2],
            h0,
            mask,
            rmask,
            need_cache=need_cache,
        )
        return hs, [h_T], cache

    def _core_backward(self, dhs, d_final, cache):
        dx, dh0, dW_x, dW_h, db = rnn_core.rnn_backward(
            dhs, d_final[0], cache, self.params[0], self.params[1]
        )
        self.grads[0][...] = dW_x
        self.grads[1][...] = dW_h
        self.grads[2][...] = db
        return dx, [dh0]
