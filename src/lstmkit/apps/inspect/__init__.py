"""``lstmkit inspect``: what a model file holds and where it came from."""
