"""What the benchmark ran on: the CPU, its flags and core, the BLAS, lstmkit's kernels
and their measured peaks (the header of results.md)."""

from __future__ import annotations

import os
import platform
import time

from timing import with_env

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
