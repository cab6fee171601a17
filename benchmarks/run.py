"""lstmkit vs PyTorch vs ONNX Runtime, side by side, in one process (``make bench``).

For each shape (T, B, D, H) × layers it times, interleaved and with the same
thread count for everyone, the median of ``--reps`` runs after warm-up of:

* lstmkit LSTM layers, forward (``training=False``, on copies of the layers with frozen
  weights, ``Recurrent.freeze_weights``, as a server runs them with
  ``Model.for_inference()``; the native variant on the live layers too) and training step
  (``forward(training=True)`` + ``backward``, no optimizer), once per kernel variant:
  ``native`` (the kernel the CPU gets by itself), a forced narrower ISA (``avx2`` on an
  AVX-512 CPU: ``LSTMKIT_ISA=avx2`` set around each of its calls) and ``numpy``
  (``LSTMKIT_NO_EXT=1``: what a machine without a C compiler gets);
* ``torch.nn.LSTM`` (batch_first=True) doing the same on the same weights;
* ONNX Runtime running the ONNX ``LSTM`` operator (inference);
* GRU vs ``torch.nn.GRU`` and ONNX Runtime's ``GRU`` at the medium shape.

Each timed call follows an untimed call of the same contender, after ``--settle``
seconds of idle: the time of a call in a steady stream of calls (see
``timeit_interleaved`` for why).

Flops: forward = 8·T·B·H·(D+H) per layer (GRU: 6·…), training ≈ 3× forward.
The float32 GEMM peak is (2048×2048)@(2048×2048) in NumPy, measured in the same run;
the kernel peak is lstmkit's own packed product kernel on data in cache
(``_fused.kernel_peak``), per variant: "at peak" is the time the recurrent products
of a shape take at that speed (forward flops / peak), the distance to the physical limit.
Memory of a training step: tracemalloc peak (lstmkit's NumPy allocations) and the
RSS high-water mark above the starting RSS (sampled every 0.2 ms). It is measured
after all timings, in a fresh process per shape with glibc's mmap threshold pinned
so freed buffers go back to the OS and the delta means something; the timings run
under the allocator's defaults (pinned, every large array page-faults afresh on
each call).

    python benchmarks/run.py [--shapes tiny,medium] [--variants native,avx2,numpy]
                             [--reps 7] [--threads 2] [--quick] [--settle 0.12] [--out DIR]

Writes DIR/results.md and DIR/results.json (DIR defaults to benchmarks/).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import statistics
import sys
import threading
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import narrow  # noqa: E402  (benchmarks/narrow.py, found through the path above)
import report  # noqa: E402  (benchmarks/report.py)

SHAPES = {  # name: (T, B, D, H, layers)
    "tiny": (50, 16, 32, 64, 1),
    "small": (150, 16, 256, 256, 1),
    "latency": (25, 1, 512, 512, 1),
    "medium": (100, 64, 512, 512, 1),
    "large": (100, 64, 1024, 1024, 1),
    "deep": (100, 64, 512, 512, 4),
    "long": (2000, 8, 256, 256, 2),
}
GRU_SHAPES = {"medium"}


def _pin_malloc():
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


def bench_shape(name, kind, shape, reps, warmup, threads, peak, mods, settle, variants):
    import numpy as np

    import contenders as C

    T, B, D, H, L = shape
    x = C.bench_input(B, T, D)
    ours = C.make_lstmkit(kind, x, H, L)
    th = C.make_torch(kind, x, H, L, ours["stack"], ours["dy"])
    tasks = {"torch fwd": th["fwd"], "torch train": th["train"]}
    for v, env in variants.items():
        tasks[f"{v} fwd"] = with_env(ours["fwd"], env)
        tasks[f"{v} train"] = with_env(ours["train"], env)
    first = next(iter(variants))  # (native, unless --variants leaves it out)
    # its inference on the live layers too (which compare their weights on every call)
    tasks[f"{first} fwd live"] = with_env(ours["fwd_live"], variants[first])
    ort = None
    if mods.get("onnxruntime"):
        ort = C.make_ort(x, H, L, ours["stack"], threads, kind)
        tasks["ort fwd"] = ort["fwd"]
    diff = {}
    for key in [*(f"{v} fwd" for v in variants), f"{first} fwd live"]:
        v = key.replace(" fwd", "")  # every one computes the same function as torch (and ORT)
        tasks[key]()
        y = ours["out"]()
        th["fwd"]()
        diff[f"{v}/torch"] = float(np.abs(th["out"]() - y).max())
        if ort:
            ort["fwd"]()
            diff[f"{v}/ort"] = float(np.abs(ort["out"]() - y).max())
    t = timeit_interleaved(tasks, reps, warmup, settle)
    gf = flops_fwd(kind, T, B, D, H, L) / 1e9
    row = {
        "shape": name,
        "cell": kind,
        "T": T,
        "B": B,
        "D": D,
        "H": H,
        "layers": L,
        "ms": {k: v * 1e3 for k, v in t.items()},
        "gflop fwd": gf,
        "max_abs_diff": diff,
    }
    for v in variants:
        row[f"torch/{v} fwd"] = t["torch fwd"] / t[f"{v} fwd"]
        row[f"torch/{v} train"] = t["torch train"] / t[f"{v} train"]
        row[f"ort/{v} fwd"] = t["ort fwd"] / t[f"{v} fwd"] if ort else None
        row[f"{v} fwd GF/s"] = gf / t[f"{v} fwd"]
        row[f"{v} train GF/s"] = 3 * gf / t[f"{v} train"]
        kp = peak["kernel"].get(v)
        row[f"{v} fwd at peak ms"] = 1e3 * gf / kp if kp else None
        row[f"{v} fwd frac kernel peak"] = gf / t[f"{v} fwd"] / kp if kp else None
    row[f"ort/{first} fwd live"] = t["ort fwd"] / t[f"{first} fwd live"] if ort else None
    row[f"{first} fwd frac gemm peak"] = row[f"{first} fwd GF/s"] / peak["gemm"]
    return row


def memory_shape(name, kind, threads):
    """Peak memory of one training step of each contender (MB), in this process.

    Run in a fresh process per shape (``--memory``, see ``memory_rows``) with glibc's
    mmap threshold pinned (``_pin_malloc``) from the start, so freed buffers go back to
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
    T, B, D, H, L = SHAPES[name]
    x = C.bench_input(B, T, D)
    with threadpool_limits(threads):
        ours = C.make_lstmkit(kind, x, H, L)
        th = C.make_torch(kind, x, H, L, ours["stack"], ours["dy"])
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


