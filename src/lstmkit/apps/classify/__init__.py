"""``lstmkit classify``: sequence classification (multivariate series or texts)
(:mod:`.job`; the command line in :mod:`.cli`)."""
