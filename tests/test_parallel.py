"""MPI data parallelism (lstmkit.parallel): mpiexec -n 2 == one process, failures stop, sweeps.

The MPI tests run ``mpiexec`` (MPICH, from the ``mpi``/``dev`` extra) as a subprocess
on a tiny model and compare with the same training in this process.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lstmkit import parallel
from lstmkit.cli import main
from lstmkit.errors import UserError
from lstmkit.parallel import LocalComm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
import _mpi_job  # noqa: E402

GUARD = 90  # subprocess timeout: a hang fails the test instead of stalling CI


def mpiexec() -> str:
    exe = Path(sys.executable).parent / "mpiexec"
    found = str(exe) if exe.exists() else shutil.which("mpiexec")
    if found is None or not parallel.mpi_available():
        pytest.fail("mpiexec/mpi4py not installed: pip install -e '.[dev]' (or '.[mpi]')")
    return found


def run_mpi(args, n=2, env=None, launcher_opts=()):
    e = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        **(env or {}),
    }
    e.pop("LSTMKIT_MPI", None)
    t0 = time.monotonic()
    p = subprocess.run(
        [mpiexec(), *launcher_opts, "-n", str(n), sys.executable, *args],
        capture_output=True,
        text=True,
        env=e,
        timeout=GUARD,
        cwd=ROOT,
    )
    return p, time.monotonic() - t0


# ------------------------------------------------------------ equivalence
@pytest.mark.parametrize(
    "dtype,batch,n,opt",
    [
        ("float32", 8, 40, "adam"),  # 30 training samples: batches 8,8,8,6 → 4+4 … 3+3
        ("float64", 8, 40, "adam"),
        ("float64", 5, 40, "sgd"),  # every global batch of 5 splits 2 + 3: weighted average
        ("float32", 5, 40, "sgd"),
        ("float64", 4, 39, "adam"),  # 29 samples: the last global batch has 1 sample, rank 0 none
    ],
)
def test_mpiexec_2_equals_one_process(tmp_path, dtype, batch, n, opt):
    out = tmp_path / "flat.npy"
    p, _ = run_mpi(
        [str(ROOT / "tests" / "_mpi_job.py"), str(out), dtype, str(batch), str(n), "2", opt]
    )
    assert p.returncode == 0, p.stderr
    assert "rank 1: size 2" in p.stderr  # it really ran on two ranks
    got = np.load(out)
    want, model = _mpi_job.train(dtype, batch, n, 2, opt, comm=LocalComm())
    n_params = model.count_params()
    assert got.shape == want.shape
    tol = 1e-5 if dtype == "float32" else 1e-12
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got[:n_params], want[:n_params], rtol=0, atol=tol * scale)
    # epoch losses (summed over ranks), val_loss and val_mae (distributed evaluation)
    np.testing.assert_allclose(got[n_params:], want[n_params:], rtol=tol * 10, atol=0)
    # the second epoch did move the weights: the comparison is not of untrained models
    after_one = _mpi_job.train(dtype, batch, n, 1, opt, comm=LocalComm())[0][:n_params]
    assert np.abs(after_one - want[:n_params]).max() > 100 * tol


# ------------------------------------------------------------ failures
def test_a_rank_that_hangs_stops_the_others_with_a_clear_error(tmp_path):
    p, dt = run_mpi(
        [
            str(ROOT / "tests" / "_mpi_job.py"),
            str(tmp_path / "x.npy"),
            "float64",
            "8",
            "40",
            "2",
            "adam",
        ],
        env={"LSTMKIT_TEST_MPI_FAIL": "1:3:hang", "LSTMKIT_MPI_TIMEOUT": "2"},
    )
    assert p.returncode != 0
    assert (
        "MPI rank 0 of 2: no answer from the other ranks within 2 s while waiting for "
        "the gradients of step 3" in p.stderr
    ), p.stderr
    assert dt < 30
    assert not (tmp_path / "x.npy").exists()


def test_a_rank_that_dies_stops_the_others(tmp_path):
    # default launcher behaviour: Hydra sees the dead rank and ends the job at once
    p, dt = run_mpi(
        [
            str(ROOT / "tests" / "_mpi_job.py"),
            str(tmp_path / "x.npy"),
            "float64",
            "8",
            "40",
            "2",
            "adam",
        ],
        env={"LSTMKIT_TEST_MPI_FAIL": "1:2:kill", "LSTMKIT_MPI_TIMEOUT": "2"},
    )
    assert p.returncode != 0 and dt < 30, p.stderr
    assert "BAD TERMINATION" in p.stdout + p.stderr, p.stdout + p.stderr
    # a launcher that does not clean up (as on some clusters): our timeout ends it
    p, dt = run_mpi(
        [
            str(ROOT / "tests" / "_mpi_job.py"),
            str(tmp_path / "x.npy"),
            "float64",
            "8",
            "40",
            "2",
            "adam",
        ],
        env={"LSTMKIT_TEST_MPI_FAIL": "1:2:exit", "LSTMKIT_MPI_TIMEOUT": "2"},
        launcher_opts=["-disable-auto-cleanup"],
    )
    assert p.returncode != 0 and dt < 30, p.stderr
    # rank 0 either times out or hears from MPI that its peer is gone; either way it says so
    assert (
        "MPI rank 0 of 2: " in p.stderr
        and "the gradients of step 2" in p.stderr
        and "Stopping all ranks" in p.stderr
    ), p.stderr
    assert not (tmp_path / "x.npy").exists()


# ------------------------------------------------------------ CLI under mpiexec
def test_forecast_cli_under_mpiexec_writes_once_and_equals_one_process(tmp_path):
    args = ["forecast", "--dataset", "co2", "--epochs", "2", "--seed", "1", "--quiet"]
    p, _ = run_mpi(["-m", "lstmkit", *args, "--out", str(tmp_path / "mpi")])
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("wrote: ") == 1  # rank 0 alone prints
    e = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    q = subprocess.run(
        [sys.executable, "-m", "lstmkit", *args, "--out", str(tmp_path / "one")],
        capture_output=True,
        text=True,
        timeout=GUARD,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **e},
    )
    assert q.returncode == 0, q.stderr
    a = np.loadtxt(tmp_path / "mpi" / "forecast.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3))
    b = np.loadtxt(tmp_path / "one" / "forecast.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3))
    np.testing.assert_allclose(a, b, rtol=1e-4)


# ------------------------------------------------------------ without MPI
def test_without_a_launcher_the_communicator_is_local(monkeypatch):
    for v in parallel._LAUNCHER_VARS + ("LSTMKIT_MPI",):
        monkeypatch.delenv(v, raising=False)
    assert isinstance(parallel.world(), LocalComm)
    assert not parallel.launched_by_mpi()
    assert parallel.launched_by_mpi({"PMI_SIZE": "2"})
    assert not parallel.launched_by_mpi({"PMI_SIZE": "2", "LSTMKIT_MPI": "0"})


def test_under_mpiexec_without_mpi4py_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.delenv("LSTMKIT_MPI", raising=False)
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py → ImportError
    with pytest.raises(UserError, match=r"lstmkit\[mpi\]"):
        parallel.world()


def test_help_says_how_to_add_mpi(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "pip install 'lstmkit[mpi]'" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    assert "MPI support:" in capsys.readouterr().out


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_shards_cover_every_sample_once(size):
    for n in range(0, 23):
        parts = [parallel.shard_bounds(n, r, size) for r in range(size)]
        assert parts[0][0] == 0 and parts[-1][1] == n
        assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
        lens = [hi - lo for lo, hi in parts]
        assert max(lens) - min(lens) <= 1


def test_single_process_fit_default_comm_is_local(monkeypatch):
    for v in parallel._LAUNCHER_VARS + ("LSTMKIT_MPI",):
        monkeypatch.delenv(v, raising=False)
    a, _ = _mpi_job.train("float64", 5, 40, 1, "sgd")  # comm=None: resolved
    b, _ = _mpi_job.train("float64", 5, 40, 1, "sgd", comm=LocalComm())
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------ sweep
SWEEP = {
    "task": "sine",
    "epochs": 2,
    "samples": 96,
    "lookback": 10,
    "batch_size": 16,
    "grid": {"units": [4, 8], "learning_rate": [0.01, 0.003]},
}


def _read(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {int(r["run"]): r for r in rows}


def test_sweep_local_workers_write_one_table(tmp_path, capsys):
    cfg = tmp_path / "sweep.json"
    cfg.write_text(json.dumps(SWEEP))
    assert (
        main(["sweep", str(cfg), "--workers", "2", "--out", str(tmp_path / "w2.csv"), "--quiet"])
        == 0
    )
    printed = capsys.readouterr().out
    assert "val_loss" in printed and "wrote" in printed
    rows = _read(tmp_path / "w2.csv")
    assert sorted(rows) == [0, 1, 2, 3]
    assert {(int(r["units"]), float(r["learning_rate"])) for r in rows.values()} == {
        (4, 0.01),
        (4, 0.003),
        (8, 0.01),
        (8, 0.003),
    }
    assert {r["worker"] for r in rows.values()} == {"worker0", "worker1"}
    assert all(
        np.isfinite(float(r["val_loss"])) and float(r["val_loss"]) > 0 for r in rows.values()
    )
    # the same runs in this process give the same numbers
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "w1.csv"), "--quiet"]) == 0
    one = _read(tmp_path / "w1.csv")
    for k in rows:
        assert float(rows[k]["val_loss"]) == pytest.approx(float(one[k]["val_loss"]), rel=1e-5)
    vals = [float(r["val_loss"]) for r in one.values()]
    assert len(set(vals)) == 4  # the grid really changes the runs


def test_sweep_over_mpi_ranks(tmp_path):
    cfg = tmp_path / "sweep.json"
    cfg.write_text(json.dumps(SWEEP))
    p, _ = run_mpi(["-m", "lstmkit", "sweep", str(cfg), "--out", str(tmp_path / "mpi.csv")])
    assert p.returncode == 0, p.stderr
    rows = _read(tmp_path / "mpi.csv")
    assert sorted(rows) == [0, 1, 2, 3]
    assert {r["worker"] for r in rows.values()} == {"rank0", "rank1"}
    assert p.stdout.count("wrote ") == 1


def test_sweep_bad_config_is_one_line_error(tmp_path, capsys):
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"task": "sine", "grid": {"unitz": [4]}}))
    assert main(["sweep", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "grid axis 'unitz' is not a parameter" in err and "units" in err


def test_killed_mpi_run_resumes_from_its_checkpoint_as_if_uninterrupted(tmp_path):
    """Checkpoint every 2 batches under mpiexec; rank 1 is killed in the middle of the
    second epoch; a new mpiexec run resumes (rank 0's sums of the interrupted epoch,
    rank 0's weights broadcast) and ends equal to one uninterrupted process."""
    out, ckpt = tmp_path / "flat.npy", tmp_path / "ckpt.safetensors"
    job = [
        str(ROOT / "tests" / "_mpi_job.py"),
        str(out),
        "float64",
        "5",
        "40",
        "3",
        "adam",
        str(ckpt),
    ]
    p, _ = run_mpi(job, env={"LSTMKIT_TEST_MPI_FAIL": "1:10:kill"})  # 6 steps an epoch
    assert p.returncode != 0 and ckpt.exists() and not out.exists()
    p, _ = run_mpi(job)
    assert p.returncode == 0, p.stderr
    want, model = _mpi_job.train("float64", 5, 40, 3, "adam", comm=LocalComm())
    got = np.load(out)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)  # weights and history


def test_ranks_with_different_data_stop_with_a_clear_error(tmp_path):
    p, dt = run_mpi(
        [
            str(ROOT / "tests" / "_mpi_job.py"),
            str(tmp_path / "x.npy"),
            "float64",
            "8",
            "40",
            "2",
            "adam",
        ],
        env={"JOB_N_ON_RANK1": "44"},
    )
    assert p.returncode != 0 and dt < 30
    assert "the 2 MPI ranks disagree about samples" in p.stderr, p.stderr
