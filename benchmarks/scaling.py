"""Data-parallel scaling: training steps/s on 1 and 2 processes (``lstmkit.parallel``).

A training step of ``Sequential([LSTM(H), Dense(1)])`` with Adam on a global batch
of B sequences (T steps, D features), timed through ``model.fit`` (so it includes
the slicing, the gradient Allreduce and the optimizer step):

    1 process,  1 thread      B on one core
    1 process,  2 threads     B on two cores (BLAS threads)
    2 processes × 1 thread    mpiexec -n 2: B/2 per rank + one Allreduce of P floats

plus, for the model in docs/scaling.md, the compute of one step at local batch
B/N (N = 1, 2, 4, 8) on one process, and the time of one Allreduce of the P
gradients between the two ranks (blocking ``Allreduce`` and the polled
``Iallreduce`` that lstmkit uses). Every configuration runs ``--reps`` times,
interleaved, in fresh processes; the table shows the median and the range.

    python benchmarks/scaling.py [--shape medium] [--steps 8] [--reps 3] \
        [--out benchmarks/scaling.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
SHAPES = {"tiny": (20, 16, 16, 32), "medium": (100, 64, 512, 512)}  # T, B, D, H


def worker(shape: str, steps: int, batch: int | None, allreduce_reps: int) -> dict:
    """Runs in a fresh process (threads fixed by the environment); prints one JSON line."""
    sys.path.insert(0, str(SRC))
    import numpy as np

    from lstmkit import optim, parallel
    from lstmkit.callbacks import Callback
    from lstmkit.layers import LSTM, Dense
    from lstmkit.model import Sequential

    T, B, D, H = SHAPES[shape]
    B = batch or B
    comm = parallel.world()
    waited = []  # seconds in each gradient exchange
    if comm.size > 1:
        inner = comm._wait

        def timed(reqs, what):
            t0 = time.perf_counter()
            inner(reqs, what)
            if what.startswith("the gradients"):
                waited.append(time.perf_counter() - t0)

        comm._wait = timed
    rng = np.random.default_rng(0)
    warm = 2
    x = rng.standard_normal((B * (steps + warm), T, D), dtype=np.float32)  # (n, T, D)
    y = rng.standard_normal((len(x), 1), dtype=np.float32)
    model = Sequential([LSTM(H), Dense(1)], seed=0)
    model.compile(optimizer=optim.Adam(1e-4), loss="mse")

    class Clock(Callback):
        def on_train_batch_end(self, batch, logs=None):
            ticks.append(time.perf_counter())

    ticks = []
    model.fit(
        x, y, batch_size=B, epochs=1, verbose=0, shuffle=False, callbacks=[Clock()], comm=comm
    )
    dt = (ticks[-1] - ticks[warm - 1]) / steps  # seconds per step after warm-up
    out = {
        "rank": comm.rank,
        "size": comm.size,
        "B": B,
        "params": model.count_params(),
        "steps_per_s": 1.0 / dt,
        "s_per_step": dt,
        "threads": os.environ.get("OMP_NUM_THREADS"),
    }
    if comm.size > 1:
        out["exchange_s"] = statistics.median(waited[warm:])
        g = np.ones(model.count_params() + 1, np.float32)  # the same message as a step
        times = {"Allreduce": [], "Iallreduce_polled": []}
        for _ in range(allreduce_reps):
            comm.comm.Barrier()
            t0 = time.perf_counter()
            comm.comm.Allreduce(comm.MPI.IN_PLACE, g, op=comm.MPI.SUM)
            times["Allreduce"].append(time.perf_counter() - t0)
            comm.comm.Barrier()
            t0 = time.perf_counter()
            comm.allreduce_sum(g, "benchmark")
            times["Iallreduce_polled"].append(time.perf_counter() - t0)
        out.update({k: statistics.median(v) for k, v in times.items()})
    if comm.is_root:
        print("RESULT " + json.dumps(out), flush=True)
    return out


def launch(shape, steps, threads, procs=1, batch=None) -> dict:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "PYTHONPATH": str(SRC),
    }
    env.pop("LSTMKIT_MPI", None)
    cmd = [sys.executable, __file__, "--worker", "--shape", shape, "--steps", str(steps)]
    if batch:
        cmd += ["--batch", str(batch)]
    if procs > 1:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        cmd = [str(mpiexec), "-n", str(procs)] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if p.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    line = next(line for line in p.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[7:])


NETWORKS = {  # name: (bandwidth in bytes/s, latency α in s per message)
    "10 Gb Ethernet": (1.25e9, 50e-6),
    "100 Gb InfiniBand": (12.5e9, 2e-6),
}


def allreduce_model(P: int, N: int, bw: float, alpha: float) -> float:
    """Ring Allreduce of P float32: reduce-scatter + all-gather, 2(N−1) messages of 4P/N bytes."""
    return 2 * (N - 1) / N * 4 * P / bw + 2 * (N - 1) * alpha if N > 1 else 0.0


def model_table(res: dict, threads: int = 2, stat: str = "max") -> list[str]:
    """Predicted steps/s on N machines like this one (2 cores, ``threads`` BLAS threads each):
    t(N) = t_compute(B/N) + t_allreduce(P, N), from the measured compute times — by default
    the best of the repetitions (other processes on the machine only ever slow a run down)."""
    B, P = res["shape"]["B"], res["params"]
    t_c = {}
    for r in res["rows"]:
        if r["config"] == f"1 proc x {threads} thread{'s' if threads > 1 else ''}":
            t_c[B] = 1 / r[f"steps_per_s_{stat}"]
        elif r["config"].startswith("compute only") and r["config"].endswith(
            f"{threads} thread" + ("s" if threads > 1 else "")
        ):
            t_c[r["B"]] = 1 / r[f"steps_per_s_{stat}"]
    lines = [
        f"N machines (global batch B={B}, {threads} thread(s) each, compute = {stat} steps/s "
        f"of the reps; P={P:,}, 4P={4 * P / 1e6:.2f} MB)",
        f"{'N':>3s} {'B/N':>4s} {'compute ms':>10s}  "
        + "  ".join(f"{name + ': allreduce ms, steps/s, speed-up':>44s}" for name in NETWORKS),
    ]
    for N in (1, 2, 4, 8):
        b = B // N
        if b not in t_c:
            continue
        cells = []
        for bw, alpha in NETWORKS.values():
            ta = allreduce_model(P, N, bw, alpha)
            t = t_c[b] + ta
            cells.append(f"{1e3 * ta:14.2f} {1 / t:14.3f} {t_c[B] / t:14.2f}")
        lines.append(f"{N:3d} {b:4d} {1e3 * t_c[b]:10.1f}  " + "  ".join(cells))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="medium", choices=sorted(SHAPES))
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "scaling.json"))
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--batch", type=int, default=None)
    args = ap.parse_args()
    if args.worker:
        worker(args.shape, args.steps, args.batch, allreduce_reps=10)
        return
    T, B, D, H = SHAPES[args.shape]
    configs = {
        "1 proc x 1 thread": dict(threads=1),
        "1 proc x 2 threads": dict(threads=2),
        "2 procs x 1 thread (mpiexec)": dict(threads=1, procs=2),
    }
    for n in (2, 4, 8):  # compute of one rank's share, for the model
        configs[f"compute only, B/{n}={B // n}, 1 thread"] = dict(threads=1, batch=B // n)
        configs[f"compute only, B/{n}={B // n}, 2 threads"] = dict(threads=2, batch=B // n)
    runs: dict[str, list] = {k: [] for k in configs}
    t_start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load0 = os.getloadavg()
    for rep in range(args.reps):  # interleaved: noise hits every config alike
        for name, c in configs.items():
            runs[name].append(launch(args.shape, args.steps, **c))
            print(
                f"rep {rep + 1}: {name}: {runs[name][-1]['steps_per_s']:.3f} steps/s",
                file=sys.stderr,
                flush=True,
            )
    rows = []
    for name, rs in runs.items():
        sps = [r["steps_per_s"] for r in rs]
        row = {
            "config": name,
            "B": rs[0]["B"],
            "B_per_rank": rs[0]["B"] // rs[0]["size"],
            "steps_per_s_median": statistics.median(sps),
            "steps_per_s_min": min(sps),
            "steps_per_s_max": max(sps),
        }
        for k in ("exchange_s", "Allreduce", "Iallreduce_polled"):
            if k in rs[0]:
                row[k + "_median"] = statistics.median(r[k] for r in rs)
        rows.append(row)
    res = {
        "shape": {"T": T, "B": B, "D": D, "H": H},
        "params": runs[next(iter(runs))][0]["params"],
        "steps": args.steps,
        "reps": args.reps,
        "started": t_start,
        "loadavg_before": load0,
        "loadavg_after": os.getloadavg(),
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(
        f"shape T={T} B={B} D={D} H={H}, P={res['params']:,} parameters; "
        f"load average before/after: {load0[0]:.2f} / {res['loadavg_after'][0]:.2f}"
    )
    print(f"{'config':42s} {'B/rank':>6s} {'steps/s':>8s} {'range':>15s}")
    for r in rows:
        print(
            f"{r['config']:42s} {r['B_per_rank']:>6d} "
            f"{r['steps_per_s_median']:8.3f} {r['steps_per_s_min']:7.3f}–{r['steps_per_s_max']:.3f}"
            + (
                f"  exchange {1e3 * r['exchange_s_median']:.1f} ms, Allreduce of P "
                f"{1e3 * r['Allreduce_median']:.2f} ms (polled Iallreduce "
                f"{1e3 * r['Iallreduce_polled_median']:.2f} ms)"
                if "exchange_s_median" in r
                else ""
            )
        )
    for threads in (1, 2):
        print()
        print("\n".join(model_table(res, threads)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
