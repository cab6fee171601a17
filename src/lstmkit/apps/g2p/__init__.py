"""``lstmkit g2p``: grapheme-to-phoneme conversion on CMUdict with an attention
encoder–decoder (:mod:`lstmkit.seq2seq`). ``data`` (vocabularies, batches), ``train``
(the training job), ``decode`` (loading, pronouncing, scoring), ``plots``, ``cli``."""
