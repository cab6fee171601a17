"""The models, under the name they have always been imported by:
``from lstmkit.model import Sequential`` (they live in :mod:`lstmkit.engine`)."""

from .engine import BaseModel, FlatBuffers, Model, Sequential

__all__ = ["BaseModel", "FlatBuffers", "Model", "Sequential"]
