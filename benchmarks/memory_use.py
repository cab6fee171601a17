"""Peak memory of a training step (run.py's memory table), each shape in a fresh process.

``memory_rows`` starts ``script --memory SHAPE:CELL`` per row; that child calls
``pin_malloc`` first and then ``memory_shape``.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
import tracemalloc

from timing import child_json


def pin_malloc():
    """Large allocations always mmap'd and unmapped on free (glibc only)."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 1 << 17)  # M_MMAP_THRESHOLD (fixing it stops the dynamic growth)
        libc.mallopt(-1, 1 << 17)  # M_TRIM_THRESHOLD
        return True
    except (OSError, AttributeError):
        return False


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_delta(fn):
    """Run fn once; the highest RSS seen while it ran, minus the RSS before (bytes)."""
    base = rss()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.0002)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    fn()
    done.set()
    th.join()
    return max(peak[0], rss()) - base


def tracemalloc_peak(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def memory_shape(kind, shape, threads):
    """Peak memory of one training step of each contender (MB), in this process.

    Run in a fresh process per shape (``--memory``, see ``memory_rows``) with glibc's
    mmap threshold pinned (``pin_malloc``) from the start, so freed buffers go back to
    the OS and an RSS delta means something. The timings are taken in the main process
    under the allocator's defaults, as a user's program runs: with the threshold pinned
    every large array is a fresh mapping that page-faults on each call, which measures
    the allocator setting more than the LSTM.
    """
    import torch
    from threadpoolctl import threadpool_limits

    import contenders as C
    from lstmkit.core import workspace

    torch.set_num_threads(threads)
    with threadpool_limits(threads):
        _, ours, th = C.make_pair(kind, shape)
        for fn in (ours["train"], th["train"]):  # warm: first-call allocations, lazy init
            fn()
        # an inference forward first: lstmkit layers keep the last training cache until
        # the next backward, and it must not sit in the baseline
        ours["fwd"]()
        # the arrays lstmkit.core.workspace kept from the warm-up step are a step's memory
        # too: let them go, so the measured step allocates them (as torch's step does)
        workspace.release()
        mem_tm = tracemalloc_peak(ours["train"])
        ours["fwd"]()
        workspace.release()
        ours_rss = peak_rss_delta(ours["train"])
        torch_rss = peak_rss_delta(th["train"])
    return {
        "lstmkit tracemalloc": mem_tm / 2**20,
        "lstmkit RSS delta": ours_rss / 2**20,
        "torch RSS delta": torch_rss / 2**20,
    }


def memory_rows(rows, script, threads):
    """Fill row["mem MB"] for every row, each measured in a fresh process of ``script``
    (run.py, whose ``--memory SHAPE:CELL`` runs ``memory_shape`` there)."""
    for row in rows:
        print(f"[bench] memory {row['shape']} {row['cell']}", file=sys.stderr, flush=True)
        args = [script, "--memory", f"{row['shape']}:{row['cell']}", "--threads", str(threads)]
        row["mem MB"] = child_json(args, f"memory run for {row['shape']}")
