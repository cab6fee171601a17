"""Models: :class:`Sequential` (a stack of layers) and the functional :class:`Model`
(a graph of layer calls from ``Input`` tensors), both with Keras' training API; what
they share lives once in :class:`~lstmkit.models.base.BaseModel`.

    from lstmkit.models import Model, Sequential      # as keras.models
"""

from .base import BaseModel, FlatBuffers
from .functional import Model
from .sequential import Sequential

__all__ = ["BaseModel", "FlatBuffers", "Model", "Sequential"]
