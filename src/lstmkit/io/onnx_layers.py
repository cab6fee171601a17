"""lstmkit layers as ONNX nodes: the building blocks of :mod:`.onnx_export`.

How each layer maps (the ONNX recurrent operators run time-major, ``X`` (T, B, D)):

    LSTM         LSTM  W (dirs, 4H, D), R (dirs, 4H, H), B (dirs, 8H) = [W_b, R_b]; ONNX's
                 gate order is i, o, f, c, ours i, f, g, o → blocks reordered [0, 3, 1, 2];
                 our one bias b goes to W_b, R_b = 0; ``activations`` = [ρ, a, a] when
                 Keras' activation / recurrent_activation are not tanh / σ
    PeepholeLSTM LSTM with P (dirs, 3H) = [w_i, w_o, w_f] (the same peephole equations)
    GRU          GRU, linear_before_reset = reset_after (1: PyTorch's / Keras 3's form;
                 0: Keras' reset_after=False, whose single bias goes to W_b); z, r, h is ours
    SimpleRNN    RNN with its activation
    Bidirectional direction="bidirectional", merge concat / sum / ave / mul / None
    go_backwards direction="reverse"; the output sequence is reversed back into processing
                 order, as the layer returns it
    return_state Y_h, Y_c;  initial_state= → initial_h, initial_c (functional models)
    Dense        MatMul + Add (+ activation);  Activation → the activation's ops
    Embedding    Gather;  Dropout, GaussianNoise → nothing (inference)
    Conv1D       Conv on (B, C, T) (pads from Keras' padding; SAME_UPPER when strided)
    Max/AveragePooling1D, GlobalMax/AveragePooling1D   MaxPool / AveragePool /
                 GlobalMaxPool / GlobalAveragePool on (B, C, T)
    LayerNormalization  the mean and variance from ReduceSum (any Keras axes, rms_scaling)
    Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum   Concat / Sum / Sub /
                 Mul / Mean / Max / Min;  RepeatVector → Unsqueeze + Tile;  Flatten,
                 Reshape, Permute → Flatten / Reshape / Transpose;  TimeDistributed(Dense …)
                 → the inner layer (MatMul broadcasts over time)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import UserError
from ..layers import (
    GRU,
    LSTM,
    Activation,
    Add,
    Average,
    AveragePooling1D,
    Concatenate,
    Conv1D,
    Dense,
    Dropout,
    Flatten,
    GaussianNoise,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    LayerNormalization,
    Maximum,
    MaxPooling1D,
    Minimum,
    Multiply,
    Permute,
    RepeatVector,
    Reshape,
    SimpleRNN,
    Subtract,
    TimeDistributed,
)
from ..layers.variants import PeepholeLSTM

__all__ = [
    "RNN_ACTIVATIONS",
    "Graph",
    "cell_arrays",
    "rnn_activation_attrs",
    "activation",
    "dense",
    "simple_layer",
    "conv1d",
    "pool1d",
    "layer_norm",
]

_LSTM_TO_ONNX = (0, 3, 1, 2)  # ONNX block k (i, o, f, c) is our block _LSTM_TO_ONNX[k]
#: activations ONNX's recurrent operators take by name, with their α, β (Keras' values)
RNN_ACTIVATIONS = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None),
    "elu": ("Elu", 1.0, None),
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "leaky_relu": ("LeakyRelu", 0.2, None),
}
_SELU = (1.6732632423543772, 1.0507009873554805)


class Graph:
    """Nodes and initializers with unique names (onnx.helper does the protobuf)."""

    def __init__(self):
        import onnx
        from onnx import helper, numpy_helper

        self.onnx, self.helper, self.nh = onnx, helper, numpy_helper
        self.nodes, self.inits, self._n = [], [], 0

    def name(self, base):
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, base, value, dtype=None):
        n = self.name(base)
        self.inits.append(self.nh.from_array(np.asarray(value, dtype), n))
        return n

    def op(self, op_type, inputs, n_out=1, base=None, **attrs):
        outs = [self.name(base or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(
            self.helper.make_node(op_type, list(inputs), outs, name=self.name(op_type), **attrs)
        )
        return outs[0] if n_out == 1 else outs

    def ints(self, *v):
        return self.const("i64", np.array(v, np.int64))

    def f32(self, base, v):
        return self.const(base, np.asarray(v, np.float32))


def _blocks(w, n, order):
    """Reorder the last axis, n blocks wide, into ``order``."""
    H = w.shape[-1] // n
    return np.concatenate([w[..., k * H : (k + 1) * H] for k in order], axis=-1)


def cell_arrays(cell):
    """(op type, W (G·H, D), R (G·H, H), B (2·G·H,), P or None, attributes) for one direction."""
    W_x, W_h = (np.asarray(p, np.float64) for p in cell.params[:2])
    b = np.asarray(cell.bias, np.float64)  # zeros when use_bias=False
    if type(cell) in (LSTM, PeepholeLSTM):
        W, R = _blocks(W_x, 4, _LSTM_TO_ONNX).T, _blocks(W_h, 4, _LSTM_TO_ONNX).T
        B = np.concatenate([_blocks(b, 4, _LSTM_TO_ONNX), np.zeros(4 * cell.units)])
        P = None
        if type(cell) is PeepholeLSTM:
            w_p = np.asarray(cell.params[3], np.float64)  # (3, H) = [w_i, w_f, w_o]
            P = np.concatenate([w_p[0], w_p[2], w_p[1]])  # ONNX: i, o, f
        acts = [cell.recurrent_activation, cell.activation, cell.activation]
        return "LSTM", W, R, B, P, acts, {}
    if type(cell) is GRU:  # z, r, n — ONNX's z, r, h
        B = np.concatenate([b[0], b[1]]) if cell.reset_after else np.concatenate([b, 0 * b])
        acts = [cell.recurrent_activation, cell.activation]
        return "GRU", W_x.T, W_h.T, B, None, acts, {"linear_before_reset": int(cell.reset_after)}
    if type(cell) is SimpleRNN:
        return (
            "RNN",
            W_x.T,
            W_h.T,
            np.concatenate([b, np.zeros_like(b)]),
            None,
            [cell.activation],
            {},
        )
    raise UserError(
        f"export_onnx: {type(cell).__name__} layer {cell.name!r} has no "
        f"ONNX operator (ONNX has LSTM, LSTM with peepholes, GRU and RNN); "
        f"expected LSTM, PeepholeLSTM, GRU or SimpleRNN"
    )


def rnn_activation_attrs(cell, names, n_dirs, default):
    """ONNX ``activations`` (+ α, β) when they differ from the operator's default."""
    if names == default:
        return {}
    out, alpha, beta = [], [], []
    for nm in names * n_dirs:
        if nm not in RNN_ACTIVATIONS:
            raise UserError(
                f"export_onnx: layer {cell.name!r} uses the activation {nm!r}, which ONNX's "
                f"recurrent operators do not have; expected one of {sorted(RNN_ACTIVATIONS)}"
            )
        onx, a, b = RNN_ACTIVATIONS[nm]
        out.append(onx)
        if a is not None:
            alpha.append(a)
        if b is not None:
            beta.append(b)
    attrs: dict[str, list] = {"activations": out}
    if alpha:
        attrs["activation_alpha"] = alpha
    if beta:
        attrs["activation_beta"] = beta
    return attrs


