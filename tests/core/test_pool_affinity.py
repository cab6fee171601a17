"""The packed kernel's pool workers do not stay pinned to one CPU.

A sleeping worker is woken pinned away from the caller's CPU (so it starts at once
instead of waiting for the caller to be preempted, see ``run_pool`` in _fused_threads.c)
and must widen back to every CPU the process may use as soon as it runs. Left pinned, LSTM
training at B = 1 (OpenBLAS threads per step, then the weight gradients on the pool) ran
at 7.7–8.1 ms instead of 4.1–4.7 in a quarter of processes (measured on Intel family 6
model 167, see the comment there). Checked through /proc: after a call that woke the
worker from its sleep, every thread the kernel started may run on every CPU.
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lstmkit import layers
from lstmkit.core import gates

CPUS = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
HAVE_EXT = gates.extension_available() and os.environ.get("LSTMKIT_NO_EXT", "") in ("", "0")
pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)"),
    pytest.mark.skipif(len(CPUS) < 2, reason="one CPU: no other CPU to pin a worker to"),
    pytest.mark.skipif(not HAVE_EXT, reason="the compiled kernel is not built here"),
    pytest.mark.skipif(os.environ.get("LSTMKIT_POOL") == "0", reason="pool turned off"),
]


def _workers():
    """{thread id: the CPUs it may run on} for the threads the kernel started ("lstmkit")."""
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            status = (task / "status").read_text()
        except OSError:  # (a thread that just ended)
            continue
        if name != "lstmkit":
            continue
        line = next(ln for ln in status.splitlines() if ln.startswith("Cpus_allowed_list"))
        cpus = set()
        for part in line.split(":", 1)[1].strip().split(","):
            lo, _, hi = part.partition("-")
            cpus.update(range(int(lo), int(hi or lo) + 1))
        out[int(task.name)] = cpus
    return out


def test_a_woken_pool_worker_may_run_on_every_cpu(monkeypatch):
    monkeypatch.delenv("LSTMKIT_ISA", raising=False)
    B, T, D, H = 1, 6, 64, 512  # B = 1, 512 units: the packed kernel on 2 threads
    assert gates.loop_plan(np.float32, B, H, inference=True)[1] >= 2
    x = np.random.default_rng(0).standard_normal((B, T, D)).astype(np.float32)
    lay = layers.LSTM(H, return_sequences=True, seed=1)
    lay.forward(x, training=False)  # starts the pool's worker (or finds it)
    for _ in range(3):
        time.sleep(0.05)  # the worker spins 0.2 ms after a job, then sleeps
        lay.forward(x, training=False)  # run_pool pins the sleeping worker away, wakes it
    time.sleep(0.01)
    workers = _workers()
    assert workers, "no thread named lstmkit: the pool did not run"
    pinned = {tid: sorted(c) for tid, c in workers.items() if c != CPUS}
    assert not pinned, f"workers left pinned (the process may use {sorted(CPUS)}): {pinned}"
