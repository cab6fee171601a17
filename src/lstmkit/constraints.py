"""Keras' ``keras.constraints``: ``constraints.MaxNorm(2.0)``, ``NonNeg()``, ``UnitNorm()``,
``MinMaxNorm()`` (the classes live in :mod:`lstmkit.layers.regularizers`)."""

from .layers.regularizers import Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm, get_constraint

get = get_constraint

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get"]
