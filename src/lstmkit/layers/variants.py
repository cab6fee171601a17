"""LSTM variants as layers: usable wherever LSTM is (Sequential, Bidirectional, masks,
dropout, go_backwards, stateful, return_state, saving through LAYER_TYPES).

    PeepholeLSTM   gates see the cell (Gers & Schmidhuber 2000)
    CIFGLSTM       coupled input-forget gate, f = 1 − i (Greff et al. 2017)
    LayerNormLSTM  layer-normalised products and cell (Ba et al. 2016)
    LSTMP          projected h, = torch.nn.LSTM(proj_size=…) (Sak et al. 2014)
    ZoneoutLSTM    units randomly keep their previous value in training (Krueger et al. 2017)
    SLSTM          exponential gating, normaliser and stabiliser states (xLSTM, Beck et al. 2024)

The math is in :mod:`lstmkit.core.variants`, :mod:`lstmkit.core.lnlstm` and
:mod:`lstmkit.core.slstm`, one step at a time (readable, not the fused fast path
of :class:`lstmkit.layers.LSTM`). Weights: ``kernel`` (D, G·H), ``recurrent_kernel``,
``bias`` as in LSTM, then the variant's own (listed in ``extra``). PyTorch-style
names: ``weight_ih_l0`` … plus e.g. ``weight_hr_l0`` (LSTMP, PyTorch's name) or
``peephole_l0``, ``ln_x_gamma_l0`` (no PyTorch counterpart).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import lnlstm, slstm
from ..core import variants as vcore
from .base import Layer
from .recurrent import Recurrent, glorot_uniform, orthogonal

__all__ = [
    "PeepholeLSTM",
    "CIFGLSTM",
    "LayerNormLSTM",
    "ZoneoutLSTM",
    "LSTMP",
    "SLSTM",
    "CELL_NAMES",
    "VARIANTS",
]


class _VariantRNN(Recurrent):
    """A Recurrent whose cell is a pair of step functions run by :func:`vcore.run_forward`."""

    n_gates = 4
    n_states = 2
    keras_cell_args = False  # tanh and σ, the variant's own weights
    # the cell: one step forward and its backward (functions of core/variants.py)
    step: Callable[..., Any] = staticmethod(vcore.peephole_step)
    step_backward: Callable[..., Any] = staticmethod(vcore.peephole_step_backward)
    extra: tuple = ()  # names of the parameters after kernel, recurrent_kernel, bias

    def __init__(self, units, unit_forget_bias: bool = True, **kw):
        super().__init__(units, **kw)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.stochastic = True  # trace / gradient_flow switch training noise off

    def _initial_bias(self):
        b = np.zeros(self.n_gates * self.units)
        if self.unit_forget_bias:  # b_f = 1 (gate block 1)
            b[self.units : 2 * self.units] = 1.0
        return b

    def build(self, input_shape):
        full = super().build(input_shape)
        for name, value in self._extra_init(int(full[-1]), self.units):
            self._add_param(name, value)
        return full

    def _extra_init(self, D, H):
        return []

    def _state_widths(self):
        return [self.units] * self.n_states

    def _initial_states(self, initial_state, B):
        if initial_state is None and self.stateful and self.states is not None:
            initial_state = self.states
        if initial_state is None:
            return None
        initial_state = list(initial_state)
        if len(initial_state) != self.n_states:
            raise ValueError(
                f"{type(self).__name__} expected {self.n_states} initial state arrays, "
                f"got {len(initial_state)}"
            )
        out = []
        for s, w in zip(initial_state, self._state_widths(), strict=True):
            s = np.asarray(s, self.dtype)
            if s.shape != (B, w):
                raise ValueError(
                    f"{type(self).__name__} expected initial state of shape {(B, w)}, got {s.shape}"
                )
            out.append(s)
        return out

    def _aux(self, T, B, training):
        return None

    def _core_forward(self, xt, states0, mask, rmask, need_cache):
        B = xt.shape[1]
        if states0 is None:
            states0 = [np.zeros((B, w), self.dtype) for w in self._state_widths()]
        hs, final, caches = vcore.run_forward(
            self.step, xt, self.params, states0, mask, rmask, self._aux(xt.shape[0], B, need_cache)
        )
        return hs, final, (caches, states0, rmask)

    def _core_backward(self, dhs, d_final, cache, record=None):
        caches, _, rmask = cache
        dx, d0, G = vcore.run_backward(
            self.step_backward, dhs, d_final, caches, self.params, rmask, record
        )
        if record is None:
            for g, gnew in zip(self.grads, G, strict=True):
                g[...] = gnew
        return dx, d0

    # ---------------------------------------------- lstmkit.inspect hooks
    def _trace_arrays(self, cache):
        (caches, seq, _), states0, _ = cache
        d = {k: np.stack([c[k] for c in caches]) for k in ("i", "f", "g", "o")}
        d.update(
            h=np.stack([s[0] for s in seq]),
            c=np.stack([s[1] for s in seq]),
            h0=states0[0],
            c0=states0[1],
        )
        for n in range(2, self.n_states):  # e.g. sLSTM's n and m
            d[("n", "m")[n - 2]] = np.stack([s[n] for s in seq])
        return d

    def _state_grads(self, cache, dhs, d_final):
        rec: list[tuple] = []
        self._core_backward(dhs, d_final, cache, record=rec)
        rec.sort(key=lambda r: r[0])
        return np.stack([r[1] for r in rec]), np.stack([r[2] for r in rec])

    # ------------------------------------------------------------- io
    def named_tensors(self):
        d = super().named_tensors()
        s = self.torch_suffix
        d.update({f"{n}{s}": p for n, p in zip(self.extra, self.params[3:], strict=True)})
        return d

    def load_named_tensors(self, tensors):
        s = self.torch_suffix
        names = [f"weight_ih{s}", f"weight_hh{s}", f"bias_ih{s}", f"bias_hh{s}"]
        names += [f"{n}{s}" for n in self.extra]
        missing = [n for n in names if n not in tensors]
        if missing:
            raise ValueError(f"{self.name}: missing tensors {missing}")
        W_ih, W_hh = np.asarray(tensors[names[0]]), np.asarray(tensors[names[1]])
        b = np.asarray(tensors[names[2]]) + np.asarray(tensors[names[3]])
        self.set_weights([W_ih.T, W_hh.T, b] + [np.asarray(tensors[n]) for n in names[4:]])

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class PeepholeLSTM(_VariantRNN):
    """LSTM with peephole connections (Gers & Schmidhuber 2000): i and f see c_{t-1}, o sees c_t.
    Extra weight ``peephole`` (3, H) = [w_i, w_f, w_o], starting at 0."""

    type_name = "PeepholeLSTM"
    extra = ("peephole",)

    def _extra_init(self, D, H):
        return [("peephole", np.zeros((3, H)))]


class CIFGLSTM(_VariantRNN):
    """Coupled input-forget gate: f = 1 − i; gate blocks i, g, o (3H). With
    ``unit_forget_bias`` b_i starts at −1, so f = 1 − σ(−1) = σ(1) as in the LSTM."""

    type_name = "CIFGLSTM"
    n_gates = 3
    step = staticmethod(vcore.cifg_step)
    step_backward = staticmethod(vcore.cifg_step_backward)

    def _initial_bias(self):
        b = np.zeros(3 * self.units)
        if self.unit_forget_bias:
            b[: self.units] = -1.0
        return b


class LayerNormLSTM(_VariantRNN):
    """Layer-normalised LSTM (Ba et al. 2016); extra weights γ_x, γ_h (4H) start at 1,
    γ_c at 1 and β_c at 0."""

    type_name = "LayerNormLSTM"
    step = staticmethod(lnlstm.lnlstm_step)
    step_backward = staticmethod(lnlstm.lnlstm_step_backward)
    extra = ("ln_x_gamma", "ln_h_gamma", "ln_c_gamma", "ln_c_beta")

    def _extra_init(self, D, H):
        return [
            ("ln_x_gamma", np.ones(4 * H)),
            ("ln_h_gamma", np.ones(4 * H)),
            ("ln_c_gamma", np.ones(H)),
            ("ln_c_beta", np.zeros(H)),
        ]


class ZoneoutLSTM(_VariantRNN):
    """LSTM with zoneout (Krueger et al. 2017): in training each unit of c (h) keeps its
    previous value with probability ``zoneout_cell`` (``zoneout_hidden``), a fresh mask
    every step; at inference the update is the expectation."""

    type_name = "ZoneoutLSTM"
    step = staticmethod(vcore.zoneout_step)
    step_backward = staticmethod(vcore.zoneout_step_backward)

    def __init__(self, units, zoneout_cell: float = 0.15, zoneout_hidden: float = 0.05, **kw):
        super().__init__(units, **kw)
        for nm, r in (("zoneout_cell", zoneout_cell), ("zoneout_hidden", zoneout_hidden)):
            if not 0.0 <= r < 1.0:
                raise ValueError(f"{nm} must be in [0, 1), got {r!r}")
        self.zoneout_cell, self.zoneout_hidden = float(zoneout_cell), float(zoneout_hidden)

    def _aux(self, T, B, training):
        H, dt = self.units, self.dtype
        if training and self.stochastic:  # (T, 2, B, H) 0/1 keep-masks
            r = np.array([self.zoneout_cell, self.zoneout_hidden])[None, :, None, None]
            return (self.rng.random((T, 2, B, H)) < r).astype(dt)
        rates = np.array([self.zoneout_cell, self.zoneout_hidden], dt)
        return np.broadcast_to(rates[None, :, None, None], (T, 2, 1, 1))

    def get_config(self):
        return {
            **super().get_config(),
            "zoneout_cell": self.zoneout_cell,
            "zoneout_hidden": self.zoneout_hidden,
        }


class LSTMP(_VariantRNN):
    """LSTM with a recurrent projection, the same function as ``torch.nn.LSTM(hidden_size=units,
    proj_size=proj_size)``: c is ``units`` wide, h (the output) ``proj_size`` wide.
    Extra weight ``projection`` (H, P) (PyTorch: ``weight_hr_l0`` = projectionᵀ)."""

    type_name = "LSTMP"
    step = staticmethod(vcore.lstmp_step)
    step_backward = staticmethod(vcore.lstmp_step_backward)
    extra = ("weight_hr",)

    def __init__(self, units, proj_size: int | None = None, **kw):
        if kw.get("recurrent_dropout", 0.0):
            raise ValueError("LSTMP does not support recurrent_dropout (h is proj_size wide)")
        super().__init__(units, **kw)
        P = self.units // 2 if proj_size is None else proj_size
        if int(P) != P or not 0 < P < self.units:
            raise ValueError(
                f"LSTMP proj_size must be an integer in [1, units) as in PyTorch, "
                f"got {proj_size!r} with units={units}"
            )
        self.proj_size = int(P)

    def build(self, input_shape):
        full = Layer.build(self, input_shape)
        D, H, P = int(full[-1]), self.units, self.proj_size
        self._add_param("kernel", glorot_uniform(self.rng, (D, 4 * H)))
        self._add_param("recurrent_kernel", orthogonal(self.rng, (P, 4 * H)))
        self._add_param("bias", self._initial_bias())
        self._add_param("projection", glorot_uniform(self.rng, (H, P)))
        return full

    def _state_widths(self):
        return [self.proj_size, self.units]

    def compute_output_shape(self, input_shape):
        B, T = self.with_batch(input_shape)[:2]
        P = self.proj_size
        y = (B, T, P) if self.return_sequences else (B, P)
        out = [y, (B, P), (B, self.units)] if self.return_state else y
        return self.same_form(input_shape, out)

    def _trace_arrays(self, cache):
        d = super()._trace_arrays(cache)
        caches = cache[0][0]
        d["u"] = np.stack([c["u"] for c in caches])  # o ⊙ tanh(c), before the projection
        return d

    def named_tensors(self):
        d = super().named_tensors()
        s = self.torch_suffix
        d[f"weight_hr{s}"] = self.params[3].T  # PyTorch (P, H)
        return d

    def load_named_tensors(self, tensors):
        s = self.torch_suffix
        if f"weight_hr{s}" not in tensors:
            raise ValueError(f"{self.name}: missing tensors ['weight_hr{s}']")
        t = dict(tensors)
        t[f"weight_hr{s}"] = np.asarray(t[f"weight_hr{s}"]).T
        super().load_named_tensors(t)

    def get_config(self):
        return {**super().get_config(), "proj_size": self.proj_size}


class SLSTM(_VariantRNN):
    """sLSTM (xLSTM, Beck et al. 2024): exponential input gate, normaliser n, stabiliser m.
    States h, c, n, m; ``return_state`` returns all four. Gate blocks i, f, g (= z), o."""

    type_name = "SLSTM"
    n_states = 4
    step = staticmethod(slstm.slstm_step)
    step_backward = staticmethod(slstm.slstm_step_backward)


#: the names ``lstmkit longmemory --model`` accepts
CELL_NAMES = {
    "peephole": PeepholeLSTM,
    "cifg": CIFGLSTM,
    "lnlstm": LayerNormLSTM,
    "lstmp": LSTMP,
    "zoneout": ZoneoutLSTM,
    "slstm": SLSTM,
}
VARIANTS = tuple(CELL_NAMES.values())
