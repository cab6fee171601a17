"""Keras' ``keras.regularizers`` and ``keras.constraints``: ``regularizers.L2(0.01)``,
``constraints.MaxNorm(3)`` (the classes live in :mod:`lstmkit.layers.regularizers`)."""

from .layers.regularizers import (  # noqa: F401
    L1,
    L1L2,
    L2,
    Constraint,
    MaxNorm,
    MinMaxNorm,
    NonNeg,
    Regularizer,
    UnitNorm,
    get_constraint,
    get_regularizer,
)

l1, l2, l1_l2 = L1, L2, L1L2  # Keras' lower-case aliases
get = get_regularizer

__all__ = ["L1", "L2", "L1L2", "Regularizer", "get", "l1", "l2", "l1_l2"]
