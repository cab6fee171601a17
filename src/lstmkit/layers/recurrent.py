"""Recurrent layers with Keras names and semantics, on top of the core kernels.

Public tensors are batch-major ``(batch, time, features)``; the kernels in
:mod:`lstmkit.core` run time-major, so a layer transposes on the way in and out.

What :class:`Recurrent` handles for every cell (LSTM, GRU, SimpleRNN):
``return_sequences``, ``return_state``, ``go_backwards`` (the output sequence
comes back in processing order, as in Keras), ``stateful`` (final states become
the next call's initial states; ``reset_states()``), ``mask`` (batch, time)
(masked steps carry the states through), ``dropout`` on the inputs and
``recurrent_dropout`` on h_{t-1} (one mask per sequence, drawn at each
training forward), ``initial_state``.

With ``return_sequences`` the output is a batch-major *view* of the kernel's
time-major buffer (and ``backward`` returns dx the same way), so stacked
recurrent layers pass sequences without copies. After ``forward(training=True)``
that buffer is also the backward cache: copy ``y`` before changing it in place.
In inference an LSTM hands its input to the kernel as a time-major view too (the
packed loop gathers the rows; no transposed copy).

One ``backward`` per ``forward(training=True)``: the LSTM and GRU backward write
their gradients dz over the cached gate activations as they go (no second array
the size of the cache) and the layer drops the cache afterwards; a second
``backward`` raises.

Keras' cell arguments, with Keras' names and defaults: ``activation`` (tanh),
``recurrent_activation`` (sigmoid), ``use_bias``, ``kernel_initializer``
(glorot_uniform), ``recurrent_initializer`` (orthogonal), ``bias_initializer`` (zeros),
``*_regularizer``, ``*_constraint``, ``zero_output_for_mask`` (masked steps of the
output sequence are 0 rather than the carried output; Bidirectional sets it), and
``unroll`` / ``implementation`` / ``use_cudnn="auto"`` (accepted: they change how Keras
runs the loop, not what it computes). With tanh and σ the fast kernels run; any other
activation runs the step-by-step loops of :mod:`lstmkit.core.cells`.

A subclass supplies the cell: its parameters (``build``), ``_core_forward`` and
``_core_backward`` and the PyTorch names of its tensors.
"""

from __future__ import annotations

import numpy as np

from ..core import workspace
from ..core.activations import canonical_activation
from . import cell_args, initializers
from .base import Layer, check_input
from .frozen import FrozenWeights

__all__ = ["glorot_uniform", "orthogonal", "Recurrent"]


def glorot_uniform(rng, shape):
    return initializers.GlorotUniform()(shape, rng)


def orthogonal(rng, shape):
    """Keras' orthogonal initializer for an (H, G·H) recurrent kernel."""
    return initializers.Orthogonal()(shape, rng)


