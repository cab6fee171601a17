"""Export a model to ONNX with ONNX's own ``LSTM`` / ``GRU`` / ``RNN`` operators.

    export_onnx(model, "model.onnx")            # then onnxruntime.InferenceSession("model.onnx")

A Sequential's graph takes ``x`` float32 (batch, time, features) — or ``ids`` int64
(batch, time) when the model starts with an Embedding — with dynamic batch and time
axes, and returns ``y``, what ``model.predict`` returns (float32; a float64 model is
exported in float32). A functional Model's graph takes one input per ``Input`` (named
as the Input layers; integer inputs as int64) and returns one output per model output
(named as ``model.output_names``). The layer mapping is in :mod:`.onnx_layers`.

Masks and variable lengths (Sequential): ONNX's ``sequence_lens`` (B,) int32 means "the
first L_b steps of row b are real, the rest padding" — the post-padded masks 1…1 0…0.
With ``Embedding(mask_zero=True)`` the lengths are derived in the graph from the
ids as L_b = count of non-zero ids, which equals our mask ``ids != 0`` only when
every sequence is post-padded (no id 0 before the last real token): pad at the
end. With ``lengths_input=True`` a float model gets a second input
``sequence_lens`` (batch,) int32 and computes what the layers compute with
``mask[b, t] = t < L_b``. At padded steps ONNX's ``Y`` is 0; a layer that carries its
last output there (``zero_output_for_mask=False``, a plain LSTM) gets it filled in
(``Where``) so ``y`` equals ours at every position; a Bidirectional's zeros are Keras'
too. A go_backwards layer turns a post-padded mask into a pre-padded one, which a
following recurrent layer can't take: refused. Functional models are exported without
masks (a mask-making layer there is refused).

Not expressible, hence refused with :class:`UserError`: the other LSTM variants
(LSTMP, CIFG, LayerNorm, Zoneout, sLSTM), stateful layers, Bidirectional around a
go_backwards layer, activations ONNX's recurrent operators lack (gelu, swish, …), a
Bidirectional with a backward_layer of another cell type, Masking.
"""

from __future__ import annotations

import os

import numpy as np

from ..engine import Model
from ..errors import UserError
from ..layers import Bidirectional, Embedding, Masking, Recurrent
from .atomic import atomic_write
from .onnx_layers import Graph, cell_arrays, rnn_activation_attrs, simple_layer
from .torch_interop import unwrap

__all__ = ["DEFAULT_OPSET", "export_onnx"]

DEFAULT_OPSET = 17
#: layers after which no mask remains (Keras: they drop it)
_MASK_ENDS = ("Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
              "RepeatVector", "Flatten", "Reshape", "Permute")  # fmt: skip
_DEFAULT_ACTS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"], "RNN": None}