def activation(g: Graph, name: str, x: str) -> str:
    """ONNX nodes for one of Keras' activations (see lstmkit.core.activations)."""
    one = lambda v: g.f32("c", v)  # noqa: E731
    simple = {
        "relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "softplus": "Softplus",
        "softsign": "Softsign", "exponential": "Exp",
    }  # fmt: skip
    if name == "linear":
        return x
    if name in simple:
        return g.op(simple[name], [x])
    if name == "softmax":
        return g.op("Softmax", [x], axis=-1)
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], axis=-1)
    if name == "elu":
        return g.op("Elu", [x], alpha=1.0)
    if name == "selu":
        return g.op("Selu", [x], alpha=_SELU[0], gamma=_SELU[1])
    if name == "celu":
        return g.op("Celu", [x], alpha=1.0)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=0.2)
    if name == "hard_sigmoid":
        return g.op("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
    if name == "hard_silu":
        return g.op("Mul", [x, g.op("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)])
    if name == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if name == "relu6":
        return g.op("Clip", [x, one(0.0), one(6.0)])
    if name == "hard_tanh":
        return g.op("Clip", [x, one(-1.0), one(1.0)])
    if name == "tanh_shrink":
        return g.op("Sub", [x, g.op("Tanh", [x])])
    if name == "log_sigmoid":
        return g.op("Neg", [g.op("Softplus", [g.op("Neg", [x])])])
    if name == "mish":
        return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])])
    if name == "gelu":  # ½x(1 + erf(x/√2)), exact as Keras' default
        e = g.op("Erf", [g.op("Mul", [x, one(1 / math.sqrt(2.0))])])
        return g.op("Mul", [g.op("Mul", [x, one(0.5)]), g.op("Add", [e, one(1.0)])])
    raise UserError(f"export_onnx: the activation {name!r} has no ONNX mapping in lstmkit")


def _channels_first(g, x):
    return g.op("Transpose", [x], perm=[0, 2, 1])  # (B, T, C) → (B, C, T)


def dense(g: Graph, layer, x: str) -> str:
    x = g.op("MatMul", [x, g.const("kernel", layer.params[0], np.float32)])
    if layer.use_bias:
        x = g.op("Add", [x, g.const("bias", layer.params[1], np.float32)])
    return activation(g, layer.activation, x)


