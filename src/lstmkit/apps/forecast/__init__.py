"""``lstmkit forecast``: a direct multi-step LSTM forecast, backtested against the
naive and seasonal-naive forecasts (:mod:`.job`; the command line in :mod:`.cli`)."""
