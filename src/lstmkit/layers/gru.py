"""GRU layer: Keras names and weight shapes, PyTorch equations and tensor names.

    z_t = σ(x_t W_xz + b_xz + h_{t-1} W_hz + b_hz)
    r_t = σ(x_t W_xr + b_xr + h_{t-1} W_hr + b_hr)
    n_t = tanh(x_t W_xn + b_xn + r_t ⊙ (h_{t-1} W_hn + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

Weights (Keras GRU with ``reset_after=True``): kernel (D, 3H), recurrent_kernel
(H, 3H), bias (2, 3H) = [input bias, recurrent bias], gate order z, r, n.
PyTorch (``torch.nn.GRU``) keeps r, z, n: ``named_tensors`` / ``load_named_tensors``
reorder the blocks and transpose.

``reset_after=False`` (Keras 2's default, Cho et al.'s original) applies r before the
recurrent product, n = a(x W_xn + b_n + (r ⊙ h_{t-1}) W_hn), with one bias (3H,); it
runs the step-by-step loop of :mod:`lstmkit.core.cells` and has no PyTorch
counterpart (its file tensors are written as bias_ih = b, bias_hh = 0).
"""

from __future__ import annotations

import numpy as np

from ..core import cells
from ..core import gru as gru_core
from .recurrent import Recurrent

__all__ = ["GRU"]

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

    def __init__(self, units, reset_after: bool = True, **kw):
        super().__init__(units, **kw)
        self.reset_after = bool(reset_after)

    @property
    def fast(self) -> bool:
        return self.reset_after and super().fast

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _initial_bias(self):
        return self.initializers["bias_initializer"](self._bias_shape(), self.rng)  # [b_x; b_h]

    def _biases(self):
        b = self.bias
        return (b[0], b[1]) if self.reset_after else (b, np.zeros_like(b))

    def _core_forward(self, xt, states0, mask, rmask, need_cache):
        h0 = None if states0 is None else states0[0]
        b = self._biases()
        if not self.fast:
            W_x, W_h = self.params[0], self.params[1]
            act, ract = self.activation, self.recurrent_activation
            return cells.gru_forward(
                xt, W_x, W_h, b[0], b[1], act, ract, self.reset_after, h0, mask, rmask
            )
        hs, h_T, cache = gru_core.gru_forward(
            xt, self.params[0], self.params[1], b[0], b[1], h0, mask, rmask,
            need_cache=need_cache, frozen=self._frozen_token(need_cache),
        )  # fmt: skip
        return hs, [h_T], cache

    def _core_backward(self, dhs, d_final, cache):
        if not self.fast:
            dx, d0, (dW_x, dW_h, db_x, db_h) = cells.gru_backward(
                dhs, d_final[0], cache, self.params[0], self.params[1]
            )
        else:  # consume: da overwrites the cached gates (Recurrent.backward drops the cache)
            dx, dh0, dW_x, dW_h, db_x, db_h = gru_core.gru_backward(
                dhs,
                d_final[0],
                cache,
                self.params[0],
                self.params[1],
                consume=True,
                out=self.grads[:2],
            )
            d0 = [dh0]
        self._store_grads(dW_x, dW_h)
        if self.use_bias and self.reset_after:
            self.grads[2][0] = db_x
            self.grads[2][1] = db_h
        elif self.use_bias:
            self.grads[2][...] = db_x
        return dx, d0

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}

    # PyTorch names: weight_ih_l0 (3H, D), weight_hh_l0 (3H, H), bias_ih_l0, bias_hh_l0 (3H,)
    def named_tensors(self) -> dict[str, np.ndarray]:
        s, H = self.torch_suffix, self.units
        W_x, W_h = self.params[:2]
        out = {f"weight_ih{s}": _swap_zr(W_x, H).T, f"weight_hh{s}": _swap_zr(W_h, H).T}
        if self.use_bias:
            b_x, b_h = self._biases()
            out[f"bias_ih{s}"] = _swap_zr(b_x, H)
            out[f"bias_hh{s}"] = _swap_zr(b_h, H)
        return out

    def load_named_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        s, H = self.torch_suffix, self.units
        names = [f"weight_ih{s}", f"weight_hh{s}"]
        names += [f"bias_ih{s}", f"bias_hh{s}"] if self.use_bias else []
        missing = [n for n in names if n not in tensors]
        if missing:
            raise ValueError(f"{self.name}: missing tensors {missing}")
        ws = [np.asarray(tensors[n]) for n in names]
        wants = [(3 * H, self.params[0].shape[0]), (3 * H, H), (3 * H,), (3 * H,)]
        for n, w, want in zip(names, ws, wants, strict=False):
            if w.shape != want:
                raise ValueError(f"{self.name}.{n} expected shape {want}, got {w.shape}")
        out = [_swap_zr(ws[0].T, H), _swap_zr(ws[1].T, H)]
        if self.use_bias:
            b_x, b_h = _swap_zr(ws[2], H), _swap_zr(ws[3], H)
            out.append(np.stack([b_x, b_h]) if self.reset_after else b_x + b_h)
        self.set_weights(out)
