"""Layer objects. Each follows the contract in :mod:`lstmkit.layers.base`.
layers import only from lstmkit.core."""

from .attention import AdditiveAttention, Attention
from .base import Layer
from .bidirectional import Bidirectional
from .conv import Conv1D
from .gru import GRU
from .masking import Masking
from .noise import GaussianNoise
from .pooling import AttentionPooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D
from .recurrent import LSTM, Recurrent
from .simple import Activation, Dense, Dropout, Embedding
from .simple_rnn import SimpleRNN
from .variants import VARIANTS  # LSTM variants: PeepholeLSTM, CIFGLSTM, LayerNormLSTM, LSTMP, …

#: the allow-list of layer types a saved config may name (see lstmkit.io)
LAYER_TYPES = {
    cls.type_name: cls
    for cls in (Dense, Activation, Dropout, Embedding, LSTM, GRU, SimpleRNN)
    + (Conv1D, GaussianNoise, Masking)
    + (GlobalAveragePooling1D, GlobalMaxPooling1D, AttentionPooling1D)
}
LAYER_TYPES.update({cls.type_name: cls for cls in VARIANTS})

__all__ = [
    "Layer",
    "Activation",
    "Dense",
    "Dropout",
    "Embedding",
    "LSTM",
    "GRU",
    "SimpleRNN",
    "Recurrent",
    "Bidirectional",
    "Attention",
    "AdditiveAttention",
    "Conv1D",
    "GaussianNoise",
    "Masking",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "AttentionPooling1D",
    "LAYER_TYPES",
]
