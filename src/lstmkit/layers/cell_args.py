"""Keras' weight arguments of a recurrent cell: parsing, refusing, writing them back.

    kernel_initializer="glorot_uniform"   recurrent_initializer="orthogonal"
    bias_initializer="zeros"              kernel_regularizer / recurrent_regularizer /
    bias_regularizer / kernel_constraint / recurrent_constraint / bias_constraint = None

(``recurrent_*`` belongs to the ``recurrent_kernel`` weight, as in Keras.)
"""

from __future__ import annotations

from . import initializers
from .base import constraint_arg, regularizer_arg

__all__ = ["WEIGHT_ARGS", "weight_arguments", "refuse_non_defaults", "config"]

#: Keras' weight arguments of a recurrent cell and their defaults
WEIGHT_ARGS = {
    "kernel_initializer": "glorot_uniform",
    "recurrent_initializer": "orthogonal",
    "bias_initializer": "zeros",
    "kernel_regularizer": None,
    "recurrent_regularizer": None,
    "bias_regularizer": None,
    "kernel_constraint": None,
    "recurrent_constraint": None,
    "bias_constraint": None,
}


def weight_arguments(layer, given: dict) -> tuple[dict, dict, dict]:
    """(initializers, regularizers, constraints) by argument name, each parsed and checked."""
    cls = type(layer).__name__
    inits = {k: initializers.get(v, f"{cls} {k}") for k, v in given.items() if "initializer" in k}
    regs = {k: regularizer_arg(layer, k, v) for k, v in given.items() if "regularizer" in k}
    cons = {k: constraint_arg(layer, k, v) for k, v in given.items() if "constraint" in k}
    return inits, regs, cons


def refuse_non_defaults(layer, given: dict, activation, recurrent_activation) -> None:
    """A cell whose math is fixed (the LSTM variants) takes Keras' defaults only."""
    bad = {k: v for k, v in given.items() if v != WEIGHT_ARGS[k]}
    if layer.activation != "tanh" or layer.recurrent_activation != "sigmoid":
        bad["activation"] = (activation, recurrent_activation)
    if not layer.use_bias:
        bad["use_bias"] = False
    if bad:
        raise ValueError(
            f"{type(layer).__name__} does not support {sorted(bad)}: its cell is fixed (tanh "
            f"and σ, its own weights); LSTM, GRU and SimpleRNN take Keras' cell arguments"
        )


def config(layer) -> dict:
    """The cell arguments of a layer's get_config (plain values: names and spec strings)."""
    out = {
        "activation": layer.activation,
        "use_bias": layer.use_bias,
        "zero_output_for_mask": layer.zero_output_for_mask,
        "unroll": layer.unroll,
        "implementation": layer.implementation,
    }
    if layer.n_gates > 1:
        out["recurrent_activation"] = layer.recurrent_activation
    out.update({k: initializers.config_value(v) for k, v in layer.initializers.items()})
    for d in (layer.weight_regularizers, layer.weight_constraints):
        out.update({k: None if v is None else repr(v) for k, v in d.items()})
    return out
