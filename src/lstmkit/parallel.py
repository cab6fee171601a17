"""Data parallelism with MPI: run any training under ``mpiexec -n N``.

    mpiexec -n 2 lstmkit forecast --dataset co2          # the CLI
    mpiexec -n 4 python train.py                          # any script that calls model.fit

Nothing to change in the code: ``fit`` asks :func:`resolve_comm` for the
communicator. Outside ``mpiexec`` (or with one process) that is a
:class:`LocalComm`, which does nothing; under ``mpiexec -n N`` it is an
:class:`MPIComm` over ``MPI.COMM_WORLD`` (needs ``pip install 'lstmkit[mpi]'``:
mpi4py and an MPI library from PyPI; a cluster's own MPI works the same).

What each rank r of N does in ``fit(x, y, batch_size=B)``:

* all ranks start from rank 0's weights (one broadcast of ``model.flat_params``);
* every rank draws the same permutation and walks the same global batches of B
  samples; rank r takes the contiguous slice ``[r·n/N, (r+1)·n/N)`` of each
  (n ≤ B samples in the batch: an uneven split or a short last batch loses nothing);
* forward + backward on its slice gives g_r, the gradient of the mean loss over
  its c_r loss terms (samples, or unmasked steps); one Allreduce of
  ``[c_r·g_r, c_r]`` (the flat gradient buffer and one count) gives the
  gradient of the mean loss over the whole global batch::

      g = Σ_r c_r·g_r / Σ_r c_r

  so every rank applies the same optimizer step and the weights stay equal;
* the epoch's loss and metrics (sums and counts) and the validation loss are
  summed over ranks (each rank evaluates a contiguous 1/N of the data);
* only rank 0 shows progress, writes checkpoints and runs the callbacks that
  write files (CSVLogger, ModelCheckpoint); the CLI sends the other ranks'
  output files to a temporary directory (:func:`cli_setup`).

A rank that dies is normally noticed by the launcher, which ends the job; one
that hangs (or a launcher that does not clean up) is caught by a timeout: every
collective is nonblocking and polled against a deadline (``LSTMKIT_MPI_TIMEOUT``
seconds, default 300); when it passes, the rank prints what it was waiting for
and calls ``MPI_Abort``, which stops every rank (a broken job cannot be resumed
from inside, and a plain exception would hang in ``MPI_Finalize``).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from .callbacks import CSVLogger, ModelCheckpoint, ProgbarLogger
from .errors import UserError

INSTALL_HINT = "pip install 'lstmkit[mpi]'  (mpi4py + the MPICH wheel)"
HELP_EPILOG = (
    "Several processes: any training command runs data-parallel under MPI, e.g.\n"
    "  mpiexec -n 2 lstmkit forecast --dataset co2 --out runs/co2\n"
    f"(rank 0 prints and writes the files). MPI support: {INSTALL_HINT}."
)
DEFAULT_TIMEOUT = 300.0
#: environment variables that MPI launchers (MPICH/Hydra, Open MPI, PMIx, Slurm, MVAPICH) set
_LAUNCHER_VARS = (
    "PMI_SIZE",
    "PMI_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "PMIX_RANK",
    "MV2_COMM_WORLD_SIZE",
    "MPI_LOCALNRANKS",
)


def launched_by_mpi(environ=None) -> bool:
    """True when this process was started by an MPI launcher (``LSTMKIT_MPI=0/1`` overrides)."""
    env = os.environ if environ is None else environ
    force = env.get("LSTMKIT_MPI", "").strip()
    if force in ("0", "1"):
        return force == "1"
    return any(v in env for v in _LAUNCHER_VARS)


def mpi_available() -> bool:
    """mpi4py can be imported (checked without starting MPI)."""
    from importlib.util import find_spec

    return find_spec("mpi4py") is not None


def world(timeout: float | None = None):
    """The communicator of this run: MPIComm over COMM_WORLD under ``mpiexec -n N>1``,
    else LocalComm."""
    if not launched_by_mpi():
        return LocalComm()
    try:
        from mpi4py import MPI
    except ImportError:
        raise UserError(
            "this process was started by an MPI launcher (mpiexec) but mpi4py is "
            f"not installed; every rank would train alone. Install it: {INSTALL_HINT}, "
            "or run without mpiexec"
        ) from None
    if MPI.COMM_WORLD.Get_size() == 1:
        return LocalComm()
    return MPIComm(MPI.COMM_WORLD, timeout)


def resolve_comm(comm):
    """``None`` → :func:`world`; a communicator is returned as is (``LocalComm()`` = no MPI)."""
    return world() if comm is None else comm


def shard_bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous part [lo, hi) of n items: sizes differ by at most one."""
    return rank * n // size, (rank + 1) * n // size


def _loss_count(y_pred, w) -> float:
    """c: how many loss terms the batch loss is the mean of (as losses.Loss counts them)."""
    return float(w.sum()) if w is not None else float(np.prod(y_pred.shape[:-1]))


