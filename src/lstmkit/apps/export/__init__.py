"""``lstmkit export``: a saved model to ONNX (the command line; the work is in
:mod:`lstmkit.io`)."""
