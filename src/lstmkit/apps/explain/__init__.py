"""``lstmkit explain``: one LSTM time step through its four gates, as a page or tables
(:mod:`.job`; the command line in :mod:`.cli`)."""
