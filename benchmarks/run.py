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

The parts, each its own module here: contenders.py (the contenders on the same weights),
timing.py (interleaved medians, environment switches, the GEMM peak), machine.py (the
CPU, BLAS and kernels of the header, the kernel peaks), narrow.py (the AVX2-on-both-sides
table), memory_use.py (the memory table) and report.py (the markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import machine  # noqa: E402  (benchmarks/machine.py, found through the path above)
import memory_use  # noqa: E402  (benchmarks/memory_use.py)
import narrow  # noqa: E402  (benchmarks/narrow.py)
import report  # noqa: E402  (benchmarks/report.py)
from timing import flops_fwd, gemm_peak, timeit_interleaved, with_env  # noqa: E402

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


def bench_shape(name, kind, shape, reps, warmup, threads, peak, mods, settle, variants):
    import numpy as np

    import contenders as C

    T, B, D, H, L = shape
    x, ours, th = C.make_pair(kind, shape)
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
        )
        print(json.dumps(got))
        return 0
    if args.memory:
        name, kind = args.memory.split(":")
        pinned = memory_use.pin_malloc()
        got = memory_use.memory_shape(kind, SHAPES[name], args.threads)
        print(json.dumps({**got, "pinned": pinned}))
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
    variants = machine.kernel_variants([v.strip() for v in args.variants.split(",") if v.strip()])

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
            "kernel": machine.kernel_peaks(variants, args.threads, 0.1 if args.quick else 0.5),
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
        env = machine.environment(args.threads, np, mods)
        env["kernels"] = machine.kernel_lines(variants, args.threads)
    if wide and "avx2" in variants:  # torch forced to AVX2 too, a fresh process per shape
        narrow.narrow_rows(rows, __file__, reps, warmup, args.threads, args.settle)
    memory_use.memory_rows(rows, __file__, args.threads)  # each in a fresh process
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
