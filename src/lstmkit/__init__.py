"""lstmkit — the LSTM, readable and fast, in NumPy.

from lstmkit import Sequential, LSTM, Dense
model = Sequential([LSTM(64), Dense(10, activation="softmax")])
"""

from . import callbacks, losses, metrics, optim  # noqa: F401
from .io import load_model, save_model  # noqa: F401
from .layers import (
    GRU,
    LSTM,
    Activation,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,  # noqa: F401
    Layer,
    SimpleRNN,
)
from .model import Sequential  # noqa: F401

__version__ = "0.1.0"
