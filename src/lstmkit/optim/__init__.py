"""Optimizers over flat parameter buffers, gradient clipping and learning-rate schedules.

    SGD, Adam, AdamW, RMSprop              (:mod:`.classic`)
    Adagrad, Adadelta, Adamax, Nadam       (:mod:`.adaptive`)
    ExponentialDecay, CosineDecay, …       (:mod:`.schedules`, Keras' schedules)

Every optimizer takes ``convention="torch"`` (the default here: PyTorch's update rules,
checked against ``torch.optim``) or ``"keras"`` (Keras 3's ε placement, momentum and
weight decay; the default of the Keras face :mod:`lstmkit.optimizers`). :mod:`.base`
says exactly what differs.
"""

from . import schedules
from .adaptive import Adadelta, Adagrad, Adamax, Nadam
from .base import CONVENTIONS, Optimizer
from .classic import SGD, Adam, AdamW, RMSprop
from .schedules import (
    SCHEDULES,
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
    StepDecay,
)

OPTIMIZERS = {c.__name__: c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam)}
_ALIASES = {name.lower(): cls for name, cls in OPTIMIZERS.items()}


def get(identifier, convention: str = "torch") -> Optimizer:
    """'adam' / 'sgd' / 'rmsprop' / 'adamw' / 'adagrad' / 'adadelta' / 'adamax' / 'nadam'
    (made with ``convention``), or an Optimizer instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _ALIASES:
        return _ALIASES[identifier.lower()](convention=convention)
    raise ValueError(
        f"optimizer must be one of {sorted(_ALIASES)} or an Optimizer, got {identifier!r}"
    )


__all__ = [
    "CONVENTIONS",
    "OPTIMIZERS",
    "SCHEDULES",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "Nadam",
    "Optimizer",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "RMSprop",
    "SGD",
    "StepDecay",
    "get",
    "schedules",
]
