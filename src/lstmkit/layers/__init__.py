"""Layer objects. Each follows the contract in :mod:`lstmkit.layers.base`.
layers import only from lstmkit.core."""

from .attention import AdditiveAttention, Attention
from .base import Layer
from .bidirectional import Bidirectional
from .gru import GRU
from .recurrent import LSTM, Recurrent
from .simple import Activation, Dense, Dropout, Embedding
from .simple_rnn import SimpleRNN
from .variants import VARIANTS  # LSTM variants: PeepholeLSTM, CIFGLSTM, LayerNormLSTM, LSTMP, …

#: the allow-list of layer types a saved config may name (see lstmkit.io)
LAYER_TYPES = {
    cls.type_name: cls for cls in (Dense, Activation, Dropout, Embedding, LSTM, GRU, SimpleRNN)
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
    "LAYER_TYPES",
]
