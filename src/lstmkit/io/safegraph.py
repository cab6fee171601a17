"""A functional model's graph read from a file we do not trust: checked before anything is built.

The graph (metadata ``graph``, see :meth:`lstmkit.engine.Model.get_config`) is data: nodes
naming a layer of ``config`` by its index and reading earlier nodes' outputs. Checked
here: the keys, the bounds, every reference pointing at an *earlier* node (so there is no
cycle and no forward reference), only InputLayer nodes without inputs, the model's inputs
at InputLayer nodes, plain names. Shapes are checked when the model is rebuilt by calling
the layers on symbolic tensors; anything wrong raises :class:`lstmkit.errors.ModelFileError`.
"""

from __future__ import annotations

from ..errors import ModelFileError
from ..layers import InputLayer
from .safefile import plain_value

MAX_NODES = 1024

__all__ = ["MAX_NODES", "check_graph"]


def _ref(path, where, r, n_nodes, outputs_of):
    if (
        not isinstance(r, list)
        or len(r) != 2
        or not all(type(v) is int for v in r)
        or not 0 <= r[0] < n_nodes
        or not 0 <= r[1] < outputs_of(r[0])
    ):
        raise ModelFileError(
            f"{path}: {where} refers to {str(r)[:40]}, not an earlier node's output"
        )


def check_graph(path, g, checked) -> None:
    """A functional model's graph: bounded, each node's layer in ``config``, each input a
    [node, output] of an earlier node, inputs pointing at InputLayer nodes, outputs at
    existing ones. Shapes are checked when the model is rebuilt (by calling the layers)."""
    keys = {"nodes", "inputs", "outputs", "input_names", "output_names"}
    if not isinstance(g, dict) or set(g) != keys:
        raise ModelFileError(f"{path}: graph expected keys {sorted(keys)}")
    nodes = g["nodes"]
    if not isinstance(nodes, list) or not 1 <= len(nodes) <= MAX_NODES:
        raise ModelFileError(f"{path}: graph.nodes must be a list of 1..{MAX_NODES} nodes")
    node_keys = {
        "layer", "inputs", "positional", "list", "initial_state", "mask", "training", "causal",
    }  # fmt: skip
    for j, nd in enumerate(nodes):
        where = f"graph.nodes[{j}]"
        if not isinstance(nd, dict) or set(nd) != node_keys:
            raise ModelFileError(f"{path}: {where} expected keys {sorted(node_keys)}")
        li = nd["layer"]
        if type(li) is not int or not 0 <= li < len(checked):
            raise ModelFileError(f"{path}: {where}.layer = {str(li)[:20]} is not a layer index")
        ins = nd["inputs"]
        if not isinstance(ins, list) or len(ins) > 64:
            raise ModelFileError(f"{path}: {where}.inputs must be a list of ≤ 64 references")
        for r in ins:  # earlier nodes only: no cycles, no forward references
            _ref(path, f"{where}.inputs", r, j, lambda k: 64)
        for k in ("positional", "initial_state"):
            if type(nd[k]) is not int or not 0 <= nd[k] <= len(ins):
                raise ModelFileError(f"{path}: {where}.{k} is not a count of its inputs")
        if any(type(nd[k]) is not bool for k in ("list", "mask", "causal")):
            raise ModelFileError(f"{path}: {where}.list / .mask / .causal must be true or false")
        if nd["positional"] + nd["initial_state"] + int(nd["mask"]) != len(ins):
            raise ModelFileError(f"{path}: {where}: its inputs do not add up")
        if nd["training"] not in (None, True, False):
            raise ModelFileError(f"{path}: {where}.training must be true, false or null")
        is_input = checked[li][0] is InputLayer
        if is_input != (not ins):
            raise ModelFileError(f"{path}: {where}: only InputLayer nodes have no inputs")
    for key in ("inputs", "outputs"):
        refs = g[key]
        if not isinstance(refs, list) or not 1 <= len(refs) <= 64:
            raise ModelFileError(f"{path}: graph.{key} must be a list of 1..64 references")
        for r in refs:
            _ref(path, f"graph.{key}", r, len(nodes), lambda k: 64)
    for r in g["inputs"]:
        if checked[nodes[r[0]]["layer"]][0] is not InputLayer:
            raise ModelFileError(f"{path}: graph.inputs must point at InputLayer nodes")
    for key in ("input_names", "output_names"):
        names = g[key]
        if not isinstance(names, list) or len(names) > 64:
            raise ModelFileError(f"{path}: graph.{key} must be a list of names")
        for nm in names:
            if not isinstance(nm, str):
                raise ModelFileError(f"{path}: graph.{key} must be a list of names")
            plain_value(path, f"graph.{key}", "name", nm)
