"""The math: cells and sequence kernels, forward and backward, no state.

``reference`` is the readable specification, one step at a time; ``lstm`` is the
fast path tested against it; ``gru`` and ``rnn`` are the baselines.
core imports nothing from the rest of lstmkit.
"""

from . import activations, lstm, reference

__all__ = ["activations", "lstm", "reference"]
