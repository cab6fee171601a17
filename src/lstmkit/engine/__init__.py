"""The models' engine: :class:`Sequential` (a stack of layers) and the functional
:class:`Model` (a graph of layer calls from ``Input`` tensors), both with Keras' training
API; what they share lives once in :class:`~lstmkit.engine.base.BaseModel`.

Import them from :mod:`lstmkit` or :mod:`lstmkit.models` (Keras' names); this package sits
below the file format's loader (:mod:`lstmkit.io.save`), which builds them.
"""

from .base import BaseModel, FlatBuffers
from .functional import Model
from .sequential import Sequential

__all__ = ["BaseModel", "FlatBuffers", "Model", "Sequential"]
