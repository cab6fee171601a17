"""Keras' ``keras.models``: ``Sequential``, ``Model`` and ``load_model`` in one place.

    from lstmkit.models import Sequential, load_model   # in place of: from keras.models …

The classes live in :mod:`lstmkit.engine`; ``load_model`` is :func:`lstmkit.io.load_model`
(lstmkit's safetensors files, whatever their name: a ``.keras`` file written by Keras is
read by :func:`lstmkit.io.load_keras`).
"""

from .engine import Model, Sequential
from .io import load_model, save_model

__all__ = ["Model", "Sequential", "load_model", "save_model"]
