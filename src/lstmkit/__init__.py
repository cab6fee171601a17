"""lstmkit — the LSTM, readable and fast, in NumPy.

    from lstmkit import Sequential, LSTM, Dense
    model = Sequential([LSTM(64), Dense(10, activation="softmax")])
"""
from .layers import (LSTM, Activation, Bidirectional, Dense, Dropout, Embedding,  # noqa: F401
                     Layer)

__version__ = "0.1.0"
