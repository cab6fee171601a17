"""``lstmkit textgen``: a character-level language model (char-rnn) and sampling
(:mod:`.job`; the command line in :mod:`.cli`)."""
