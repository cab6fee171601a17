"""``lstmkit longmemory``: long-memory experiments, LSTM vs GRU vs SimpleRNN
(:mod:`.job`; the command line in :mod:`.cli`)."""