def memory_rows(rows, threads):
    """Fill row["mem MB"] for every row, each measured in a fresh process."""
    import subprocess

    for row in rows:
        print(f"[bench] memory {row['shape']} {row['cell']}", file=sys.stderr, flush=True)
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory",
                f"{row['shape']}:{row['cell']}",
                "--threads",
                str(threads),
            ],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise RuntimeError(f"memory run for {row['shape']} failed:\n{out.stderr[-2000:]}")
        row["mem MB"] = json.loads(out.stdout.strip().splitlines()[-1])


#: the CPU flags that decide which packed kernel can run (x86-64 and aarch64 names)
KERNEL_FLAGS = ("sse2", "avx2", "fma", "avx512f", "avx512dq", "avx512vl", "asimd")


def cpu_flags():
    """The KERNEL_FLAGS this CPU has, from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            have = set().union(
                *(ln.split(":", 1)[1].split() for ln in f if ln.startswith(("flags", "Features")))
            )
    except OSError:
        return []
    return [k for k in KERNEL_FLAGS if k in have]


#: (vendor, family, model range) → core name: the ones these machines have been, and kin
CORES = [
    ("AuthenticAMD", 25, range(0x00, 0x10), "Zen 3"),
    ("AuthenticAMD", 25, range(0x20, 0x60), "Zen 3"),
    ("AuthenticAMD", 25, range(0x10, 0x20), "Zen 4"),
    ("AuthenticAMD", 25, range(0x60, 0xB0), "Zen 4"),
    ("AuthenticAMD", 26, range(0x00, 0x100), "Zen 5"),
]


def cpu_core():
    """e.g. "family 26 model 2 (Zen 5)", from /proc/cpuinfo ("" where there is none): the
    model name of a virtual machine often says only "AMD EPYC", and Zen 4 (AVX-512 on
    256-bit units) and Zen 5 (512-bit units) differ by 2× in AVX-512 peak."""
    try:
        with open("/proc/cpuinfo") as f:
            rows = dict(
                ln.split(":", 1) for ln in f.read().split("\n\n")[0].splitlines() if ":" in ln
            )
    except OSError:
        return ""
    rows = {k.strip(): v.strip() for k, v in rows.items()}
    try:
        fam, mod = int(rows["cpu family"]), int(rows["model"])
    except (KeyError, ValueError):
        return ""
    name = next(
        (n for v, f, r, n in CORES if v == rows.get("vendor_id") and f == fam and mod in r), ""
    )
    return f"family {fam} model {mod}" + (f" ({name})" if name else "")


def environment(threads, np, mods):
    info = {"python": platform.python_version(), "numpy": np.__version__, "threads": threads}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(
                ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")
            )
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    core = cpu_core()
    if core:
        info["cpu"] += f", {core}"
    info["cpus"] = os.cpu_count()
    info["cpu flags"] = cpu_flags()
    for m in ("torch", "onnxruntime"):
        info[m] = getattr(mods.get(m), "__version__", "not installed")
    from threadpoolctl import threadpool_info

    info["blas"] = [
        {
            k: d.get(k)
            for k in ("internal_api", "version", "architecture", "num_threads", "filepath")
        }
        for d in threadpool_info()
    ]
    info["env"] = {
        k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    return info


def kernel_variants(names):
    """{variant: env} for the requested variant names (see the module docstring)."""
    from lstmkit.core import gates

    out = {}
    for v in names:
        if v == "native":
            out[v] = {}
        elif v == "numpy":
            out[v] = {"LSTMKIT_NO_EXT": "1"}
        else:
            if not gates.extension_available():
                continue
            out[v] = {"LSTMKIT_ISA": v}
    return out


def kernel_lines(variants, threads):
    """{variant: the kernel line lstmkit reports under that variant's environment}."""
    from lstmkit.core import gates

    return {v: with_env(gates.kernel_info, env)() for v, env in variants.items()}


def kernel_peaks(variants, threads, seconds, tries=3):
    """{variant: GFLOP/s of its packed product kernel} (variants without one are left out):
    the best of `tries` runs, interleaved over the variants, each after 0.3 s idle. (A peak
    is what the kernel can do; one run right after a BLAS call measured half of it: the
    BLAS's threads still spin for a while and take a CPU.)"""
    from lstmkit.core import gates

    packed = {
        v: env
        for v, env in variants.items()
        if with_env(gates.kernel_details, env)()["path"] == "packed"
    }
    if not packed:
        return {}
    peak = gates.loop_module("float32").kernel_peak
    out = dict.fromkeys(packed, 0.0)
    for _ in range(tries):
        for v, env in packed.items():
            time.sleep(0.3)
            got = with_env(lambda: peak(threads=threads, seconds=seconds), env)()
            out[v] = max(out[v], got)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default=",".join(SHAPES), help=f"comma list of {', '.join(SHAPES)}")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions per contender (≥ 5)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--quick", action="store_true", help="3 reps, 1 warm-up, small GEMM for the peak"
    )
    ap.add_argument(
        "--settle",
        type=float,
        default=0.12,
        help="seconds of idle before each timed call (lets other pools' threads sleep)",
    )
    ap.add_argument(
        "--variants",
        default="auto",
        help="lstmkit kernels to time, comma list of native, avx2, avx512, baseline, blas, "
        "numpy (auto: native, avx2 when the CPU has more, numpy)",
    )
    ap.add_argument("--out", default=str(HERE), help="directory for results.md and results.json")
    ap.add_argument("--memory", metavar="SHAPE:CELL", help=argparse.SUPPRESS)  # (memory_rows)
    ap.add_argument("--narrow", metavar="SHAPE:CELL", help=argparse.SUPPRESS)  # (narrow_rows)
    ap.add_argument("--warmup", type=int, default=2, help=argparse.SUPPRESS)  # (with --narrow)
    args = ap.parse_args(argv)
    if args.narrow:  # a child of narrow.narrow_rows, with torch and lstmkit forced to AVX2
        name, kind = args.narrow.split(":")
        got = narrow.measure(
            kind,
            SHAPES[name],
            args.reps,
            args.warmup,
            args.threads,
            args.settle,
            timeit_interleaved,
        )
        print(json.dumps(got))
        return 0
    if args.memory:
        name, kind = args.memory.split(":")
        pinned = _pin_malloc()
        print(json.dumps({**memory_shape(name, kind, args.threads), "pinned": pinned}))
        return 0
    names = [s.strip() for s in args.shapes.split(",") if s.strip()]
    bad = [s for s in names if s not in SHAPES]
    if bad:
        ap.error(f"unknown shape(s) {bad}; expected some of {list(SHAPES)}")
    reps, warmup = (3, 1) if args.quick else (max(args.reps, 5), 2)
    from lstmkit.core import gates

    wide = gates.extension_available() and gates.kernel_details()["best"] == "avx512"
    if args.variants == "auto":
        args.variants = "native,avx2,numpy" if wide else "native,numpy"
    variants = kernel_variants([v.strip() for v in args.variants.split(",") if v.strip()])

    import numpy as np
    from threadpoolctl import threadpool_limits

    mods = {}
    for m in ("torch", "onnxruntime"):
        try:
            mods[m] = __import__(m)
        except ImportError:
            mods[m] = None
    if mods["torch"] is None:
        sys.exit("benchmarks/run.py needs torch (pip install -e '.[dev]')")
    torch = mods["torch"]
    torch.set_num_threads(args.threads)
    notes = []
    load0 = os.getloadavg()
    with threadpool_limits(args.threads):
        peak = {  # (the kernels' before the GEMM's: see kernel_peaks)
            "kernel": kernel_peaks(variants, args.threads, 0.1 if args.quick else 0.5),
            "gemm": gemm_peak(np, 1024 if args.quick else 2048, reps),
        }
        rows = []
        for name in names:
            for kind in ("LSTM", "GRU") if name in GRU_SHAPES else ("LSTM",):
                print(f"[bench] {name} {kind} {SHAPES[name]}", file=sys.stderr, flush=True)
                rows.append(
                    bench_shape(
                        name,
                        kind,
                        SHAPES[name],
                        reps,
                        warmup,
                        args.threads,
                        peak,
                        mods,
                        args.settle,
                        variants,
                    )
                )
        env = environment(args.threads, np, mods)
        env["kernels"] = kernel_lines(variants, args.threads)
    if wide and "avx2" in variants:  # torch forced to AVX2 too, a fresh process per shape
        narrow.narrow_rows(rows, __file__, reps, warmup, args.threads, args.settle)
    memory_rows(rows, args.threads)  # each in a fresh process (see memory_shape)
    pinned = all(r["mem MB"].pop("pinned") for r in rows)
    if not mods["onnxruntime"]:
        notes.append("ONNX Runtime not installed: ORT columns empty.")
    notes.append(
        "ORT gets its input time-major, transposed once outside the timing "
        "(ONNX LSTM layout 0); lstmkit and torch take (batch, time, features)."
    )
    notes.append(
        "lstmkit's inference runs on copies of the layers with frozen weights "
        "(`freeze_weights`, what `Model.for_inference()` gives a server; ORT's session "
        "weights are constant too). `live` is the same call on the live layers, which "
        "compare W_x, W_h with a kept copy on every call to catch a change in place."
    )
    notes.append("Training = forward + backward with dx, no optimizer step; flops ≈ 3 × forward.")
    notes.append(
        "Kernel peak: lstmkit's packed product kernel alone, on data in cache, same threads "
        "(`_fused.kernel_peak`, the best of 3 runs, before any BLAS call); "
        '"at peak" = the forward\'s recurrent-product flops '
        "(8·T·B·H·(D+H) per LSTM layer, 6·… per GRU layer) at that speed: no run of that "
        "kernel can be faster (the GRU's 3-slot panels run a block of fewer rows than the "
        "LSTM's, whose kernel the peak measures)."
    )
    arch = ", ".join(
        str(b.get("architecture")) for b in env["blas"] if b.get("internal_api") == "openblas"
    )
    if "OPENBLAS_CORETYPE" not in os.environ:
        notes.append(
            f"OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE were unset for this run (`make bench` does "
            f"that): OpenBLAS chose its kernel itself ({arch}). Tests and CI keep them set."
        )
    else:
        notes.append(
            f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} pins OpenBLAS to the {arch} "
            "kernel; `make bench` unsets it for the benchmark only."
        )
    if not pinned:
        notes.append("mallopt unavailable: RSS deltas may understate (reused heap).")
    else:
        notes.append(
            "Times were taken under glibc's default allocator settings; memory afterwards, "
            "in a fresh process per shape with the mmap threshold pinned so RSS deltas "
            "are meaningful."
        )
    load1 = os.getloadavg()
    notes.append(
        f"Machine load average (1 min) at start / end: {load0[0]:.1f} / {load1[0]:.1f} "
        f"on {os.cpu_count()} CPUs (other jobs share this machine; above ~{os.cpu_count()} "
        "every multi-threaded contender loses time waiting for its threads)."
    )
    res = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": [load0[0], load1[0]],  # 1-min load average at start / end
        "command": " ".join(
            ["python benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "env": env,
        "reps": reps,
        "warmup": warmup,
        "settle": args.settle,
        "gemm_peak_gflops": peak["gemm"],
        "kernel_peak_gflops": peak["kernel"],
        "variants": variants,
        "rows": rows,
        "notes": notes,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(res, indent=1))
    md = report.to_markdown(res)
    (out / "results.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
