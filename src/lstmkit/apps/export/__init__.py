"""``lstmkit export``: a saved model to ONNX or to C99 (the command line, and the C export's
job metadata in :mod:`.c_job`; the work is in :mod:`lstmkit.io`)."""