class _Exporter:
    def __init__(self, g: Graph):
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
                [g.op("Unsqueeze", [t, g.ints(0)]), g.op("Unsqueeze", [L, g.ints(1)])],
            )  # (B, T)
            self._valid = g.op("Unsqueeze", [v, g.ints(2)])  # (B, T, 1)
        return self._valid

    def recurrent(self, layer, x, states=None):
        """The layer's outputs (a list: y, then the states with return_state)."""
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
        if bidir and (cell.go_backwards or type(halves[1]) is not type(cell)):
            raise UserError(
                f"export_onnx: Bidirectional {layer.name!r} wraps a go_backwards layer or "
                f"two different cells; ONNX's bidirectional direction can't express that"
            )
        if self.mask == "pre":
            raise UserError(
                f"export_onnx: layer {layer.name!r} would receive a mask reversed by "
                f"an earlier go_backwards layer (padding first); ONNX sequence_lens "
                f"only describes padding at the end"
            )
        arrays = [cell_arrays(c) for c in halves]
        op, acts, attrs = arrays[0][0], arrays[0][5], dict(arrays[0][6])
        if len(halves) == 2 and arrays[1][5] != acts:
            raise UserError(f"export_onnx: the halves of {layer.name!r} differ in activations")
        default = _DEFAULT_ACTS[op] if op != "RNN" else None
        attrs.update(rnn_activation_attrs(cell, acts, len(halves), default or []))
        if op == "RNN" and "activations" not in attrs:
            attrs["activations"] = ["Tanh"] * len(halves)
        H = cell.units
        direction = "bidirectional" if bidir else ("reverse" if cell.go_backwards else "forward")
        f32 = np.float32
        W = g.const("W", np.stack([a[1] for a in arrays]), f32)  # (dirs, G·H, D)
        R = g.const("R", np.stack([a[2] for a in arrays]), f32)  # (dirs, G·H, H)
        B = g.const("B", np.stack([a[3] for a in arrays]), f32)  # (dirs, 2·G·H)
        inputs = [g.op("Transpose", [x], perm=[1, 0, 2]), W, R, B]  # X (T, B, D)
        inputs.append(self.lens if self.mask == "post" else "")
        n_state = 2 if op == "LSTM" else 1
        if states:  # initial_state: per direction [h, (c)] → (dirs, B, H) each
            per = [states[k * n_state : (k + 1) * n_state] for k in range(len(halves))]
            for j in range(n_state):
                parts = [g.op("Unsqueeze", [p[j], g.ints(0)]) for p in per]
                inputs.append(parts[0] if len(parts) == 1 else g.op("Concat", parts, axis=0))
        elif arrays[0][4] is not None:
            inputs += ["", ""]
        if arrays[0][4] is not None:  # peepholes (after initial_h, initial_c)
            inputs.append(g.const("P", np.stack([a[4] for a in arrays]), f32))
        outs = g.op(
            op, inputs, n_out=1 + n_state, base=op.lower(), hidden_size=H, direction=direction,
            **attrs,
        )  # fmt: skip
        Y, Y_h = outs[0], outs[1]  # (T, dirs, B, H), (dirs, B, H)
        state_outs = []
        if cell.return_state:  # [h_dir0, (c_dir0), h_dir1, (c_dir1)] as the layer returns them
            finals = outs[1:]
            for d in range(len(halves)):
                for s in finals:
                    state_outs.append(g.op("Squeeze", [
                        g.op("Slice", [s, g.ints(d), g.ints(d + 1), g.ints(0)]), g.ints(0)
                    ]))  # fmt: skip
        merge = layer.merge_mode if bidir else None
        if not cell.return_sequences:
            y = g.op("Transpose", [Y_h], perm=[1, 0, 2])  # (B, dirs, H)
            self.mask = None  # the time axis is gone
            if bidir:
                return self._merge(y, merge, axis=1) + state_outs
            return [g.op("Squeeze", [y, g.ints(1)])] + state_outs
        y = g.op("Transpose", [Y], perm=[2, 0, 1, 3])  # (B, T, dirs, H)
        if self.mask == "post" and direction != "reverse" and not cell.zero_output_for_mask:
            fill = g.op("Transpose", [Y_h], perm=[1, 0, 2])  # padded steps carry h_T (→)
            fill = g.op("Unsqueeze", [fill, g.ints(1)])  # (B, 1, dirs, H)
            valid = g.op("Unsqueeze", [self.valid(x), g.ints(3)])  # (B, T, 1, 1)
            y = g.op("Where", [valid, y, fill])
        if bidir:
            return self._merge(y, merge, axis=2) + state_outs
        y = g.op("Squeeze", [y, g.ints(2)])  # (B, T, H)
        if cell.go_backwards:  # processing order, as ours
            y = g.op("Slice", [y, g.ints(-1), g.ints(-(2**63)), g.ints(1), g.ints(-1)])
            if self.mask is not None:
                self.mask = "pre"
        return [y] + state_outs

    def _merge(self, y, mode, axis):
        """y (…, 2, H) with the direction axis at ``axis`` → [merged] (or [→y, ←y])."""
        g = self.g
        if mode == "concat":
            shape = [0] * axis + [-1]
            return [g.op("Reshape", [y, g.ints(*shape)])]
        if mode in ("sum", "ave"):
            s = g.op("ReduceSum", [y, g.ints(axis)], keepdims=0)
            return [s if mode == "sum" else g.op("Mul", [s, g.const("half", np.float32(0.5))])]
        a, b = g.op("Split", [y, g.ints(1, 1)], n_out=2, axis=axis)
        a, b = g.op("Squeeze", [a, g.ints(axis)]), g.op("Squeeze", [b, g.ints(axis)])
        return [a, b] if mode is None else [g.op("Mul", [a, b])]


def _check_model(model):
    seq, batch_first = unwrap(model)
    if not batch_first:
        raise UserError(
            "export_onnx exports batch-major models; pass the TimeMajorModel's "
            ".model (the graph then takes x as (batch, time, features))"
        )
    if hasattr(seq, "autobuild"):
        seq.autobuild()  # a Sequential with an Input knows its shape
    if not getattr(seq, "built", False):
        raise UserError("export_onnx needs a built model: fit, predict or build it first")
    return seq


