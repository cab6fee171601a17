"""``lstmkit info``: the version, and which kernel runs the recurrent loops here."""
