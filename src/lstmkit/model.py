"""The models, under the name they have always been imported by:
``from lstmkit.model import Sequential`` (they live in :mod:`lstmkit.models`)."""

from .models import BaseModel, FlatBuffers, Model, Sequential

__all__ = ["BaseModel", "FlatBuffers", "Model", "Sequential"]