class Recurrent(FrozenWeights, Layer):
    n_gates = 1  # gate blocks along the kernel's second axis
    n_states = 1  # h (and c for LSTM)
    _strided_input = False  # the core reads a time-major *view* of the input in inference
    input_ndim = 2  # one sample: (time, features)
    #: False for cells whose math is fixed (the variants): Keras' activation, use_bias and
    #: weight arguments must then keep their defaults
    keras_cell_args = True

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        zero_output_for_mask: bool = False,
        unroll: bool = False,
        implementation: int = 2,
        use_cudnn="auto",
        check_finite: bool = False,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        **kw,
    ):
        super().__init__(**kw)
        cls = type(self).__name__
        if int(units) != units or units < 1:
            raise ValueError(f"{cls} units must be a positive integer, got {units!r}")
        for nm, r in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= r < 1.0:
                raise ValueError(f"{nm} must be in [0, 1), got {r!r}")
        if implementation not in (1, 2):
            raise ValueError(f"{cls} implementation must be 1 or 2, got {implementation!r}")
        if use_cudnn not in ("auto", False):
            raise ValueError(
                f"{cls}: use_cudnn={use_cudnn!r} is not supported (lstmkit runs on the CPU); "
                f"use 'auto' or False"
            )
        self.units = int(units)
        self.activation = canonical_activation(activation)
        self.recurrent_activation = canonical_activation(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.unroll = bool(unroll)
        self.implementation = int(implementation)
        self.check_finite = bool(check_finite)
        given = dict(
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
        )
        if not self.keras_cell_args:
            cell_args.refuse_non_defaults(self, given, activation, recurrent_activation)
        self.initializers, self.weight_regularizers, self.weight_constraints = (
            cell_args.weight_arguments(self, given)
        )
        self.torch_suffix = "_l0"  # "_l0_reverse" for the backward half of a Bidirectional
        self.states: list[np.ndarray] | None = None  # stateful: list of (B, H) arrays
        # after backward: dL/d(initial states), one (B, H) array per state
        self.initial_state_grads: list[np.ndarray] | None = None
        self._cache: tuple | None = None

    @property
    def fast(self) -> bool:
        """Do the fast kernels compute this cell (tanh and σ)?"""
        return self.activation == "tanh" and self.recurrent_activation == "sigmoid"

    # ---------------------------------------------------------------- build
    def build(self, input_shape):
        full = super().build(input_shape)
        D, H, G = full[-1], self.units, self.n_gates
        if D is None:
            raise ValueError(f"{type(self).__name__} needs a known feature size, got {full}")
        init, reg, con = self.initializers, self.weight_regularizers, self.weight_constraints
        for key, arg, shape in (
            ("kernel", "kernel", (D, G * H)),
            ("recurrent_kernel", "recurrent", (H, G * H)),
        ):
            self.add_param(
                key,
                init[f"{arg}_initializer"](shape, self.rng),
                reg[f"{arg}_regularizer"],
                con[f"{arg}_constraint"],
            )
        if self.use_bias:
            self.add_param(
                "bias", self._initial_bias(), reg["bias_regularizer"], con["bias_constraint"]
            )
        return full

    def _initial_bias(self):
        return self.initializers["bias_initializer"]((self.n_gates * self.units,), self.rng)

    @property
    def kernel(self):  # W_x (D, G·H)
        return self.params[0]

    @property
    def recurrent_kernel(self):  # W_h (H, G·H)
        return self.params[1]

    @property
    def bias(self):
        """b; zeros when ``use_bias=False`` (a fresh array: not a parameter)."""
        if self.use_bias:
            return self.params[2]
        return np.zeros(self._bias_shape(), self.dtype)

    def _bias_shape(self):
        return (self.n_gates * self.units,)

    def compute_output_shape(self, input_shape):
        full = self.with_batch(input_shape)
        B, T = full[0], full[1]
        y = (B, T, self.units) if self.return_sequences else (B, self.units)
        out = [y] + [(B, self.units)] * self.n_states if self.return_state else y
        return self.same_form(input_shape, out)

    def output_mask(self, inputs, mask):
        if not self.return_sequences or mask is None:
            out = None
        else:
            out = mask[:, ::-1] if self.go_backwards else mask
        return [out] + [None] * self.n_states if self.return_state else out

    def reset_states(self):
        self.states = None

    # -------------------------------------------------------------- forward
    def forward(self, x, training=False, mask=None, initial_state=None):
        x = check_input(self, x, 3, "batch, time")
        self._ensure_built(x)
        B, T, _ = x.shape
        if self.check_finite and not np.all(np.isfinite(x)):
            at = tuple(int(k) for k in np.argwhere(~np.isfinite(x))[0])
            raise ValueError(
                f"{type(self).__name__} input contains NaN or inf: expected finite "
                f"values, got {x[at]} at (batch, time, feature) = {at}"
            )
        xt = x.transpose(1, 0, 2)  # (T, B, D) time-major
        m = None
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (B, T):
                raise ValueError(
                    f"{type(self).__name__} expected mask of shape (batch, time) = "
                    f"{(B, T)}, got {mask.shape}"
                )
            m = np.ascontiguousarray(mask.T, dtype=self.dtype)  # (T, B)
        if self.go_backwards:
            xt = xt[::-1]
            m = None if m is None else m[::-1]
        if training or not self._strided_input:
            xt = np.ascontiguousarray(xt)  # (inference: the core reads
        dmask = rmask = None  #  a strided view if it can)
        if training and self.dropout > 0:  # same input mask at every step
            dmask = (self.rng.random((B, xt.shape[2])) >= self.dropout) / (1 - self.dropout)
            dmask = dmask.astype(self.dtype)
            xt = xt * dmask
        if training and self.recurrent_dropout > 0:
            rmask = self.rng.random((B, self.units)) >= self.recurrent_dropout
            rmask = (rmask / (1 - self.recurrent_dropout)).astype(self.dtype)
        states0 = self._initial_states(initial_state, B)
        hs, final, cache = self._core_forward(xt, states0, m, rmask, need_cache=training)
        zero = m if (self.zero_output_for_mask and m is not None) else None
        self._cache = (cache, dmask, B, T, zero) if training else None
        if self.stateful:
            self.states = [s.copy() for s in final]
        if zero is not None and self.return_sequences:
            hs = hs * zero[:, :, None]  # masked steps output 0 (Keras' zero_output_for_mask)
        # return_sequences: a batch-major *view* of the time-major hs (no copy); a recurrent
        # layer stacked on top transposes it back to a contiguous time-major array for free
        y = hs.transpose(1, 0, 2) if self.return_sequences else final[0].copy()
        if zero is not None and not self.return_sequences:
            y *= zero[-1][:, None]  # the last step's output (0 if that step is masked)
        if self.return_state:
            return (y, *final)
        return y

    def _initial_states(self, initial_state, B):
        if initial_state is None and self.stateful and self.states is not None:
            initial_state = self.states
        if initial_state is None:
            return None
        if isinstance(initial_state, np.ndarray) and self.n_states == 1:
            initial_state = [initial_state]
        initial_state = list(initial_state)
        if len(initial_state) != self.n_states:
            raise ValueError(
                f"{type(self).__name__} expected {self.n_states} initial state arrays, "
                f"got {len(initial_state)}"
            )
        out = []
        for s in initial_state:
            s = np.asarray(s, self.dtype)
            if s.shape != (B, self.units):
                raise ValueError(
                    f"{type(self).__name__} expected initial state of shape "
                    f"{(B, self.units)}, got {s.shape}"
                )
            out.append(s)
        return out

    # ------------------------------------------------------------- backward
    def backward(self, dy, d_states=None):
        """dy: gradient of the output (and, with return_state, a tuple whose
        tail are the final states' gradients). Returns dx (batch, time, features)."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward needs a forward(x, training=True) first"
            )
        cache, dmask, B, T, zero = self._cache
        if isinstance(dy, (tuple, list)):
            dy, *d_states = dy
        d_final: list[np.ndarray | None] = [None] * self.n_states
        if d_states:
            d_final = [None if d is None else np.array(d, self.dtype) for d in d_states]
        dhs = None
        if self.return_sequences:
            dhs = workspace.copy(np.asarray(dy, self.dtype).transpose(1, 0, 2))  # (reused memory)
            if zero is not None:
                dhs *= zero[:, :, None]
        else:  # y = h_T
            dh = np.asarray(dy, self.dtype)
            if zero is not None:
                dh = dh * zero[-1][:, None]
            d_final[0] = dh.copy() if d_final[0] is None else d_final[0] + dh
        dxt, d_init = self._core_backward(dhs, d_final, cache)
        self._cache = None  # one backward per forward: the cache may be consumed
        self.initial_state_grads = d_init
        if dmask is not None:
            dxt *= dmask
        if self.go_backwards:
            dxt = dxt[::-1]
        return dxt.transpose(1, 0, 2)  # a view, as in forward (no copy)

    # ------------------------------------------------------------ the cell
    def _core_forward(self, xt, states0, mask, rmask, need_cache):
        raise NotImplementedError

    def _core_backward(self, dhs, d_final, cache):
        raise NotImplementedError

    def _store_grads(self, *values):
        """Copy the kernel's gradients into self.grads[0], [1], …, unless the kernel wrote
        them there already (``out=self.grads``). A cell may return fewer values than it has
        gradient buffers (the rest it wrote itself), hence ``strict=False``."""
        for g, v in zip(self.grads, values, strict=False):
            if v is not g:
                g[...] = v

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "check_finite": self.check_finite,
            **self.cell_config(),
        }

    def cell_config(self) -> dict:
        """Keras' cell arguments (activations, use_bias, initializers, …) for get_config."""
        return cell_args.config(self)

    # PyTorch names: weight_ih_l0 (G·H, D), weight_hh_l0 (G·H, H), bias_ih_l0, bias_hh_l0
    def named_tensors(self):
        s = self.torch_suffix
        out = {f"weight_ih{s}": self.params[0].T, f"weight_hh{s}": self.params[1].T}
        if self.use_bias:
            out[f"bias_ih{s}"] = self.params[2]
            out[f"bias_hh{s}"] = np.zeros_like(self.params[2])
        return out

    def load_named_tensors(self, tensors):
        s = self.torch_suffix
        names = [f"weight_ih{s}", f"weight_hh{s}"]
        names += [f"bias_ih{s}", f"bias_hh{s}"] if self.use_bias else []
        missing = [n for n in names if n not in tensors]
        if missing:
            raise ValueError(f"{self.name}: missing tensors {missing}")
        W_ih, W_hh = np.asarray(tensors[names[0]]), np.asarray(tensors[names[1]])
        ws = [W_ih.T, W_hh.T]
        if self.use_bias:
            ws.append(np.asarray(tensors[names[2]]) + np.asarray(tensors[names[3]]))
        self.set_weights(ws)
