"""Layer objects with Keras' names and arguments. Each follows the contract in
:mod:`lstmkit.layers.base`. layers import only from lstmkit.core.

    from lstmkit import layers
    x = layers.Input(shape=(None, 8))
    y = layers.Dense(1)(layers.LSTM(32)(x))
"""

from . import initializers, regularizers
from .attention import AdditiveAttention, Attention
from .base import Layer
from .bidirectional import Bidirectional
from .conv import Conv1D
from .graph import KerasTensor
from .gru import GRU
from .input_layer import Input, InputLayer
from .lstm import LSTM
from .masking import Masking
from .merge import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from .noise import GaussianNoise
from .normalization import LayerNormalization
from .pooling import (
    AttentionPooling1D,
    AveragePooling1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    MaxPooling1D,
)
from .recurrent import Recurrent
from .sequence import Flatten, Permute, RepeatVector, Reshape
from .simple import Activation, Dense, Dropout, Embedding
from .simple_rnn import SimpleRNN
from .variants import VARIANTS  # LSTM variants: PeepholeLSTM, CIFGLSTM, LayerNormLSTM, LSTMP, …
from .wrappers import TimeDistributed

#: the allow-list of layer types a saved config may name (see lstmkit.io); the wrappers
#: Bidirectional and TimeDistributed nest one of these
LAYER_TYPES: dict[str, type[Layer]] = {
    cls.type_name: cls
    for cls in (
        Dense,
        Activation,
        Dropout,
        Embedding,
        LSTM,
        GRU,
        SimpleRNN,
        InputLayer,
        Masking,
        RepeatVector,
        Flatten,
        Reshape,
        Permute,
        Conv1D,
        MaxPooling1D,
        AveragePooling1D,
        GlobalAveragePooling1D,
        GlobalMaxPooling1D,
        AttentionPooling1D,
        GaussianNoise,
        Concatenate,
        Add,
        Subtract,
        Multiply,
        Average,
        Maximum,
        Minimum,
        LayerNormalization,
        Attention,
        AdditiveAttention,
    )
}
LAYER_TYPES.update({cls.type_name: cls for cls in VARIANTS})
#: layers that wrap one layer of LAYER_TYPES
WRAPPER_TYPES = {Bidirectional.type_name: Bidirectional, TimeDistributed.type_name: TimeDistributed}

__all__ = [
    "Layer",
    "Input",
    "InputLayer",
    "KerasTensor",
    "Activation",
    "Dense",
    "Dropout",
    "Embedding",
    "LSTM",
    "GRU",
    "SimpleRNN",
    "Recurrent",
    "Bidirectional",
    "TimeDistributed",
    "Masking",
    "RepeatVector",
    "Flatten",
    "Reshape",
    "Permute",
    "Conv1D",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "AttentionPooling1D",
    "GaussianNoise",
    "Concatenate",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "LayerNormalization",
    "Attention",
    "AdditiveAttention",
    "LAYER_TYPES",
    "WRAPPER_TYPES",
    "initializers",
    "regularizers",
]