class LocalComm:
    """One process: every method is the identity / a no-op."""

    rank, size, is_root = 0, 1, True

    def start(self, model, holders, **consistency):
        pass

    def shard(self, a):
        return a

    def compute_gradients(self, model, x, y):
        return model.compute_gradients(x, y)

    def reduce_running(self, run, to_root=False):
        return run

    def callbacks(self, cbs):
        return list(cbs)

    def __repr__(self):
        return "LocalComm()"


class MPIComm(LocalComm):
    """Data parallelism over an mpi4py communicator (see the module docstring)."""

    #: seconds of busy polling before sleeping 1 ms between polls. MPI's blocking calls
    #: spin too; sleeping from the start made an 8 MB Allreduce 3× slower (benchmarks/scaling.py)
    SPIN = 1.0

    def __init__(self, comm, timeout: float | None = None):
        from mpi4py import MPI

        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.is_root = self.rank == 0
        if timeout is None:
            raw = os.environ.get("LSTMKIT_MPI_TIMEOUT", "")
            try:
                timeout = float(raw) if raw.strip() else DEFAULT_TIMEOUT
            except ValueError:
                raise UserError(
                    f"LSTMKIT_MPI_TIMEOUT must be a number of seconds, got {raw!r}"
                ) from None
        if not timeout > 0:
            raise UserError(f"the MPI timeout must be > 0 seconds, got {timeout!r}")
        self.timeout = float(timeout)
        self._bufs: dict[str, np.ndarray] = {}  # key → send/receive buffer [c·g, c]
        self.steps = 0  # gradient Allreduces done (for messages)
        self._fail_hook = _parse_fail_hook(os.environ.get("LSTMKIT_TEST_MPI_FAIL", ""))

    # ------------------------------------------------------------ collectives
    def _wait(self, reqs, what: str) -> None:
        """Poll nonblocking requests until done; past the deadline: say so and abort every rank."""
        MPI = self.MPI
        start = time.monotonic()
        deadline = start + self.timeout
        try:
            while not MPI.Request.Testall(reqs):  # each Test also moves the transfer on
                now = time.monotonic()
                if now > deadline:
                    self._abort(
                        f"no answer from the other ranks within {self.timeout:g} s "
                        f"while waiting for {what}: a rank has died or hangs "
                        f"(set LSTMKIT_MPI_TIMEOUT to wait longer)"
                    )
                if now - start > self.SPIN:  # a late rank: stop burning a core
                    time.sleep(1e-3)
        except MPI.Exception as e:
            self._abort(f"MPI failed while waiting for {what}: {e}")

    def _abort(self, message: str):
        print(
            f"lstmkit: MPI rank {self.rank} of {self.size}: {message}. Stopping all ranks.",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(0.5)  # let the launcher forward that line before Abort tears the job down
        self.comm.Abort(3)
        raise SystemExit(3)  # not reached: Abort ends the process

    def allreduce_sum(self, buf: np.ndarray, what: str) -> np.ndarray:
        """In-place sum of ``buf`` over all ranks, with the timeout."""
        self._wait([self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)], what)
        return buf

    # ------------------------------------------------------------ fit hooks
    def start(self, model, holders, **consistency):
        """Check that all ranks run the same job, give every rank rank 0's weights,
        and give each rank its own dropout stream."""
        names = sorted(consistency)
        mine = np.array(
            [float(consistency[k]) for k in names]
            + [float(a.size) for a in model.buffers.params.values()],
            np.float64,
        )
        lo_hi = np.concatenate([mine, -mine])  # max of −v = −min v: one Allreduce for both
        self._wait(
            [self.comm.Iallreduce(self.MPI.IN_PLACE, lo_hi, op=self.MPI.MAX)],
            "the start of training (a consistency check)",
        )
        k = len(mine)
        bad = [
            n
            for j, n in enumerate(names + ["parameter count"] * (k - len(names)))
            if lo_hi[j] != -lo_hi[k + j]
        ]
        if bad:
            raise UserError(
                f"the {self.size} MPI ranks disagree about {', '.join(sorted(set(bad)))}: "
                "every rank must get the same data and model (rank 0 does the I/O "
                "only for outputs; inputs must be readable by every rank)"
            )
        reqs = [self.comm.Ibcast(p, root=0) for p in model.buffers.params.values()]
        self._wait(reqs, "rank 0's initial weights (Bcast)")
        if self.rank:  # rank 0 keeps its stream: equal to one process
            for layer in holders:
                if isinstance(getattr(layer, "rng", None), np.random.Generator):
                    layer.rng = np.random.default_rng([self.rank, *layer.rng.integers(0, 2**32, 4)])

    def shard(self, a):
        lo, hi = shard_bounds(len(a), self.rank, self.size)
        return a[lo:hi]

    def compute_gradients(self, model, x, y):
        """Forward/backward on this rank's slice, then one Allreduce: g = Σ c_r·g_r / Σ c_r."""
        self.steps += 1
        if self._fail_hook and self._fail_hook[0] == self.rank and self._fail_hook[1] == self.steps:
            _fail_now(self._fail_hook[2])
        if len(x):
            loss, y_pred, w = model.compute_gradients(x, y)
            c = _loss_count(y_pred, w)
        else:  # more ranks than samples in this batch
            for g in model.buffers.grads.values():
                g[...] = 0
            shape = [1 if d is None else d for d in model.output_shape]
            dtype = next(iter(model.buffers.params.values())).dtype
            loss, y_pred, w, c = 0.0, np.zeros((0, *shape), dtype), None, 0.0
        reqs = []
        for k, g in model.buffers.grads.items():
            buf = self._bufs.get(k)
            if buf is None or buf.size != g.size + 1:
                buf = self._bufs[k] = np.empty(g.size + 1, g.dtype)  # (P + 1,) [c·g, c]
            np.multiply(g, c, out=buf[:-1])
            buf[-1] = c
            reqs.append(self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM))
        self._wait(reqs, f"the gradients of step {self.steps} (Allreduce)")
        for k, g in model.buffers.grads.items():
            buf = self._bufs[k]
            total = float(buf[-1])  # Σ_r c_r
            if total > 0:
                np.multiply(buf[:-1], 1.0 / total, out=g)
            else:
                g[...] = 0
        return loss, y_pred, w

    def reduce_running(self, run, to_root=False):
        """Sum the running loss and metric (total, count) pairs over ranks.
        ``to_root``: rank 0 keeps the sums and the others restart from zero (so that
        a later sum is still right; used before writing a mid-epoch checkpoint)."""
        metrics = run.model.metrics
        v = np.array(
            [run.loss_total, run.loss_count] + [float(s) for m in metrics for s in m.get_state()],
            np.float64,
        )
        self.allreduce_sum(v, "the loss and metric sums (Allreduce)")
        if to_root and not self.is_root:
            v[:] = 0.0
        run.loss_total, run.loss_count = float(v[0]), float(v[1])
        j = 2
        for m in metrics:
            n = len(m.get_state())
            m.set_state(v[j : j + n].tolist())
            j += n
        return run

    def callbacks(self, cbs):
        """Rank 0 runs all callbacks; the others skip those that print or write files."""
        if self.is_root:
            return list(cbs)

        return [
            c
            for c in cbs
            if not isinstance(c, (ProgbarLogger, CSVLogger, ModelCheckpoint))
            and not getattr(c, "root_only", False)
        ]

    def __repr__(self):
        return f"MPIComm(rank={self.rank}, size={self.size}, timeout={self.timeout:g})"


