"""Layer objects. Each follows the contract in :mod:`lstmkit.layers.base`.
layers import only from lstmkit.core."""
from .base import Layer
from .simple import Activation, Dense, Dropout, Embedding
from .recurrent import LSTM, Recurrent
from .bidirectional import Bidirectional

#: the allow-list of layer types a saved config may name (see lstmkit.io)
LAYER_TYPES = {cls.type_name: cls for cls in (Dense, Activation, Dropout, Embedding, LSTM)}

__all__ = ["Layer", "Activation", "Dense", "Dropout", "Embedding", "LSTM",
           "Recurrent", "Bidirectional", "LAYER_TYPES"]
