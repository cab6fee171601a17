"""GRU layer: Keras names and weight shapes, PyTorch equations and tensor names.

    z_t = σ(x_t W_xz + b_xz + h_{t-1} W_hz + b_hz)
    r_t = σ(x_t W_xr + b_xr + h_{t-1} W_hr + b_hr)
    n_t = tanh(x_t W_xn + b_xn + r_t ⊙ (h_{t-1} W_hn + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

Weights (Keras GRU with ``reset_after=True``): kernel (D, 3H), recurrent_kernel
(H, 3H), bias (2, 3H) = [input bias, recurrent bias], gate order z, r, n.
PyTorch (``torch.nn.GRU``) keeps r, z, n: ``named_tensors`` / ``load_named_tensors``
reorder the blocks and transpose.
"""

from __future__ import annotations

import numpy as np

from ..core import gru as gru_core
from .recurrent import Recurrent

# block k of PyTorch's r, z, n is block _TORCH_FROM_KERAS[k] of our z, r, n (its own inverse)
_TORCH_FROM_KERAS = (1, 0, 2)


def _swap_zr(w, H):
    """Reorder the 3H axis (the last one) between z, r, n and r, z, n."""
    return np.concatenate([w[..., k * H : (k + 1) * H] for k in _TORCH_FROM_KERAS], axis=-1)


class GRU(Recurrent):
    """Gated recurrent unit (Cho et al. 2014) in PyTorch's / Keras' ``reset_after`` form."""

    type_name = "GRU"
    n_gates = 3
    n_states = 1
    _strided_input = True  # the packed loop reads the batch-major input in place

    def _initial_bias(self):
        return np.zeros((2, 3 * self.units))  # [b_x; b_h]

    def _core_forward(self, xt, states0, mask, rmask, need_cache):
        h0 = None if states0 is None else states0[0]
        b = self.params[2]
        hs, h_T, cache = gru_core.gru_forward(
            xt, self.params[0], self.params[1], b[0], b[1], h0, mask, rmask, need_cache=need_cache
        )
        return hs, [h_T], cache

    def _core_backward(self, dhs, d_final, cache):
        # consume: da overwrites the cached gates (Recurrent.backward drops the cache)
        dx, dh0, dW_x, dW_h, db_x, db_h = gru_core.gru_backward(
            dhs, d_final[0], cache, self.params[0], self.params[1], consume=True, out=self.grads[:2]
        )
        self._store_grads(dW_x, dW_h)
        self.grads[2][0] = db_x
        self.grads[2][1] = db_h
        return dx, [dh0]

    # PyTorch names: weight_ih_l0 (3H, D), weight_hh_l0 (3H, H), bias_ih_l0, bias_hh_l0 (3H,)
    def named_tensors(self) -> dict[str, np.ndarray]:
        s, H = self.torch_suffix, self.units
        W_x, W_h, b = self.params
        return {
            f"weight_ih{s}": _swap_zr(W_x, H).T,
            f"weight_hh{s}": _swap_zr(W_h, H).T,
            f"bias_ih{s}": _swap_zr(b[0], H),
            f"bias_hh{s}": _swap_zr(b[1], H),
        }

    def load_named_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        s, H = self.torch_suffix, self.units
        names = [f"weight_ih{s}", f"weight_hh{s}", f"bias_ih{s}", f"bias_hh{s}"]
        missing = [n for n in names if n not in tensors]
        if missing:
            raise ValueError(f"{self.name}: missing tensors {missing}")
        W_ih, W_hh, b_ih, b_hh = (np.asarray(tensors[n]) for n in names)
        for n, w, want in zip(
            names,
            (W_ih, W_hh, b_ih, b_hh),
            ((3 * H, self.params[0].shape[0]), (3 * H, H), (3 * H,), (3 * H,)),
            strict=True,
        ):
            if w.shape != want:
                raise ValueError(f"{self.name}.{n} expected shape {want}, got {w.shape}")
        self.set_weights(
            [
                _swap_zr(W_ih.T, H),
                _swap_zr(W_hh.T, H),
                np.stack([_swap_zr(b_ih, H), _swap_zr(b_hh, H)]),
            ]
        )
