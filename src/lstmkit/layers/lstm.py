"""LSTM layer: Keras names, weight shapes and gate order (i, f, g, o), on the kernels of
:mod:`lstmkit.core.lstm` (tanh and σ) or the step-by-step loops of :mod:`lstmkit.core.cells`
(any other activation). Everything a recurrent layer does besides the cell (sequences,
states, masks, dropout, frozen weights) is :class:`~lstmkit.layers.recurrent.Recurrent`'s.
"""

from __future__ import annotations

import numpy as np

from ..core import cells
from ..core import lstm as lstm_core
from .recurrent import Recurrent

__all__ = ["LSTM"]


class LSTM(Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), gate order i, f, g, o::

        z_t = x_t · W_x + h_{t-1} · W_h + b
        i, f, o = σ(z_i, z_f, z_o);  g = tanh(z_g)
        c_t = f ⊙ c_{t-1} + i ⊙ g;   h_t = o ⊙ tanh(c_t)

    ``unit_forget_bias=True`` starts b_f at 1 (Jozefowicz et al. 2015), as Keras does.
    """

    type_name = "LSTM"
    n_gates = 4
    n_states = 2
    _strided_input = True

    def __init__(self, units, unit_forget_bias: bool = True, **kw):
        super().__init__(units, **kw)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _initial_bias(self):
        # Keras: [b_i, b_f, b_g, b_o] = [init(H), 1 (unit_forget_bias) or init(H), init(2H)]
        if not self.unit_forget_bias:
            return super()._initial_bias()
        init, H = self.initializers["bias_initializer"], self.units
        return np.concatenate([init((H,), self.rng), np.ones(H), init((2 * H,), self.rng)])

    def _core_forward(self, xt, states0, mask, rmask, need_cache):
        h0, c0 = (None, None) if states0 is None else states0
        if not self.fast:
            hs, final, cache = cells.lstm_forward(
                xt, self.params[0], self.params[1], self.bias, self.activation,
                self.recurrent_activation, h0, c0, mask, rmask,
            )  # fmt: skip
            return hs, final, cache
        hs, (h_T, c_T), cache = lstm_core.lstm_forward(
            xt,
            self.params[0],
            self.params[1],
            self.bias,
            h0,
            c0,
            mask,
            rmask,
            need_cache=need_cache,
            frozen=self._frozen_token(need_cache),
        )
        return hs, [h_T, c_T], cache

    def _core_backward(self, dhs, d_final, cache):
        if not self.fast:
            dx, d0, g = cells.lstm_backward(
                dhs, d_final[0], d_final[1], cache, self.params[0], self.params[1]
            )
            self._store_grads(*g)
            return dx, d0
        # consume: dz overwrites the cached activations (Recurrent.backward drops the cache)
        out = self.grads[:3] if self.use_bias else [*self.grads[:2], None]
        dx, dh0, dc0, dW_x, dW_h, db = lstm_core.lstm_backward(
            dhs,
            d_final[0],
            d_final[1],
            cache,
            self.params[0],
            self.params[1],
            consume=True,
            out=out,
        )
        self._store_grads(dW_x, dW_h, db)
        return dx, [dh0, dc0]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}
