"""lstmkit — the LSTM, readable and fast, in NumPy.

    from lstmkit import Sequential, LSTM, Dense
    model = Sequential([LSTM(64), Dense(10, activation="softmax")])

Keras programs run with their imports changed: ``import lstmkit as keras`` (or
``from lstmkit import layers, models, optimizers, callbacks``) gives ``keras.Input``,
``keras.Model``, ``keras.Sequential``, ``keras.layers.*``, ``keras.optimizers.*`` (Keras'
arithmetic), ``keras.callbacks.*``, ``keras.losses``, ``keras.metrics``,
``keras.initializers``, ``keras.regularizers``, ``keras.constraints``, ``keras.utils``.

This file only hands the public names on; nothing inside the package imports it.
"""

# isort: off
# io first: importing lstmkit.io runs its interop modules, which import the models, which
# import io's file format; starting from io makes that one chain, without a half-made module
from .io import load_model, save_model

from . import (
    callbacks,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optim,
    optimizers,
    regularizers,
    utils,
)

# isort: on
from .engine import Model, Sequential
from .layers import (
    GRU,
    LSTM,
    Activation,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    Input,
    Layer,
    SimpleRNN,
)
from .version import __version__

__all__ = [
    "GRU",
    "LSTM",
    "Activation",
    "Bidirectional",
    "Dense",
    "Dropout",
    "Embedding",
    "Input",
    "Layer",
    "Model",
    "Sequential",
    "SimpleRNN",
    "__version__",
    "callbacks",
    "constraints",
    "initializers",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "models",
    "optim",
    "optimizers",
    "regularizers",
    "save_model",
    "utils",
]
