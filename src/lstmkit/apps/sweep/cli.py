"""``lstmkit sweep``: the command-line face of :mod:`.job`."""

from __future__ import annotations

import os
import sys

from ...errors import UserError
from ...parallel import mpi_status_line, world
from ..shared.args import int_in
from .job import expand, load_config, run_local, run_mpi, write_table

HELP = "run a grid of independent trainings (over MPI ranks or local processes) into one table"
DESCRIPTION = f"""\
Train one model per point of a hyper-parameter grid and write one table
(CSV + printed, best validation loss first). Each run: LSTM layers + Dense,
next-step forecasting on windows of a series, 80 % train / 20 % validation.

config (JSON):
  task        "sine" (noisy sine waves, built in), "adding" (the adding problem),
              a bundled series ("co2", "elnino", "sunspots"),
              or {{"csv": "data.csv", "column": "sales"}}
  grid        {{name: [values, ...]}}; every combination is one run
  any of      units (32), layers (1), learning_rate (0.01), batch_size (32),
              epochs (5), lookback (24), optimizer ("adam"), seed (0),
              samples (512, synthetic tasks), length (50, adding)
              as a fixed value at the top level or as a grid axis

example:
  echo '{{"task": "sine", "epochs": 3,
         "grid": {{"units": [8, 16], "learning_rate": [0.01, 0.003]}}}}' > sweep.json
  lstmkit sweep sweep.json --workers 2 --out sweep.csv
  mpiexec -n 4 lstmkit sweep sweep.json --out sweep.csv     # runs spread over 4 ranks

{mpi_status_line()}
"""


def add_arguments(p) -> None:
    p.add_argument("config", help="JSON file: task, grid, fixed parameters (see above)")
    p.add_argument("--out", default="sweep.csv", help="the results table (CSV; default sweep.csv)")
    p.add_argument(
        "--workers",
        type=int_in(1, 1024),
        default=1,
        help="local processes when not under mpiexec, 1..1024 (default 1: this process)",
    )
    p.add_argument("--quiet", action="store_true", help="print only the table")


def run(args) -> int:

    cfg = load_config(args.config)
    jobs = expand(cfg)
    comm = world(timeout=float(os.environ.get("LSTMKIT_SWEEP_TIMEOUT", 7 * 24 * 3600)))
    say = (
        (lambda s: None)
        if args.quiet or not comm.is_root
        else (lambda s: print(s, file=sys.stderr, flush=True))
    )
    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    if comm.size > 1:
        if args.workers > 1:
            raise UserError(
                "--workers is for runs without MPI; under mpiexec the ranks are the workers"
            )
        say(f"sweep: {len(jobs)} runs over {comm.size} MPI ranks")
        rows = run_mpi(jobs, comm, say)
        if rows is None:
            return 0
    else:
        say(f"sweep: {len(jobs)} runs over {min(args.workers, len(jobs))} local process(es)")
        rows = run_local(jobs, args.workers, say)
    table = write_table(rows, list(cfg["grid"]), args.out)
    print(table)
    print(f"\nwrote {args.out} ({len(rows)} runs)")
    return 0
