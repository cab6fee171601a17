"""Sequence to sequence: an encoder–decoder LSTM with attention (a model class of its own,
to be folded into the functional Model when that lands), greedy and beam-search decoding,
and its safetensors file format."""

from .model import BOS, EOS, PAD, Encoded, Seq2Seq, Seq2SeqConfig

__all__ = ["BOS", "EOS", "PAD", "Encoded", "Seq2Seq", "Seq2SeqConfig"]
