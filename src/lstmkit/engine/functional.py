"""The functional Model: a graph of layer calls from ``Input`` tensors to outputs.

    encoder_inputs = Input(shape=(None, num_encoder_tokens))
    _, state_h, state_c = LSTM(latent_dim, return_state=True)(encoder_inputs)
    decoder_inputs = Input(shape=(None, num_decoder_tokens))
    decoder_outputs, _, _ = LSTM(latent_dim, return_sequences=True, return_state=True)(
        decoder_inputs, initial_state=[state_h, state_c])
    decoder_outputs = Dense(num_decoder_tokens, activation="softmax")(decoder_outputs)
    model = Model([encoder_inputs, decoder_inputs], decoder_outputs)

``Model(inputs, outputs)`` takes a tensor, a list or a dict for each, as Keras does;
``fit`` / ``predict`` take the inputs as a list in that order or a dict by input name,
and the targets likewise per output. The nodes run in a topological order; each
tensor carries its mask (Keras' rules: a layer gets the mask of its first input, a
merge layer the list of masks; ``mask=`` given at the call wins). Backward walks the
nodes in reverse, summing the gradients of tensors read by several layers and routing
``initial_state`` gradients to the states' producers.

``seed=`` seeds what fit draws when it gets no seed of its own (shuffling, dropout); the
initial weights come from each layer's ``seed=``, as the layers are built when called.

A layer called more than once in one model (a shared layer) can predict, not train:
lstmkit's layers keep one forward's cache for their backward. Models made from the
layers of a trained model (the seq2seq inference models) each call a layer once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..layers import graph
from ..layers.graph import KerasTensor
from ..layers.input_layer import InputLayer
from ..training.data import Samples
from .base import BaseModel

__all__ = ["Model"]


def _tensors(x, what):
    """(list of KerasTensors, names or None) from a tensor, a list/tuple or a dict."""
    if isinstance(x, KerasTensor):
        return [x], None
    if isinstance(x, dict):
        ts, names = list(x.values()), list(x)
    elif isinstance(x, (list, tuple)):
        ts, names = list(x), None
    else:
        raise TypeError(f"Model {what} must be KerasTensors (from Input / layer calls), got {x!r}")
    if not ts or not all(isinstance(t, KerasTensor) for t in ts):
        raise TypeError(f"Model {what} must be KerasTensors (from Input / layer calls), got {x!r}")
    return ts, names


class Model(BaseModel):
    def __init__(
        self, inputs=None, outputs=None, name: str = "functional", seed=None, trainable: bool = True
    ):
        if inputs is None or outputs is None:
            raise TypeError(
                "lstmkit's Model is Keras' functional API, Model(inputs, outputs); a subclassed "
                "model (a call() method) is not supported: lstmkit has no automatic "
                "differentiation for arbitrary Python code"
            )
        super().__init__(name, seed, trainable)
        self._inputs, in_names = _tensors(inputs, "inputs")
        self._outputs, out_names = _tensors(outputs, "outputs")
        for t in self._inputs:
            if not isinstance(t.node.layer, InputLayer):
                raise ValueError(f"Model inputs must come from Input(…), got {t}")
        self.nodes = graph.walk(self._outputs)
        given = {id(t.node) for t in self._inputs}
        for node in self.nodes:
            if isinstance(node.layer, InputLayer) and id(node) not in given:
                raise ValueError(
                    f"the outputs depend on the input {node.layer.name!r}, which is not among "
                    f"the model's inputs"
                )
        self.nodes = [t.node for t in self._inputs] + [
            n for n in self.nodes if not isinstance(n.layer, InputLayer)
        ]
        self.layers = []
        seen: dict[int, int] = {}
        for node in self.nodes:
            k = id(node.layer)
            seen[k] = seen.get(k, 0) + 1
            if seen[k] == 1:
                self.layers.append(node.layer)
        self.shared = [layer.name for layer in self.layers if seen[id(layer)] > 1]
        self._unique_names()
        self.input_names = in_names or [t.node.layer.name for t in self._inputs]
        self._output_names = out_names or self._default_output_names()
        self.input_shape = self._one_or_list([t.shape[1:] for t in self._inputs])
        self.output_shape = self._one_or_list([t.shape[1:] for t in self._outputs])
        readers: dict[int, int] = {}
        for node in self.nodes:
            for t in node.inputs:
                readers[t.uid] = readers.get(t.uid, 0) + 1
        for t in self._outputs:
            readers[t.uid] = readers.get(t.uid, 0) + 1
        self._readers = readers
        self.seed_layers()
        self._flatten()
        self.built = True

    @staticmethod
    def _one_or_list(shapes):
        return shapes[0] if len(shapes) == 1 else shapes

    def _unique_names(self):
        names: set[str] = set()
        for layer in self.layers:
            if layer.name in names:
                base, k = layer.name, 1
                while f"{base}_{k}" in names:
                    k += 1
                layer.name = f"{base}_{k}"
            names.add(layer.name)

    def _default_output_names(self):
        out: list[str] = []
        for t in self._outputs:
            layer = t.node.layer
            name = layer.name if not t.node.many_outputs else f"{layer.name}_{t.index}"
            out.append(name if name not in out else f"{name}_{len(out)}")
        return out

    @property
    def output_names(self) -> list[str]:
        return list(self._output_names)

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def input(self):
        """Keras' ``model.input``: the input tensor, or the list of them."""
        return self._one_or_list(list(self._inputs))

    @property
    def output(self):
        """Keras' ``model.output``: the output tensor, or the list of them."""
        return self._one_or_list(list(self._outputs))

    def build(self, input_shape=None) -> None:
        """A functional model is built when it is made (its inputs say the shapes)."""

    # ------------------------------------------------------------ computation
    def _arrays(self, x) -> list[np.ndarray]:
        n = len(self._inputs)
        if isinstance(x, dict):
            x = Samples([np.asarray(v) for v in x.values()], keys=list(x))
        if isinstance(x, Samples):
            parts = x.parts
            if x.keys is not None:
                missing = sorted(set(self.input_names) - set(x.keys))
                if missing:
                    raise ValueError(
                        f"inputs {missing} are missing; the model takes {self.input_names}"
                    )
                parts = [parts[x.keys.index(k)] for k in self.input_names]
        elif isinstance(x, (list, tuple)):
            parts = [np.asarray(a) for a in x]
        else:
            parts = [np.asarray(x)]
        if len(parts) != n:
            raise ValueError(f"the model takes {n} input(s) {self.input_names}, got {len(parts)}")
        return parts

    def run(self, x, training=False):
        values: dict[int, object] = {}
        masks: dict[int, object] = {}
        self._activity = []
        for node, xk in zip(self.nodes, self._arrays(x), strict=False):  # the inputs first
            values[node.outputs[0].uid] = node.layer.forward(xk)
            masks[node.outputs[0].uid] = None
        for node in self.nodes[len(self._inputs) :]:
            layer = node.layer
            pos = node.inputs[: node.n_positional]
            arg = [values[t.uid] for t in pos] if node.many_inputs else values[pos[0].uid]
            mask: Any = [masks[t.uid] for t in pos] if node.many_inputs else masks[pos[0].uid]
            if "mask" in node.tensor_kwargs:
                mask = np.asarray(values[node.tensor_kwargs["mask"][0].uid], bool)
            if node.many_inputs and all(m is None for m in mask):
                mask = None
            kw = {k: v for k, v in node.const_kwargs.items() if k != "training"}
            if "initial_state" in node.tensor_kwargs:
                kw["initial_state"] = [values[t.uid] for t in node.tensor_kwargs["initial_state"]]
            y = layer.forward(
                arg, training=node.const_kwargs.get("training", training), mask=mask, **kw
            )
            outs = list(y) if node.many_outputs else [y]
            m = layer.compute_mask(arg, mask)
            ms = (
                m if isinstance(m, list) and len(m) == len(outs) else [m] + [None] * (len(outs) - 1)
            )
            for t, v, mk in zip(node.outputs, outs, ms, strict=True):
                values[t.uid], masks[t.uid] = v, mk
            if layer.activity_regularizer is not None:
                self._activity.extend((layer, v) for v in outs)
        self._values = values
        return [values[t.uid] for t in self._outputs], [masks[t.uid] for t in self._outputs]

    def compute_gradients(self, x, y, training=True):
        if self.shared:
            raise NotImplementedError(
                f"layers {self.shared} are called more than once in this model (shared "
                f"layers): lstmkit can predict with such a model but not train it"
            )
        return super().compute_gradients(x, y, training)

    def backprop(self, douts, logits) -> None:
        for g in self._buffers.grads.values():  # layers no gradient reaches get none
            g.fill(0)
        grads: dict[int, np.ndarray] = {}

        def add(t, d):
            if d is not None:
                grads[t.uid] = d if t.uid not in grads else grads[t.uid] + d

        for t, d in zip(self._outputs, douts, strict=True):
            add(t, d)
        from_logits = {id(self._outputs[k].node): dz for k, dz in logits.items()}
        acts: dict[int, list] = {}
        for layer, v in self._activity:
            acts.setdefault(id(layer), []).append(v)
        for node in reversed(self.nodes[len(self._inputs) :]):
            layer = node.layer
            if id(node) in from_logits:
                dx = layer.backward_from_logits(from_logits[id(node)])
            else:
                gs = [grads.get(t.uid) for t in node.outputs]
                if all(g is None for g in gs):
                    continue  # nothing below this node reaches the loss
                vals = [self._values[t.uid] for t in node.outputs]
                gs = [np.zeros_like(v) if g is None else g for g, v in zip(gs, vals, strict=True)]
                for j, v in enumerate(acts.get(id(layer), [])):
                    gs[j] = gs[j] + self.activity_gradient(layer, v)
                dx = layer.backward(tuple(gs) if node.many_outputs else gs[0])
            pos = node.inputs[: node.n_positional]
            if node.many_inputs:
                for t, d in zip(pos, dx, strict=True):
                    add(t, d)
            else:
                add(pos[0], dx)
            states = node.tensor_kwargs.get("initial_state")
            if states:
                for t, d in zip(states, layer.initial_state_grads, strict=True):
                    add(t, d)

    def logits_layer(self, k):
        t = self._outputs[k]
        if t.node.many_outputs or self._readers.get(t.uid, 0) != 1:
            return None
        return t.node.layer

    # ------------------------------------------------------------ printing, io
    def summary_rows(self):
        rows, counted = [], set()
        for node in self.nodes:
            layer = node.layer
            shapes = [t.shape for t in node.outputs]
            shape = str(shapes[0]) if len(shapes) == 1 else str(shapes)
            src = ", ".join(
                f"{t.node.layer.name}[0][{t.index}]" for t in node.inputs[: node.n_positional]
            )
            count = f"{layer.count_params() if id(layer) not in counted else 0:,}"
            counted.add(id(layer))
            rows.append((f"{layer.name} ({type(layer).__name__})", shape, count, src or "-"))
        return rows

    def get_config(self) -> dict:
        """Layers (each ``{"type", "config"}``) and the graph: every node as
        ``{"layer": i, "inputs": [[node, output], …], "positional": n, "list": bool,
        "initial_state": n, "mask": bool, "training": …}`` in a topological order
        (inputs refer to earlier nodes only), the inputs and outputs as [node, output]."""
        index = {id(layer): i for i, layer in enumerate(self.layers)}
        at = {id(node): j for j, node in enumerate(self.nodes)}
        nodes = []
        for node in self.nodes:
            nodes.append(
                {
                    "layer": index[id(node.layer)],
                    "inputs": [[at[id(t.node)], t.index] for t in node.inputs],
                    "positional": node.n_positional,
                    "list": node.many_inputs,
                    "initial_state": len(node.tensor_kwargs.get("initial_state", [])),
                    "mask": "mask" in node.tensor_kwargs,
                    "training": node.const_kwargs.get("training"),
                    "causal": node.const_kwargs.get("use_causal_mask", False),
                }
            )
        return {
            "name": self.name,
            "layers": [
                {"type": layer.type_name, "config": layer.get_config()} for layer in self.layers
            ],
            "graph": {
                "nodes": nodes,
                "inputs": [[at[id(t.node)], t.index] for t in self._inputs],
                "outputs": [[at[id(t.node)], t.index] for t in self._outputs],
                "input_names": self.input_names,
                "output_names": self.output_names,
            },
            "input_shape": list(self._inputs[0].shape[1:]),
        }

    @classmethod
    def from_graph(cls, layers: list, graph_cfg: dict, name: str = "functional"):
        """Rebuild a model from its layers (made from their configs) and a checked graph:
        each node's layer is called again on the tensors of the nodes before it."""
        made: list[list[KerasTensor]] = []
        for nd in graph_cfg["nodes"]:
            layer = layers[nd["layer"]]
            if isinstance(layer, InputLayer):
                made.append([layer.output])
                continue
            ins = [made[j][k] for j, k in nd["inputs"]]
            p, n_state = nd["positional"], nd["initial_state"]
            pos, rest = ins[:p], ins[p:]
            kw: dict[str, Any] = {}
            if n_state:
                kw["initial_state"] = rest[:n_state]
            if nd["mask"]:
                kw["mask"] = rest[n_state]
            if nd["training"] is not None:
                kw["training"] = nd["training"]
            if nd.get("causal"):
                kw["use_causal_mask"] = True
            out = layer(pos if nd["list"] else pos[0], **kw)
            made.append(out if isinstance(out, list) else [out])
        inputs = [made[j][k] for j, k in graph_cfg["inputs"]]
        outputs: Any = [made[j][k] for j, k in graph_cfg["outputs"]]
        out_names = graph_cfg.get("output_names")
        if out_names and len(out_names) == len(outputs) and len(outputs) > 1:
            outputs = dict(zip(out_names, outputs, strict=True))
        model = cls(
            inputs if len(inputs) > 1 else inputs[0],
            outputs if isinstance(outputs, dict) or len(outputs) > 1 else outputs[0],
            name=name,
        )
        return model

    def __repr__(self):
        return f"Model({self.name!r}, inputs={self.input_names}, outputs={self.output_names})"
