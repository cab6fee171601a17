"""Export a Sequential to ONNX with ONNX's own ``LSTM`` / ``GRU`` / ``RNN`` operators.

    export_onnx(model, "model.onnx")            # then onnxruntime.InferenceSession("model.onnx")

The graph takes ``x`` float32 (batch, time, features) — or ``ids`` int64 (batch, time)
when the model starts with an Embedding — with dynamic batch and time axes, and
returns ``y``, what ``model.predict`` returns (float32; a float64 model is exported
in float32).

How each layer maps (the ONNX operators run time-major, ``X`` (T, B, D)):

    LSTM         LSTM  W (dirs, 4H, D), R (dirs, 4H, H), B (dirs, 8H) = [W_b, R_b]; ONNX's
                 gate order is i, o, f, c, ours i, f, g, o → blocks reordered [0, 3, 1, 2];
                 our one bias b goes to W_b, R_b = 0
    PeepholeLSTM LSTM with P (dirs, 3H) = [w_i, w_o, w_f] (the same peephole equations)
    GRU          GRU, linear_before_reset=1 (PyTorch's / our reset-after GRU); ONNX's order
                 z, r, h is ours; B = [b_x, b_h]
    SimpleRNN    RNN with activation Tanh
    Bidirectional direction="bidirectional", merge concat / sum / ave / mul
    go_backwards direction="reverse"; the output sequence is reversed back into processing
                 order, as the layer returns it
    Dense        MatMul + Add (+ activation);  Activation → Relu / Tanh / Sigmoid / Softmax
    Embedding    Gather;  Dropout → nothing (inference)

Masks and variable lengths: ONNX's ``sequence_lens`` (B,) int32 means "the first
L_b steps of row b are real, the rest padding" — the post-padded masks 1…1 0…0.
With ``Embedding(mask_zero=True)`` the lengths are derived in the graph from the
ids as L_b = count of non-zero ids, which equals our mask ``ids != 0`` only when
every sequence is post-padded (no id 0 before the last real token): pad at the
end. With ``lengths_input=True`` a float model gets a second input
``sequence_lens`` (batch,) int32 and computes what the layers compute with
``mask[b, t] = t < L_b``. At padded steps ONNX's ``Y`` is 0 while our layers carry
the last state; the graph fills those steps with the final state (``Where``) so
``y`` equals ours at every position. A go_backwards layer turns a post-padded mask
into a pre-padded one, which a following recurrent layer can't take: refused.

Not expressible, hence refused with :class:`UserError`: the other LSTM variants
(LSTMP, CIFG, LayerNorm, Zoneout, sLSTM), stateful layers, Bidirectional around a
go_backwards layer.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import UserError
from ..layers import (
    GRU,
    LSTM,
    Activation,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    Recurrent,
    SimpleRNN,
)
from ..layers.variants import PeepholeLSTM
from .atomic import atomic_write
from .torch_interop import unwrap

DEFAULT_OPSET = 17
_LSTM_TO_ONNX = (0, 3, 1, 2)  # ONNX block k (i, o, f, c) is our block _LSTM_TO_ONNX[k]
_ACT = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}


class _Graph:
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


def _blocks(w, n, order):
    """Reorder the last axis, n blocks wide, into ``order``."""
    H = w.shape[-1] // n
    return np.concatenate([w[..., k * H : (k + 1) * H] for k in order], axis=-1)


def _cell_arrays(cell):
    """(op type, W (G·H, D), R (G·H, H), B (2·G·H,), P or None, extra attributes)
    for one direction."""

    W_x, W_h, b = (np.asarray(p, np.float64) for p in cell.params[:3])
    if type(cell) in (LSTM, PeepholeLSTM):
        W, R = _blocks(W_x, 4, _LSTM_TO_ONNX).T, _blocks(W_h, 4, _LSTM_TO_ONNX).T
        B = np.concatenate([_blocks(b, 4, _LSTM_TO_ONNX), np.zeros(4 * cell.units)])
        P = None
        if type(cell) is PeepholeLSTM:
            w_p = np.asarray(cell.params[3], np.float64)  # (3, H) = [w_i, w_f, w_o]
            P = np.concatenate([w_p[0], w_p[2], w_p[1]])  # ONNX: i, o, f
        return "LSTM", W, R, B, P, {}
    if type(cell) is GRU:  # z, r, n — ONNX's z, r, h
        return "GRU", W_x.T, W_h.T, np.concatenate([b[0], b[1]]), None, {"linear_before_reset": 1}
    if type(cell) is SimpleRNN:
        return "RNN", W_x.T, W_h.T, np.concatenate([b, np.zeros_like(b)]), None, {}
    raise UserError(
        f"export_onnx: {type(cell).__name__} layer {cell.name!r} has no ONNX "
        f"operator (ONNX has LSTM, LSTM with peepholes, GRU and RNN); "
        f"expected LSTM, PeepholeLSTM, GRU or SimpleRNN"
    )


class _Exporter:
    def __init__(self, g: _Graph):
        self.g = g
        self.lens: str | None = None  # int32 (B,) sequence lengths, when a mask is in play
        self.mask: str | None = None  # None, "post" (lens describes it) or "pre" (reversed)
        self._valid = None  # bool (B, T, 1): t < lens[b]

    def valid(self, x):
        """(B, T, 1) bool, True at real steps; built once per graph, from x (B, T, ·)."""
        if self._valid is None:
            g = self.g
            T = g.op("Gather", [g.op("Shape", [x]), g.ints(1)])  # (1,)
            t = g.op(
                "Range",
                [
                    g.const("zero", np.array(0, np.int64)),
                    g.op("Squeeze", [T]),
                    g.const("one", np.array(1, np.int64)),
                ],
            )
            L = g.op("Cast", [self.lens], to=self.g.onnx.TensorProto.INT64)
            v = g.op(
                "Less",
                [
                    g.op("Unsqueeze", [t, g.ints(0)]),  # (1, T)
                    g.op("Unsqueeze", [L, g.ints(1)]),
                ],
            )  # (B, 1)
            self._valid = g.op("Unsqueeze", [v, g.ints(2)])  # (B, T, 1)
        return self._valid

    def recurrent(self, layer, x):

        g = self.g
        bidir = isinstance(layer, Bidirectional)
        cell = layer.forward_layer if bidir else layer
        halves = [layer.forward_layer, layer.backward_layer] if bidir else [layer]
        for c in halves:
            if c.stateful:
                raise UserError(
                    f"export_onnx: layer {c.name!r} is stateful; an ONNX graph "
                    f"starts every call from zero states"
                )
        if bidir and cell.go_backwards:
            raise UserError(
                f"export_onnx: Bidirectional {layer.name!r} wraps a go_backwards "
                f"layer; ONNX's bidirectional direction can't express that"
            )
        if self.mask == "pre":
            raise UserError(
                f"export_onnx: layer {layer.name!r} would receive a mask reversed by "
                f"an earlier go_backwards layer (padding first); ONNX sequence_lens "
                f"only describes padding at the end"
            )
        arrays = [_cell_arrays(c) for c in halves]
        op, attrs = arrays[0][0], arrays[0][5]
        H = cell.units
        direction = "bidirectional" if bidir else ("reverse" if cell.go_backwards else "forward")
        f32 = np.float32
        W = g.const("W", np.stack([a[1] for a in arrays]), f32)  # (dirs, G·H, D)
        R = g.const("R", np.stack([a[2] for a in arrays]), f32)  # (dirs, G·H, H)
        B = g.const("B", np.stack([a[3] for a in arrays]), f32)  # (dirs, 2·G·H)
        inputs = [
            g.op("Transpose", [x], perm=[1, 0, 2]),
            W,
            R,
            B,  # X (T, B, D)
            self.lens if self.mask == "post" else "",
        ]
        if arrays[0][4] is not None:  # peepholes
            inputs += ["", "", g.const("P", np.stack([a[4] for a in arrays]), f32)]
        if op == "RNN":
            attrs = {**attrs, "activations": ["Tanh"] * len(halves)}
        Y, Y_h = g.op(
            op, inputs, n_out=2, base=op.lower(), hidden_size=H, direction=direction, **attrs
        )  # (T, dirs, B, H), (dirs, B, H)
        merge = layer.merge_mode if bidir else None
        if not cell.return_sequences:
            y = g.op("Transpose", [Y_h], perm=[1, 0, 2])  # (B, dirs, H)
            out = self._merge(y, merge, axis=1) if bidir else g.op("Squeeze", [y, g.ints(1)])
            self.mask = None  # the time axis is gone
            return out
        y = g.op("Transpose", [Y], perm=[2, 0, 1, 3])  # (B, T, dirs, H)
        if self.mask == "post" and direction != "reverse":  # padded steps carry h_T (→)
            fill = g.op("Transpose", [Y_h], perm=[1, 0, 2])  # (B, dirs, H)
            if bidir:  # ← half: zeros there anyway
                fill = g.op("Mul", [fill, g.const("fwd_only", [[1.0], [0.0]], f32)])
            fill = g.op("Unsqueeze", [fill, g.ints(1)])  # (B, 1, dirs, H)
            valid = g.op("Unsqueeze", [self.valid(x), g.ints(3)])  # (B, T, 1, 1)
            y = g.op("Where", [valid, y, fill])
        if bidir:
            return self._merge(y, merge, axis=2)
        y = g.op("Squeeze", [y, g.ints(2)])  # (B, T, H)
        if cell.go_backwards:  # processing order, as ours
            y = g.op("Slice", [y, g.ints(-1), g.ints(-(2**63)), g.ints(1), g.ints(-1)])
            if self.mask is not None:
                self.mask = "pre"
        return y

    def _merge(self, y, mode, axis):
        """y (…, 2, H) with the direction axis at ``axis`` → merged like Bidirectional."""
        g = self.g
        if mode == "concat":
            shape = [0] * axis + [-1]
            return g.op("Reshape", [y, g.ints(*shape)])
        if mode in ("sum", "ave"):
            s = g.op("ReduceSum", [y, g.ints(axis)], keepdims=0)
            return s if mode == "sum" else g.op("Mul", [s, g.const("half", np.float32(0.5))])
        a, b = g.op("Split", [y, g.ints(1, 1)], n_out=2, axis=axis)
        return g.op("Squeeze", [g.op("Mul", [a, b]), g.ints(axis)])

    def activation(self, name, x):
        if name == "linear":
            return x
        if name == "softmax":
            return self.g.op("Softmax", [x], axis=-1)
        return self.g.op(_ACT[name], [x])


def _layer_list(model):

    seq, batch_first = unwrap(model)
    if not batch_first:
        raise UserError(
            "export_onnx exports batch-major models; pass the TimeMajorModel's "
            ".model (the graph then takes x as (batch, time, features))"
        )
    if not getattr(seq, "built", False):
        raise UserError("export_onnx needs a built model: fit, predict or build it first")
    return seq


def export_onnx(model, path=None, opset: int = DEFAULT_OPSET, lengths_input: bool = False):
    """Build (and, with ``path``, write) the ONNX graph of ``model``; returns the ModelProto.
    See the module docstring for the mapping, the inputs and the mask rules."""
    import onnx
    from onnx import TensorProto, helper

    seq = _layer_list(model)
    top = onnx.defs.onnx_opset_version()
    if not 14 <= int(opset) <= top:
        raise UserError(f"export_onnx: opset must be in 14..{top}, got {opset}")
    g = _Graph()
    ex = _Exporter(g)
    layers = seq.layers
    in_shape = list(seq.input_shape)
    graph_inputs = []
    if isinstance(layers[0], Embedding):
        x = "ids"
        graph_inputs.append(helper.make_tensor_value_info(x, TensorProto.INT64, ["batch", "time"]))
        if layers[0].mask_zero:
            if lengths_input:
                raise UserError(
                    "export_onnx: lengths_input=True with Embedding(mask_zero=True): the "
                    "lengths already come from the ids (count of non-zero ids)"
                )
            nz = g.op("Not", [g.op("Equal", [x, g.const("zero_id", np.array(0, np.int64))])])
            ex.lens = g.op(
                "ReduceSum",
                [g.op("Cast", [nz], to=TensorProto.INT32), g.ints(1)],
                keepdims=0,
                base="sequence_lens",
            )  # (B,) int32
            ex.mask = "post"
    else:
        x = "x"
        dims = ["batch"] + (["time"] if len(in_shape) == 2 else []) + [int(in_shape[-1])]
        graph_inputs.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, dims))
        if lengths_input:
            graph_inputs.append(
                helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["batch"])
            )
            ex.lens, ex.mask = "sequence_lens", "post"
    for k, layer in enumerate(layers):
        if isinstance(layer, Embedding):
            if k != 0:
                raise UserError(f"export_onnx: Embedding {layer.name!r} must be the first layer")
            x = g.op("Gather", [g.const("embeddings", layer.params[0], np.float32), x], axis=0)
        elif isinstance(layer, (Recurrent, Bidirectional)):
            x = ex.recurrent(layer, x)
        elif isinstance(layer, Dense):
            x = g.op("MatMul", [x, g.const("kernel", layer.params[0], np.float32)])
            if layer.use_bias:
                x = g.op("Add", [x, g.const("bias", layer.params[1], np.float32)])
            x = ex.activation(layer.activation, x)
        elif isinstance(layer, Activation):
            x = ex.activation(layer.activation, x)
        elif isinstance(layer, Dropout):
            pass  # identity at inference
        else:
            raise UserError(
                f"export_onnx: layer {layer.name!r} ({type(layer).__name__}) has no "
                f"ONNX mapping; expected LSTM, PeepholeLSTM, GRU, SimpleRNN, "
                f"Bidirectional, Dense, Embedding, Activation or Dropout"
            )
    out_shape = seq.output_shape
    out_dims = ["batch"] + (["time"] if len(out_shape) == 2 else []) + [int(out_shape[-1])]
    g.nodes.append(helper.make_node("Identity", [x], ["y"], name="output"))
    graph = helper.make_graph(
        g.nodes,
        seq.name or "lstmkit",
        graph_inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_dims)],
        initializer=g.inits,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", int(opset))],
        producer_name="lstmkit",
        doc_string="exported by lstmkit.io.export_onnx",
    )
    proto.ir_version = min(proto.ir_version, 9)  # readable by older runtimes too
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        tmp = os.fspath(path)

        atomic_write(tmp, proto.SerializeToString())
    return proto
