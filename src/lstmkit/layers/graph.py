"""Symbolic tensors and the call graph behind the functional API.

    inputs = Input(shape=(T, D))                       # a KerasTensor, shape (None, T, D)
    h, state_h, state_c = LSTM(64, return_state=True)(inputs)
    outputs = Dense(1)(h)
    model = Model(inputs, outputs)                     # lstmkit.models.Model

A layer called on a :class:`KerasTensor` (or a list of them) builds itself from the
symbolic shapes, computes no numbers, and returns new KerasTensors whose ``node``
records the call: the layer, its input tensors (positional ones first, then those
given as ``initial_state=`` / ``mask=``) and constant keyword arguments
(``training=``). :func:`walk` turns the nodes behind a model's outputs into a
topological order; the model runs them (and their backward passes) in that order.

Shapes here always include the batch axis (None unless ``Input(batch_size=…)``).
This module knows layers only by their methods (``build``, ``compute_output_shape``,
``dtype``), so :mod:`.base` can import it.
"""

from __future__ import annotations

import inspect
import itertools

__all__ = [
    "TENSOR_KWARGS",
    "CONST_KWARGS",
    "KerasTensor",
    "Node",
    "flatten",
    "is_symbolic",
    "symbolic_call",
    "check_built_for",
    "walk",
]

#: keyword arguments a layer call may take as symbolic tensors
TENSOR_KWARGS = ("initial_state", "mask")
#: keyword arguments a layer call may take as constants (Attention's use_causal_mask)
CONST_KWARGS = ("training", "use_causal_mask")

_ids = itertools.count()


class KerasTensor:
    """A symbolic tensor: a shape (batch axis first, None where unknown) and a dtype."""

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = str(dtype)
        self.node = node  # the Node whose output this is
        self.index = index  # which output of that node
        self.name = name
        self.uid = next(_ids)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # arithmetic on symbolic tensors would need layers lstmkit does not have (Lambda)
    def __array__(self, *a, **k):
        raise TypeError(
            "a KerasTensor (from Input or a layer called on one) has no values; "
            "build a Model(inputs, outputs) and call model.predict(x)"
        )


class Node:
    """One layer call in the graph."""

    def __init__(self, layer, inputs, many_inputs, tensor_kwargs, const_kwargs):
        self.layer = layer
        self.inputs: list[KerasTensor] = inputs  # positional tensor(s), then kwarg tensors
        self.many_inputs = many_inputs  # the positional argument was a list
        self.n_positional = len(inputs) - sum(len(v) for v in tensor_kwargs.values())
        self.tensor_kwargs = tensor_kwargs  # name → [KerasTensor, …] (initial_state, mask)
        self.const_kwargs = const_kwargs  # name → constant (training)
        self.outputs: list[KerasTensor] = []
        self.many_outputs = False


def flatten(x) -> list:
    if isinstance(x, (list, tuple)):
        return [t for e in x for t in flatten(e)]
    if isinstance(x, dict):
        return [t for e in x.values() for t in flatten(e)]
    return [x]


def is_symbolic(x, args=(), kw=None) -> bool:
    every = flatten(x) + flatten(list(args)) + flatten(list((kw or {}).values()))
    return any(isinstance(t, KerasTensor) for t in every)


def symbolic_call(layer, x, args, kw):
    """Record ``layer(x, **kw)`` on KerasTensors; return the output KerasTensor(s)."""
    name = type(layer).__name__
    if args:
        raise TypeError(f"{name}: a layer call takes one positional input (a tensor or a list)")
    if getattr(layer, "is_model", False):
        raise TypeError(
            f"calling a model ({layer.name!r}) on symbolic tensors (a nested model) is not "
            f"supported by lstmkit: call its layers on the tensors instead"
        )
    many = isinstance(x, (list, tuple))
    xs = list(x) if many else [x]
    if not xs or not all(isinstance(t, KerasTensor) for t in xs):
        raise TypeError(f"{name}: expected KerasTensor input(s), got {x!r}")
    tensor_kwargs, const_kwargs = {}, {}
    for k, v in kw.items():
        if v is None:
            continue
        if k in TENSOR_KWARGS:
            vs = flatten(v)
            if not all(isinstance(t, KerasTensor) for t in vs):
                raise TypeError(f"{name}: {k}= must be symbolic tensors here, got {v!r}")
            tensor_kwargs[k] = vs
        elif k in CONST_KWARGS:
            if k not in inspect.signature(layer.forward).parameters:
                raise TypeError(f"{name} takes no {k}=")
            const_kwargs[k] = v
        else:
            raise TypeError(
                f"{name}: unsupported call argument {k}=; lstmkit layers take "
                f"{', '.join(TENSOR_KWARGS + CONST_KWARGS)}"
            )
    if (
        "initial_state" in tensor_kwargs
        and "initial_state" not in inspect.signature(layer.forward).parameters
    ):
        raise TypeError(f"{name} takes no initial_state= (only recurrent layers do)")
    shapes = [t.shape for t in xs] if many else xs[0].shape
    if not layer.built:
        layer.build(shapes)
    else:
        check_built_for(layer, shapes)
    out_shape = layer.compute_output_shape(shapes)
    node = Node(
        layer,
        xs + [t for v in tensor_kwargs.values() for t in v],
        many,
        tensor_kwargs,
        const_kwargs,
    )
    dtype = getattr(getattr(layer, "dtype", None), "name", "float32")
    out: list[KerasTensor] | KerasTensor
    if isinstance(out_shape, list):
        node.many_outputs = True
        node.outputs = [
            KerasTensor(s, dtype, node, k, f"{layer.name}/{k}") for k, s in enumerate(out_shape)
        ]
        out = list(node.outputs)
    else:
        node.outputs = [KerasTensor(out_shape, dtype, node, 0, layer.name)]
        out = node.outputs[0]
    layer.input, layer.output = x, out  # Keras' layer.input / layer.output (the last call)
    return out


def check_built_for(layer, shapes) -> None:
    """A layer built already (a shared layer, or one built by hand) must see the feature
    size it was built for."""
    want = getattr(layer, "input_shape", None)
    if want is None or isinstance(shapes, list) or not want:
        return
    got = shapes[-1]
    if got is not None and want[-1] is not None and got != want[-1]:
        raise ValueError(
            f"{layer.name} ({type(layer).__name__}) was built for inputs with "
            f"{want[-1]} features, got a tensor of shape {shapes}"
        )


def walk(outputs: list[KerasTensor]) -> list[Node]:
    """Every node the outputs depend on, each after the nodes it reads from."""
    order: list[Node] = []
    state: dict[int, int] = {}  # id(node) → 1 in progress, 2 done
    stack = [(t.node, False) for t in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            state[key] = 2
            order.append(node)
            continue
        if state.get(key) == 2:
            continue
        if state.get(key) == 1:
            raise ValueError("the layer graph has a cycle")
        state[key] = 1
        stack.append((node, True))
        for t in reversed(node.inputs):
            if state.get(id(t.node)) != 2:
                stack.append((t.node, False))
    return order
