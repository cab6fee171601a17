"""lstmkit forced to AVX2 against torch forced to AVX2 too: what an AVX2 laptop sees.

On an AVX-512 CPU, ``make bench``'s ``avx2`` variant (``LSTMKIT_ISA=avx2``) runs
beside a torch that still uses AVX-512, so ``torch/avx2`` there compares an 8-lane
kernel with a 16-lane one. A machine that only has AVX2 gives torch AVX2 as well.
This part runs torch the way it would run there, in a fresh process per shape (the
switches are read when torch loads its libraries), with the environment of
``TORCH_AVX2``:

* ``ATEN_CPU_CAPABILITY=avx2``: ATen's own vectorised kernels (σ, tanh, the adds);
* ``ONEDNN_MAX_CPU_ISA=AVX2``: oneDNN (its RNN and matmul primitives);
* ``MKL_ENABLE_INSTRUCTIONS=AVX2``: MKL's GEMMs.

lstmkit runs in the same process with ``LSTMKIT_ISA=avx2``, interleaved with torch as
in the main run. ONNX Runtime has no such switch (MLAS reads CPUID itself), so it is
not in this table: ``ORT/avx2`` in the main table stays against an AVX-512 ORT.
The child reports torch's ``get_cpu_capability()`` so the table shows that the switch
took.
"""

from __future__ import annotations

import os
import sys

from timing import child_json, timeit_interleaved

TORCH_AVX2 = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
}
OURS_AVX2 = {"LSTMKIT_ISA": "avx2"}


def measure(kind, shape, reps, warmup, threads, settle):
    """In the child: {"ms": {...}, "torch isa": ..., "kernel": ..., "max_abs_diff": ...}."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    import contenders as C
    from lstmkit.core import gates

    torch.set_num_threads(threads)
    with threadpool_limits(threads):
        _, ours, th = C.make_pair(kind, shape)
        ours["fwd"]()
        th["fwd"]()
        diff = float(np.abs(th["out"]() - ours["out"]()).max())
        tasks = {
            "torch fwd": th["fwd"],
            "torch train": th["train"],
            "avx2 fwd": ours["fwd"],
            "avx2 train": ours["train"],
        }
        t = timeit_interleaved(tasks, reps, warmup, settle)
    return {
        "ms": {k: v * 1e3 for k, v in t.items()},
        "torch isa": torch.backends.cpu.get_cpu_capability(),
        "kernel": gates.kernel_info(),
        "max_abs_diff": diff,
    }


def narrow_rows(rows, script, reps, warmup, threads, settle):
    """Fill row["both avx2"] for every row, each measured in a fresh child of ``script``."""
    env = {**os.environ, **TORCH_AVX2, **OURS_AVX2}
    for row in rows:
        name, kind = row["shape"], row["cell"]
        print(f"[bench] both avx2 {name} {kind}", file=sys.stderr, flush=True)
        args = [script, "--narrow", f"{name}:{kind}", "--threads", str(threads)]
        args += ["--reps", str(reps), "--warmup", str(warmup), "--settle", str(settle)]
        got = child_json(args, f"AVX2 run for {name}", env)
        ms = got["ms"]
        got["torch/avx2 fwd"] = ms["torch fwd"] / ms["avx2 fwd"]
        got["torch/avx2 train"] = ms["torch train"] / ms["avx2 train"]
        row["both avx2"] = got


def table_lines(res, name, table):
    """The markdown of the both-AVX2 table (``name``, ``table`` from report.py)."""
    rows = [r for r in res["rows"] if "both avx2" in r]
    if not rows:
        return []
    first = rows[0]["both avx2"]
    lines = [
        "## AVX2 on both sides (torch forced to AVX2 too: what an AVX2-only CPU gives both)",
        "",
        f"Each shape in a fresh process with {', '.join(f'{k}={v}' for k, v in TORCH_AVX2.items())}"
        f" for torch (its `get_cpu_capability()` said {first['torch isa']}) and "
        f"LSTMKIT_ISA=avx2 for lstmkit ({first['kernel']}), interleaved as above. ONNX Runtime "
        "has no such switch (MLAS reads CPUID itself), so it is not here.",
        "",
    ]
    hdr = ["shape", "torch fwd ms", "avx2 fwd ms", "torch/avx2 fwd"]
    hdr += ["torch train ms", "avx2 train ms", "torch/avx2 train", "max |Δy|"]
    body = []
    for r in rows:
        a, ms = r["both avx2"], r["both avx2"]["ms"]
        body.append(
            [
                name(r),
                f"{ms['torch fwd']:.2f}",
                f"{ms['avx2 fwd']:.2f}",
                f"{a['torch/avx2 fwd']:.2f}",
                f"{ms['torch train']:.2f}",
                f"{ms['avx2 train']:.2f}",
                f"{a['torch/avx2 train']:.2f}",
                f"{a['max_abs_diff']:.1e}",
            ]
        )
    return lines + table(hdr, body) + [""]
