"""Timing for the benchmarks: interleaved medians, environment switches, the GEMM peak.

Used by run.py (``make bench``), narrow.py and machine.py; nothing here imports them.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time


def timeit_interleaved(tasks, reps, warmup, settle=0.0):
    """tasks: {key: fn}. Runs them round-robin (order rotated each rep); median seconds.

    Each timed call comes right after an untimed call of the same task: what is timed
    is a call in a steady stream of calls (a training or serving loop), not a first
    call after idling. ``settle`` seconds of sleep before that untimed call let the
    previous contender's worker threads go idle (OpenBLAS workers spin ~0.1 s after a
    threaded call, libgomp's ~5 ms, and on 2 cores would otherwise steal a core from
    the next one). Why the untimed call: on this machine kind a thread woken on an
    idle CPU starts ~2 ms late and runs slowly for a few ms more (measured), so the
    first call after idling mostly measures the virtual machine waking up — lstmkit's
    small forward took 12.2 ms that way against 6.6 ms in a stream, torch's 10.3 / 7.9.
    """
    keys = list(tasks)
    for _ in range(warmup):
        for k in keys:
            tasks[k]()
    times = {k: [] for k in keys}
    for r in range(reps):
        order = keys[r % len(keys) :] + keys[: r % len(keys)]
        for k in order:
            time.sleep(settle)
            tasks[k]()  # untimed: wakes threads and CPUs
            t0 = time.perf_counter()
            tasks[k]()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def gemm_peak(np, n, reps):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.T.copy()
    c = np.empty_like(a)
    np.matmul(a, b, out=c)
    t = timeit_interleaved({"g": lambda: np.matmul(a, b, out=c)}, reps, 1)["g"]
    return 2 * n**3 / t / 1e9


def flops_fwd(kind, T, B, D, H, L):
    per = 8 if kind == "LSTM" else 6
    return sum(per * T * B * H * ((D if k == 0 else H) + H) for k in range(L))


def with_env(fn, env):
    """fn run with the environment variables env set (and restored after)."""
    if not env:
        return fn

    def run():
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            return fn()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    return run


def child_json(args, what, env=None):
    """Run ``python *args`` in a fresh process; the JSON of its last stdout line. A failed
    child raises with ``what`` and the end of its stderr."""
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