def simple_layer(g: Graph, layer, ins: list[str]) -> str:
    """A layer without time recurrence: one output name from its input name(s)."""
    x = ins[0]
    if isinstance(layer, Dense):
        return dense(g, layer, x)
    if isinstance(layer, Activation):
        return activation(g, layer.activation, x)
    if isinstance(layer, (Dropout, GaussianNoise)):
        return x
    if isinstance(layer, TimeDistributed):
        if not isinstance(layer.layer, (Dense, Activation, Dropout)):
            raise UserError(
                f"export_onnx: TimeDistributed({type(layer.layer).__name__}) has no ONNX "
                f"mapping; TimeDistributed of Dense, Activation or Dropout is exported"
            )
        return simple_layer(g, layer.layer, ins)
    if isinstance(layer, Concatenate):
        return g.op("Concat", ins, axis=layer.axis)
    merge = {Add: "Sum", Average: "Mean", Maximum: "Max", Minimum: "Min"}
    if type(layer) in merge:
        return g.op(merge[type(layer)], ins)
    if isinstance(layer, Subtract):
        return g.op("Sub", ins)
    if isinstance(layer, Multiply):
        out = ins[0]
        for other in ins[1:]:
            out = g.op("Mul", [out, other])
        return out
    if isinstance(layer, RepeatVector):
        return g.op("Tile", [g.op("Unsqueeze", [x, g.ints(1)]), g.ints(1, layer.n, 1)])
    if isinstance(layer, Flatten):
        return g.op("Flatten", [x], axis=1)
    if isinstance(layer, Reshape):
        return g.op("Reshape", [x, g.ints(0, *layer.target_shape)])
    if isinstance(layer, Permute):
        return g.op("Transpose", [x], perm=[0, *layer.dims])
    if isinstance(layer, Conv1D):
        return conv1d(g, layer, x)
    if isinstance(layer, (MaxPooling1D, AveragePooling1D)):
        return pool1d(g, layer, x)
    if isinstance(layer, (GlobalAveragePooling1D, GlobalMaxPooling1D)):
        op = "GlobalAveragePool" if isinstance(layer, GlobalAveragePooling1D) else "GlobalMaxPool"
        y = g.op("Transpose", [g.op(op, [_channels_first(g, x)])], perm=[0, 2, 1])  # (B, 1, C)
        return y if layer.keepdims else g.op("Squeeze", [y, g.ints(1)])
    if isinstance(layer, LayerNormalization):
        return layer_norm(g, layer, x)
    raise UserError(
        f"export_onnx: layer {layer.name!r} ({type(layer).__name__}) has no ONNX mapping"
    )


def conv1d(g: Graph, layer, x: str) -> str:
    k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate
    W = np.transpose(np.asarray(layer.params[0]), (2, 1, 0))  # (F, C/groups, k)
    attrs = dict(kernel_shape=[k], strides=[s], dilations=[d], group=layer.groups)
    eff = (k - 1) * d + 1
    if layer.padding == "causal":
        attrs["pads"] = [eff - 1, 0]
    elif layer.padding == "same" and s == 1:
        attrs["pads"] = [(eff - 1) // 2, eff - 1 - (eff - 1) // 2]
    elif layer.padding == "same":
        attrs["auto_pad"] = "SAME_UPPER"  # the extra zero at the end, as Keras
    else:
        attrs["pads"] = [0, 0]
    ins = [_channels_first(g, x), g.const("conv_w", W, np.float32)]
    if layer.use_bias:
        ins.append(g.const("conv_b", layer.params[1], np.float32))
    y = g.op("Transpose", [g.op("Conv", ins, **attrs)], perm=[0, 2, 1])
    return activation(g, layer.activation, y)


def pool1d(g: Graph, layer, x: str) -> str:
    attrs: dict[str, Any] = dict(kernel_shape=[layer.pool_size], strides=[layer.strides])
    attrs["auto_pad"] = "SAME_UPPER" if layer.padding == "same" else "VALID"
    if isinstance(layer, AveragePooling1D):
        op, attrs["count_include_pad"] = "AveragePool", 0
    else:
        op = "MaxPool"
    return g.op("Transpose", [g.op(op, [_channels_first(g, x)], **attrs)], perm=[0, 2, 1])


def layer_norm(g: Graph, layer, x: str) -> str:
    """(x − μ)/√(σ² + ε)·γ + β over the layer's axes, from ReduceSum (any opset ≥ 13)."""
    axes = list(layer.norm_axes)
    n = float(np.prod([layer.input_shape[a - 1] for a in axes]))
    ax = g.ints(*axes)
    mean = g.op("Div", [g.op("ReduceSum", [x, ax], keepdims=1), g.f32("n", n)])
    xc = g.op("Sub", [x, mean])
    var = g.op("Div", [g.op("ReduceSum", [g.op("Mul", [xc, xc]), ax], keepdims=1), g.f32("n", n)])
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, g.f32("eps", layer.epsilon)])])])
    y = g.op("Mul", [x if layer.rms_scaling else xc, inv])
    k = 0
    shape = (1, *layer.broadcast_shape)
    if layer.scale or layer.rms_scaling:
        y = g.op("Mul", [y, g.const("gamma", np.reshape(layer.params[0], shape), np.float32)])
        k = 1
    if layer.center and not layer.rms_scaling:
        y = g.op("Add", [y, g.const("beta", np.reshape(layer.params[k], shape), np.float32)])
    return y