# ---------------------------------------------------------------- test hook
def _parse_fail_hook(spec: str):
    """``LSTMKIT_TEST_MPI_FAIL=RANK:STEP:MODE`` (tests only): at its STEP-th gradient
    exchange, rank RANK exits (``exit``), is killed (``kill``) or hangs (``hang``)."""
    if not spec.strip():
        return None
    try:
        rank, step, mode = spec.split(":")
        if mode not in ("exit", "kill", "hang"):
            raise ValueError
        return int(rank), int(step), mode
    except ValueError:
        raise UserError(
            f"LSTMKIT_TEST_MPI_FAIL expected RANK:STEP:exit|kill|hang, got {spec!r}"
        ) from None


def _fail_now(mode: str):
    print(f"lstmkit test hook: this rank {mode}s now", file=sys.stderr, flush=True)
    if mode == "exit":
        os._exit(1)
    if mode == "kill":
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    while True:  # hang
        time.sleep(60)


# ---------------------------------------------------------------- CLI
def cli_setup(args) -> None:
    """Under ``mpiexec -n N``, for the CLI: ranks > 0 print nothing and write their output
    files into a temporary directory (removed at exit), so rank 0 alone writes the
    outputs. Nothing happens outside MPI. Errors still go to every rank's stderr."""
    if not launched_by_mpi():
        return
    comm = world()
    if comm.is_root:
        return
    import tempfile

    tmp = tempfile.TemporaryDirectory(prefix=f"lstmkit-rank{comm.rank}-")
    args._mpi_scratch = tmp  # lives (and is cleaned up) with args
    for name in ("out", "output"):
        if hasattr(args, name):
            setattr(args, name, os.path.join(tmp.name, "out"))
    if hasattr(args, "force"):
        args.force = True
    sys.stdout = open(os.devnull, "w")
    os.environ["TQDM_DISABLE"] = "1"  # progress bars that go to stderr


def mpi_status_line() -> str:
    """For --help texts: is MPI support installed, and how to add it."""
    if mpi_available():
        return "MPI support: installed (mpi4py)."
    return f"MPI support: not installed; add it with {INSTALL_HINT}."


__all__ = [
    "LocalComm",
    "MPIComm",
    "world",
    "resolve_comm",
    "shard_bounds",
    "launched_by_mpi",
    "mpi_available",
    "cli_setup",
    "INSTALL_HINT",
    "HELP_EPILOG",
    "mpi_status_line",
]
