"""lstmkit — the LSTM, readable and fast, in NumPy.

    from lstmkit import Sequential, LSTM, Dense
    model = Sequential([LSTM(64), Dense(10, activation="softmax")])

This file only hands the public names on; nothing inside the package imports it.
"""

from . import callbacks, losses, metrics, optim
from .io import load_model, save_model
from .layers import (
    GRU,
    LSTM,
    Activation,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    Layer,
    SimpleRNN,
)
from .model import Sequential
from .version import __version__

__all__ = [
    "GRU",
    "LSTM",
    "Activation",
    "Bidirectional",
    "Dense",
    "Dropout",
    "Embedding",
    "Layer",
    "Sequential",
    "SimpleRNN",
    "__version__",
    "callbacks",
    "load_model",
    "losses",
    "metrics",
    "optim",
    "save_model",
]
