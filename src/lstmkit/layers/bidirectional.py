"""Bidirectional(layer): one copy of a recurrent layer reads the sequence forwards,
a second (``go_backwards=True``) reads it backwards; their outputs are merged.

With ``return_sequences`` the backward half's output is reversed back into
input order before merging, so position t holds [→h_t, ←h_t], as in Keras and
as in ``torch.nn.LSTM(bidirectional=True)``. PyTorch names for the backward
half end in ``_reverse``.

Keras' arguments: ``merge_mode`` "concat" (default), "sum", "mul", "ave" or None (the
two outputs come back as a list, [→y, ←y, *states]); ``backward_layer=`` a recurrent
layer of your own for the backward half (it must read backwards and return what
``layer`` returns). As in Keras, both halves get ``zero_output_for_mask =
return_sequences``: masked steps of the output sequence are 0.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, check_input
from .recurrent import Recurrent

__all__ = ["MERGE_MODES", "Bidirectional"]

MERGE_MODES = ("concat", "sum", "mul", "ave")


class Bidirectional(Layer):
    type_name = "Bidirectional"
    input_ndim = 2

    def __init__(
        self,
        layer: Recurrent,
        merge_mode: str | None = "concat",
        backward_layer: Recurrent | None = None,
        weights=None,
        name=None,
        dtype=None,
        **kw,
    ):
        if weights is not None:
            raise ValueError(
                "Bidirectional: weights= is not supported; call set_weights after building"
            )
        if dtype is not None and np.dtype(dtype) != layer.dtype:
            raise ValueError(
                f"Bidirectional takes its dtype from the wrapped layer "
                f"({layer.dtype.name}), got dtype={dtype!r}: set it on the layer"
            )
        if not isinstance(layer, Recurrent):
            raise TypeError(
                f"Bidirectional expected a recurrent layer (LSTM, GRU, SimpleRNN), "
                f"got {type(layer).__name__}"
            )
        if merge_mode not in MERGE_MODES + (None,):
            raise ValueError(
                f"Bidirectional merge_mode must be one of {MERGE_MODES} or None, got {merge_mode!r}"
            )
        super().__init__(
            name=name or f"bidirectional_{layer.name}",
            dtype=layer.dtype.name,
            seed=layer.seed,
            **kw,
        )
        self.merge_mode = merge_mode
        self.forward_layer = layer
        self.own_backward_layer = backward_layer is not None
        if backward_layer is None:
            cfg = layer.get_config()
            cfg.update(
                go_backwards=not layer.go_backwards,
                name=f"{layer.name}_backward",
                seed=None if layer.seed is None else layer.seed + 1,
            )
            backward_layer = type(layer).from_config(cfg)
        _check_halves(layer, backward_layer)
        self.backward_layer = backward_layer
        self.backward_layer.torch_suffix = "_l0_reverse"
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        for half in (self.forward_layer, self.backward_layer):  # Keras forces this
            half.zero_output_for_mask = self.return_sequences

    # params and grads are the two halves' lists, concatenated
    @property
    def params(self):
        return self.forward_layer.params + self.backward_layer.params

    @params.setter
    def params(self, value):  # set by Layer.__init__ only
        pass

    @property
    def grads(self):
        return self.forward_layer.grads + self.backward_layer.grads

    @grads.setter
    def grads(self, value):
        pass

    @property
    def param_names(self):
        return [f"forward_{n}" for n in self.forward_layer.param_names] + [
            f"backward_{n}" for n in self.backward_layer.param_names
        ]

    @param_names.setter
    def param_names(self, value):
        pass

    def build(self, input_shape):
        for half in (self.forward_layer, self.backward_layer):
            if not half.built:  # a wrapped layer may come built already
                half.build(input_shape)
        return super().build(input_shape)

    @property
    def initial_state_grads(self):
        """After backward: dL/d(initial states), forward half's then backward half's,
        in the order ``initial_state`` takes them."""
        f, b = self.forward_layer.initial_state_grads, self.backward_layer.initial_state_grads
        return None if f is None or b is None else list(f) + list(b)

    def rebind(self, params, grads):
        n = len(self.forward_layer.params)
        self.forward_layer.rebind(params[:n], grads[:n])
        self.backward_layer.rebind(params[n:], grads[n:])

    def set_weights(self, weights) -> None:
        """Each half's share, through the half's own ``set_weights`` (a frozen half
        replaces its frozen copies: see ``FrozenWeights.set_weights``)."""
        weights = list(weights)
        n, m = len(self.forward_layer.params), len(self.backward_layer.params)
        if len(weights) != n + m:
            raise ValueError(
                f"{self.name} expected {n + m} weight arrays "
                f"({', '.join(self.param_names)}), got {len(weights)}"
            )
        self.forward_layer.set_weights(weights[:n])
        self.backward_layer.set_weights(weights[n:])

    def reset_states(self):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def compute_output_shape(self, input_shape):
        y = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            y, *states = y  # the inner layer's own state shapes (LSTMP: h is proj_size)
        ys = [tuple(y), tuple(y)] if self.merge_mode is None else [tuple(y)]
        if self.merge_mode == "concat":
            ys = [tuple(y[:-1]) + (2 * y[-1],)]
        if self.return_state or self.merge_mode is None:
            return ys + list(states) * 2
        return ys[0]

    def output_mask(self, inputs, mask):
        out = mask if self.return_sequences else None
        ys = [out, out] if self.merge_mode is None else [out]
        states = [None] * (2 * self.forward_layer.n_states) if self.return_state else []
        masks = ys + states
        return masks if len(masks) > 1 else masks[0]

    def forward(self, x, training=False, mask=None, initial_state=None):
        x = check_input(self.forward_layer, x, 3, "batch, time")  # rank / size, before build
        self._ensure_built(x)
        n = self.forward_layer.n_states
        s_f = s_b = None
        if initial_state is not None:
            s_f, s_b = list(initial_state[:n]), list(initial_state[n:])
        yf = self.forward_layer.forward(x, training, mask, initial_state=s_f)
        yb = self.backward_layer.forward(x, training, mask, initial_state=s_b)
        states = []
        if self.return_state:
            yf, *sf = yf
            yb, *sb = yb
            states = sf + sb
        if self.return_sequences:
            yb = yb[:, ::-1]  # back into input order
        self._yf, self._yb = yf, yb
        if self.merge_mode is None:
            return (yf, yb, *states)
        if self.merge_mode == "concat":
            y = np.concatenate([yf, yb], axis=-1)
        elif self.merge_mode == "sum":
            y = yf + yb
        elif self.merge_mode == "mul":
            y = yf * yb
        else:
            y = (yf + yb) / 2
        return (y, *states) if self.return_state else y

    def backward(self, dy):
        d_states_f = d_states_b = None
        n = self.forward_layer.n_states
        if self.merge_mode is None:  # dy = (d→y, d←y, *d_states)
            dyf, dyb, *ds = dy
            if ds:
                d_states_f, d_states_b = ds[:n], ds[n:]
            dyf, dyb = np.asarray(dyf), np.asarray(dyb)
        elif isinstance(dy, (tuple, list)):
            dy, *ds = dy
            d_states_f, d_states_b = ds[:n], ds[n:]
        if self.merge_mode is None:
            pass
        elif self.merge_mode == "concat":
            H = self._yf.shape[-1]
            dyf, dyb = dy[..., :H], dy[..., H:]
        elif self.merge_mode == "sum":
            dyf, dyb = dy, dy
        elif self.merge_mode == "mul":
            dyf, dyb = dy * self._yb, dy * self._yf
        else:
            dyf = dyb = np.asarray(dy) / 2
        if self.return_sequences:
            dyb = dyb[:, ::-1]
        dxf = self.forward_layer.backward(np.ascontiguousarray(dyf), d_states_f)
        dxb = self.backward_layer.backward(np.ascontiguousarray(dyb), d_states_b)
        return dxf + dxb

    def named_tensors(self):
        return {**self.forward_layer.named_tensors(), **self.backward_layer.named_tensors()}

    def load_named_tensors(self, tensors):
        f = set(self.forward_layer.named_tensors())
        self.forward_layer.load_named_tensors({k: v for k, v in tensors.items() if k in f})
        self.backward_layer.load_named_tensors({k: v for k, v in tensors.items() if k not in f})

    def get_config(self):
        out = {
            "name": self.name,
            "merge_mode": self.merge_mode,
            "layer": {
                "type": self.forward_layer.type_name,
                "config": self.forward_layer.get_config(),
            },
            **self.base_config(),
        }
        if self.own_backward_layer:
            out["backward_layer"] = {
                "type": self.backward_layer.type_name,
                "config": self.backward_layer.get_config(),
            }
        return out

    @classmethod
    def from_config(cls, config: dict):
        """Inverse of get_config; the inner layers' types must be recurrent ones."""
        config = dict(config)
        for key in ("layer", "backward_layer"):
            inner = config.get(key)
            if isinstance(inner, dict):
                types = {c.type_name: c for c in _recurrent_types()}
                if inner.get("type") not in types:
                    raise ValueError(
                        f"Bidirectional expected an inner layer type in {sorted(types)}, "
                        f"got {inner.get('type')!r}"
                    )
                config[key] = types[inner["type"]].from_config(inner.get("config", {}))
        return cls(config.pop("layer"), **config)


def _check_halves(fwd, bwd) -> None:
    """Keras' rules for a backward_layer of one's own."""
    if not isinstance(bwd, Recurrent):
        raise TypeError(
            f"Bidirectional backward_layer must be a recurrent layer, got {type(bwd).__name__}"
        )
    if fwd.go_backwards == bwd.go_backwards:
        raise ValueError(
            f"Bidirectional: the forward and backward layers need different go_backwards, "
            f"got {fwd.go_backwards} for both"
        )
    for a in ("return_sequences", "return_state", "stateful"):
        if getattr(fwd, a) != getattr(bwd, a):
            raise ValueError(
                f"Bidirectional: layer and backward_layer must agree on {a}, got "
                f"{getattr(fwd, a)} and {getattr(bwd, a)}"
            )
    if fwd.dtype != bwd.dtype:
        raise ValueError(f"Bidirectional: the halves have dtypes {fwd.dtype} and {bwd.dtype}")


def _recurrent_types():
    """Every concrete Recurrent subclass (LSTM, GRU, SimpleRNN, …), found without imports."""
    out, todo = [], [Recurrent]
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(c.__subclasses__())
    return [c for c in out if c is not Recurrent]
