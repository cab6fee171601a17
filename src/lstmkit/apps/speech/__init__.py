"""lstmkit speech: spoken digit strings, bidirectional LSTM + CTC (see job.py)."""