def _dims(shape, name):
    """ONNX dims for (batch, *one sample's shape): None → a dynamic axis of its own."""
    return ["batch"] + [f"{name}_{k + 1}" if d is None else int(d) for k, d in enumerate(shape)]


def _sequential(g, ex, seq, lengths_input, helper, TensorProto):
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
            x = ex.recurrent(layer, x)[0]
        elif isinstance(layer, Masking):
            raise UserError("export_onnx: Masking has no ONNX mapping (pad with lengths_input)")
        else:
            masked_pool = type(layer).__name__ == "GlobalAveragePooling1D" or getattr(
                layer, "use_mask", False
            )
            if ex.mask is not None and masked_pool:
                raise UserError(
                    f"export_onnx: {type(layer).__name__} under a mask has no ONNX mapping"
                )
            x = simple_layer(g, layer, [x])
            if type(layer).__name__ in _MASK_ENDS and not getattr(layer, "keep_mask", False):
                ex.mask = None
    out_shape = seq.output_shape
    out_dims = ["batch"] + (["time"] if len(out_shape) == 2 else []) + [int(out_shape[-1])]
    g.nodes.append(helper.make_node("Identity", [x], ["y"], name="output"))
    return graph_inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_dims)]


def _functional(g, ex, model: Model, helper, TensorProto):
    names: dict[int, str] = {}
    graph_inputs = []
    for t in model.inputs:
        layer = t.node.layer
        integer = not layer.input_dtype.startswith("float")
        kind = TensorProto.INT64 if integer else TensorProto.FLOAT
        graph_inputs.append(
            helper.make_tensor_value_info(layer.name, kind, _dims(layer.shape, layer.name))
        )
        names[t.uid] = layer.name
    for node in model.nodes[len(model.inputs) :]:
        layer = node.layer
        ins = [names[t.uid] for t in node.inputs[: node.n_positional]]
        if (
            "mask" in node.tensor_kwargs
            or isinstance(layer, Masking)
            or (isinstance(layer, Embedding) and layer.mask_zero)
        ):
            raise UserError(
                f"export_onnx: layer {layer.name!r} makes or takes a mask; functional models "
                f"are exported without masks"
            )
        if isinstance(layer, Embedding):
            outs = [g.op("Gather", [g.const("embeddings", layer.params[0], np.float32), ins[0]],
                         axis=0)]  # fmt: skip
        elif isinstance(layer, (Recurrent, Bidirectional)):
            states = [names[t.uid] for t in node.tensor_kwargs.get("initial_state", [])]
            outs = ex.recurrent(layer, ins[0], states)
        else:
            outs = [simple_layer(g, layer, ins)]
        for t, n in zip(node.outputs, outs, strict=True):
            names[t.uid] = n
    graph_outputs = []
    for t, name in zip(model.outputs, model.output_names, strict=True):
        g.nodes.append(helper.make_node("Identity", [names[t.uid]], [name], name=f"out_{name}"))
        graph_outputs.append(
            helper.make_tensor_value_info(name, TensorProto.FLOAT, _dims(t.shape[1:], name))
        )
    return graph_inputs, graph_outputs


def export_onnx(model, path=None, opset: int = DEFAULT_OPSET, lengths_input: bool = False):
    """Build (and, with ``path``, write) the ONNX graph of ``model``; returns the ModelProto.
    See the module docstring for the inputs and the mask rules."""
    import onnx
    from onnx import TensorProto, helper

    seq = _check_model(model)
    top = onnx.defs.onnx_opset_version()
    if not 14 <= int(opset) <= top:
        raise UserError(f"export_onnx: opset must be in 14..{top}, got {opset}")
    g = Graph()
    ex = _Exporter(g)
    if isinstance(seq, Model):
        if lengths_input:
            raise UserError("export_onnx: lengths_input is for Sequential models")
        graph_inputs, graph_outputs = _functional(g, ex, seq, helper, TensorProto)
    else:
        graph_inputs, graph_outputs = _sequential(g, ex, seq, lengths_input, helper, TensorProto)
    graph = helper.make_graph(
        g.nodes, seq.name or "lstmkit", graph_inputs, graph_outputs, initializer=g.inits
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
        atomic_write(os.fspath(path), proto.SerializeToString())
    return proto
