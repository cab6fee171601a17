"""``lstmkit sweep CONFIG``: a grid of independent trainings, one table of results.

The config (JSON) names a task and a grid of hyper-parameters; every point of
the grid (the Cartesian product, in the order the keys are written) is one run:
a stack of LSTM layers + Dense on windows of a series, trained with ``fit`` on
the first 80 % of the windows and scored on the last 20 %. Runs are spread:

* under ``mpiexec -n N``: run k on rank k mod N (each rank trains on its own,
  ``comm=LocalComm()``); rank 0 gathers the rows and writes the table;
* otherwise over ``--workers N`` local processes (``python -m lstmkit.apps.sweep.worker
  --worker``, jobs and results as JSON over pipes: nothing is pickled);
* or in this process (``--workers 1``).

A run is fully determined by its parameters (data, weights and shuffling come
from ``seed``): the table is the same however the runs are spread.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time

import numpy as np

from ... import optim
from ...data import datasets
from ...data.csv import read_table
from ...data.synthetic import adding_problem
from ...data.windows import make_windows
from ...errors import UserError
from ...layers import LSTM, Dense
from ...model import Sequential
from ...parallel import LocalComm
from ..shared.outfiles import write_csv
from ..shared.tables import format_table

PARAMS = {
    "units": 32,
    "layers": 1,
    "learning_rate": 0.01,
    "batch_size": 32,
    "epochs": 5,
    "lookback": 24,
    "optimizer": "adam",
    "seed": 0,
    "samples": 512,
    "length": 50,
}
SERIES = ("co2", "elnino", "sunspots")
RESULT_COLUMNS = ["train_loss", "val_loss", "val_mae", "seconds", "worker"]


# ---------------------------------------------------------------- config
def load_config(path: str) -> dict:
    try:
        with open(path) as f:
            cfg = json.load(f)
    except OSError as e:
        raise UserError(f"cannot read sweep config {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise UserError(
            f"sweep config {path}: expected JSON, got an error at line {e.lineno} "
            f"column {e.colno}: {e.msg}"
        ) from None
    if not isinstance(cfg, dict):
        raise UserError(f"sweep config {path}: expected a JSON object, got {type(cfg).__name__}")
    allowed = set(PARAMS) | {"task", "grid"}
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise UserError(f"sweep config {path}: unknown keys {unknown}; expected {sorted(allowed)}")
    grid = cfg.get("grid", {})
    if not isinstance(grid, dict) or not grid:
        raise UserError(
            f"sweep config {path}: 'grid' must be a non-empty object "
            f"{{name: [values]}}, got {grid!r}"
        )
    for k, v in grid.items():
        if k not in PARAMS:
            raise UserError(
                f"sweep config {path}: grid axis {k!r} is not a parameter; "
                f"expected one of {sorted(PARAMS)}"
            )
        if not isinstance(v, list) or not v:
            raise UserError(f"sweep config {path}: grid[{k!r}] must be a non-empty list, got {v!r}")
    task = cfg.get("task", "sine")
    if not (
        task in ("sine", "adding") + SERIES
        or (isinstance(task, dict) and set(task) == {"csv", "column"})
    ):
        raise UserError(
            f"sweep config {path}: task must be 'sine', 'adding', one of {list(SERIES)} "
            f'or {{"csv": FILE, "column": NAME}}, got {task!r}'
        )
    if isinstance(task, dict):  # a relative CSV path is relative to the config
        task = {
            "csv": os.path.join(os.path.dirname(os.path.abspath(path)), task["csv"]),
            "column": task["column"],
        }
    return {
        "task": task,
        "grid": grid,
        "fixed": {k: cfg.get(k, d) for k, d in PARAMS.items() if k not in grid},
    }


def expand(cfg: dict) -> list[dict]:
    """One job per grid point: {"run": k, "task": …, "params": {…}}."""
    axes = list(cfg["grid"])
    jobs = []
    for k, values in enumerate(itertools.product(*(cfg["grid"][a] for a in axes))):
        params = {**cfg["fixed"], **dict(zip(axes, values, strict=True))}
        jobs.append({"run": k, "task": cfg["task"], "params": params, "axes": axes})
    return jobs


# ---------------------------------------------------------------- one run
def task_data(task, p: dict):
    """(x (n, L, F), y (n, 1)) float32 for the task."""
    L, seed = int(p["lookback"]), int(p["seed"])
    if task == "adding":
        return adding_problem(int(p["samples"]), int(p["length"]), seed=seed)
    if task == "sine":  # noisy sines of random period and phase
        rng = np.random.default_rng(seed)
        n = int(p["samples"])
        t = np.arange(L + 1)[None, :]  # (1, L+1)
        period = rng.uniform(8, 40, (n, 1))
        s = np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi, (n, 1)))
        s = s + 0.05 * rng.normal(size=s.shape)  # (n, L+1)
        return s[:, :L, None].astype(np.float32), s[:, L:].astype(np.float32)
    if isinstance(task, dict):
        series = read_table(task["csv"]).numeric(task["column"])
    else:
        ds = datasets.get(task, "series")
        series = read_table(ds.path).numeric(ds.columns["target"])

    d = np.diff(series)  # changes, standardised
    d = (d - d.mean()) / (d.std() or 1.0)
    try:
        x, y = make_windows(d, d, L, 1)
    except ValueError as e:
        raise UserError(f"task {task!r}: {e}") from None
    return x.astype(np.float32), y.astype(np.float32)


def run_job(job: dict, worker: str) -> dict:

    p = job["params"]
    t0 = time.perf_counter()
    x, y = task_data(job["task"], p)
    cut = int(round(0.8 * len(x)))
    if cut < 1 or cut >= len(x):
        raise UserError(f"run {job['run']}: {len(x)} windows are too few to split 80/20")
    n_layers = int(p["layers"])
    layers = [LSTM(int(p["units"]), return_sequences=k < n_layers - 1) for k in range(n_layers)]
    model = Sequential(layers + [Dense(y.shape[1])], seed=int(p["seed"]))
    opt = optim.get(str(p["optimizer"]))
    opt.learning_rate = float(p["learning_rate"])
    model.compile(optimizer=opt, loss="mse", metrics=["mae"])
    h = model.fit(
        x[:cut],
        y[:cut],
        batch_size=int(p["batch_size"]),
        epochs=int(p["epochs"]),
        verbose=0,
        seed=int(p["seed"]),
        validation_data=(x[cut:], y[cut:]),
        comm=LocalComm(),
    )  # each run on its own, even under mpiexec
    return {
        "run": job["run"],
        **{a: p[a] for a in job["axes"]},
        "train_loss": float(h.history["loss"][-1]),
        "val_loss": float(h.history["val_loss"][-1]),
        "val_mae": float(h.history["val_mae"][-1]),
        "seconds": round(time.perf_counter() - t0, 3),
        "worker": worker,
    }


# ---------------------------------------------------------------- spreading
def run_local(jobs: list[dict], workers: int, say) -> list[dict]:
    if workers <= 1 or len(jobs) <= 1:
        rows = []
        for j in jobs:
            rows.append(run_job(j, "local"))
            say(f"run {j['run'] + 1}/{len(jobs)} done")
        return rows
    workers = min(workers, len(jobs))
    env = {**os.environ, "LSTMKIT_MPI": "0"}
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(v, threads)
    procs = []
    for w in range(workers):  # run k on worker k mod N
        mine = [j for j in jobs if j["run"] % workers == w]
        p = subprocess.Popen(
            [sys.executable, "-m", "lstmkit.apps.sweep.worker", "--worker", f"worker{w}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert p.stdin is not None  # stdin=PIPE
        p.stdin.write(json.dumps(mine))
        p.stdin.close()
        procs.append(p)
    rows = []
    for w, p in enumerate(procs):
        assert p.stdout is not None  # stdout=PIPE
        out = p.stdout.read()
        if p.wait() != 0:
            for q in procs:
                if q.poll() is None:
                    q.kill()
            raise UserError(
                f"sweep worker {w} failed (exit code {p.returncode}); its error is above"
            )
        rows += [json.loads(line) for line in out.splitlines() if line.strip()]
        say(f"worker {w} done")
    return rows


def run_mpi(jobs: list[dict], comm, say) -> list[dict] | None:
    """Run k on rank k mod N; rank 0 gets every row (as JSON bytes), the others None."""
    mine = [run_job(j, f"rank{comm.rank}") for j in jobs if j["run"] % comm.size == comm.rank]
    say(f"rank 0 finished its {len(mine)} runs; waiting for the other ranks")
    data = np.frombuffer(json.dumps(mine).encode(), np.uint8)
    sizes = np.zeros(comm.size, np.int64)
    sizes[comm.rank] = data.size
    comm.allreduce_sum(sizes, "the sizes of the sweep results")
    recv = np.empty(int(sizes.sum()), np.uint8) if comm.is_root else None
    MPI = comm.MPI
    counts = [int(s) for s in sizes]
    req = comm.comm.Igatherv(
        data, [recv, counts, MPI.UNSIGNED_CHAR] if comm.is_root else None, root=0
    )
    comm._wait([req], "the sweep results (Gatherv)")
    if not comm.is_root or recv is None:
        return None
    rows, off = [], 0
    for s in counts:
        rows += json.loads(recv[off : off + s].tobytes().decode())
        off += s
    return rows


def write_table(rows: list[dict], axes: list[str], path: str) -> str:

    rows = sorted(rows, key=lambda r: (r["val_loss"], r["run"]))
    header = ["run", *axes, *RESULT_COLUMNS]
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
        write_csv(path, header, [[r[h] for h in header] for r in rows])
    except OSError as e:
        raise UserError(f"cannot write the sweep table {path}: {e.strerror or e}") from None
    return format_table(header, [[r[h] for h in header] for r in rows])
