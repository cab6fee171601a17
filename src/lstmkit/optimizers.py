"""Keras' face of :mod:`lstmkit.optim`: the same optimizers with Keras' arithmetic by default.

    from lstmkit import optimizers                  # in place of: from keras import optimizers
    opt = optimizers.Adam(learning_rate=1e-3)        # convention="keras": Keras 3's numbers
    lr = optimizers.schedules.ExponentialDecay(1e-2, decay_steps=100, decay_rate=0.9)

Each class here is the :mod:`lstmkit.optim` class of the same name with
``convention="keras"`` as its default (Adam's ε on the uncorrected √v, RMSprop's
√(v + ε), decoupled weight decay, …; see :mod:`lstmkit.optim.base`). Saved models keep
the convention in their training config. ``lstmkit.optim`` keeps PyTorch's rules, and
``compile(optimizer="adam")`` (a name) uses those, as before.
"""

from __future__ import annotations

from . import optim
from .optim import schedules
from .optim.base import Optimizer


def _keras_default(cls):
    def __init__(self, *args, convention="keras", **kw):
        cls.__init__(self, *args, convention=convention, **kw)

    return type(
        cls.__name__, (cls,), {"__init__": __init__, "__doc__": cls.__doc__, "__module__": __name__}
    )


SGD = _keras_default(optim.SGD)
Adam = _keras_default(optim.Adam)
AdamW = _keras_default(optim.AdamW)
RMSprop = _keras_default(optim.RMSprop)
Adagrad = _keras_default(optim.Adagrad)
Adadelta = _keras_default(optim.Adadelta)
Adamax = _keras_default(optim.Adamax)
Nadam = _keras_default(optim.Nadam)
LearningRateSchedule = schedules.LearningRateSchedule


def get(identifier) -> Optimizer:
    """A Keras optimizer name ('adam', 'sgd', …) made with Keras' convention, or an instance."""
    return optim.get(identifier, convention="keras")


__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "Nadam",
    "Optimizer",
    "LearningRateSchedule",
    "get",
    "schedules",
]
