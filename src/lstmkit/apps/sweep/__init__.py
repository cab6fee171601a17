"""``lstmkit sweep``: a grid of independent trainings over MPI ranks or local processes
(:mod:`.job`; local workers in :mod:`.worker`; the command line in :mod:`.cli`)."""
