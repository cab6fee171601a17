"""Compile exported C models and run them: on this machine (gcc, clang) and on a Cortex-M4
under QEMU (arm-none-eabi-gcc, qemu-system-arm -M mps2-an386). Shared by the C export tests
and benchmarks/export_c_report.py.

Host harness protocol (stdin → stdout, little-endian): int32 mode, n, T, then n sequences of
T × INPUT_SIZE float32 (or T int32 ids). Modes: 0 ``run`` (RUN_OUTPUT_FLOATS(T) floats per
sequence), 1 ``step`` after ``init`` (T × OUTPUT_SIZE floats: the output after every step),
2 ``step`` with y = null until the last step (OUTPUT_SIZE floats).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Wdouble-promotion", "-Wvla"]
M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]
HERE = os.path.dirname(os.path.abspath(__file__))
QEMU_SYSCLK = 25_000_000  # SysTick on mps2-an386 counts at 25 MHz of virtual time

_HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include "{name}.h"

static int rd(void *p, size_t size, size_t n) {{ return fread(p, size, n, stdin) == n; }}

int main(void)
{{
    int hdr[3], mode, n, T, k, t;
    static {name}_state s;
    float *y, *work;
#if {P}_INPUT_IDS
    int *x;
#else
    float *x;
#endif
    if (!rd(hdr, sizeof(int), 3)) return 3;
    mode = hdr[0]; n = hdr[1]; T = hdr[2];
    /* exactly what the header asks for: the sanitizer tests catch any access beyond */
    x = malloc(sizeof *x * (size_t)T * {P}_INPUT_SIZE);
    y = malloc(sizeof(float) * (size_t)(mode == 0 ? {P}_RUN_OUTPUT_FLOATS(T) : {P}_OUTPUT_SIZE));
    work = {P}_RUN_WORK_FLOATS(T) > 0 ? malloc(sizeof(float) * (size_t){P}_RUN_WORK_FLOATS(T)) : 0;
    {name}_init(&s);
    for (k = 0; k < n; ++k) {{
        if (!rd(x, sizeof *x, (size_t)T * {P}_INPUT_SIZE)) return 3;
        if (mode == 0) {{
            if ({name}_run(&s, x, T, y, work) != 0) return 4;
            fwrite(y, sizeof(float), (size_t){P}_RUN_OUTPUT_FLOATS(T), stdout);
            continue;
        }}
#if {P}_CAN_STREAM
        {name}_reset(&s);
        for (t = 0; t < T; ++t) {{
#if {P}_INPUT_IDS
            int r = {name}_step(&s, x[t], mode == 1 || t == T - 1 ? y : 0);
#else
            int r = {name}_step(&s, x + (long)t * {P}_INPUT_SIZE, mode == 1 || t == T - 1 ? y : 0);
#endif
            if (r != 0) return 4;
            if (mode == 1 || t == T - 1) fwrite(y, sizeof(float), {P}_OUTPUT_SIZE, stdout);
        }}
#else
        (void)t;
        return 5;
#endif
    }}
    free(x);
    free(y);
    free(work);
    return 0;
}}
"""


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def compile_host(out_dir, name="model", cc="gcc", opt="-O2", extra=(), tag="") -> str:
    """Build the harness around ``<name>.c`` with the strict flags; → the binary's path.
    The model's own object is kept as ``<name>_<cc><tag>.o``."""
    src = os.path.join(out_dir, f"harness_{name}.c")
    with open(src, "w") as f:
        f.write(_HARNESS.format(name=name, P=name.upper()))
    exe = os.path.join(out_dir, f"harness_{name}_{cc}{tag}")
    obj = os.path.join(out_dir, f"{name}_{cc}{tag}.o")
    for cmd in (
        [cc, *STRICT, opt, *extra, "-c", os.path.join(out_dir, f"{name}.c"), "-o", obj],
        [cc, *STRICT, opt, *extra, "-I", str(out_dir), src, obj, "-o", exe, "-lm"],
    ):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr[-4000:]}"
    return exe


def run_host(exe, x, mode: int, out_size: int) -> np.ndarray:
    """Feed x (n, T, D) floats or (n, T) ids; → the outputs, (n, -1, out_size)."""
    x = np.asarray(x)
    ids = x.dtype.kind in "iu"
    n, T = x.shape[:2]
    data = np.array([mode, n, T], "<i4").tobytes()
    data += x.astype("<i4" if ids else "<f4").tobytes()
    r = subprocess.run([exe], input=data, capture_output=True)
    assert r.returncode == 0, f"{exe} exited {r.returncode}: {r.stderr[-2000:]!r}"
    return np.frombuffer(r.stdout, "<f4").reshape(n, -1, out_size)


def undefined_symbols(obj) -> set[str]:
    out = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True)
    return {line.split()[-1] for line in out.stdout.splitlines() if line.strip()}


# ---------------------------------------------------------------------- Cortex-M4 (QEMU)
def compile_m4_object(out_dir, name="model", opt="-O2") -> tuple[str, dict]:
    """``<name>.c`` → ``<name>_m4.o`` with the strict flags; → (path, arm-none-eabi-size)."""
    obj = os.path.join(out_dir, f"{name}_m4.o")
    cmd = ["arm-none-eabi-gcc", *STRICT, opt, *M4, "-c", os.path.join(out_dir, f"{name}.c")]
    r = subprocess.run([*cmd, "-o", obj], capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr[-4000:]}"
    size = subprocess.run(["arm-none-eabi-size", obj], capture_output=True, text=True, check=True)
    text, data, bss = (int(v) for v in size.stdout.splitlines()[1].split()[:3])
    return obj, {"text": text, "data": data, "bss": bss}


def _c_floats(a) -> str:
    return ", ".join(str(np.float32(v)) + "f" for v in np.asarray(a, np.float32).reshape(-1))


def build_m4_firmware(out_dir, name, x_run, x_stream, opt="-O2") -> str:
    """A bare-metal program for mps2-an386: ``run`` on each sequence of x_run (n, T, D), then
    ``step`` through x_stream (T2, D) timing each step with SysTick; prints over semihosting."""
    P = name.upper()
    x_run, x_stream = np.asarray(x_run), np.asarray(x_stream)
    ids = x_run.dtype.kind in "iu"
    ctype = "int" if ids else "float"
    fmt = (lambda a: ", ".join(str(int(v)) for v in a.reshape(-1))) if ids else _c_floats
    n, T = x_run.shape[:2]
    with open(os.path.join(out_dir, f"{name}_inputs.h"), "w") as f:
        f.write(f"#define N_RUN {n}\n#define T_RUN {T}\n#define T_STREAM {len(x_stream)}\n")
        f.write(f"static const {ctype} x_run[] = {{{fmt(x_run)}}};\n")
        f.write(f"static const {ctype} x_stream[] = {{{fmt(x_stream)}}};\n")
    main = os.path.join(out_dir, f"{name}_m4main.c")
    with open(main, "w") as f:
        f.write(
            open(os.path.join(HERE, "cortex_m4", "main.c.in"))
            .read()
            .replace("{{P}}", P)
            .replace("{{p}}", name)
            .replace("{{INPUT_IDS}}", str(int(ids)))
        )
    elf = os.path.join(out_dir, f"{name}_m4.elf")
    cmd = [
        "arm-none-eabi-gcc",
        *STRICT,
        opt,
        *M4,
        "-I",
        str(out_dir),
        "-nostartfiles",
        "--specs=nosys.specs",
        "-T",
        os.path.join(HERE, "cortex_m4", "mps2_an386.ld"),
        os.path.join(HERE, "cortex_m4", "startup.c"),
        main,
        os.path.join(out_dir, f"{name}.c"),
        "-lm",
        "-o",
        elf,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr[-4000:]}"
    return elf


def run_qemu(elf, timeout=120) -> dict:
    """Run the firmware on qemu-system-arm -M mps2-an386 with -icount shift=0 (one
    instruction = 1 ns of virtual time) → {"run": floats, "stream": floats, "ticks": …}."""
    cmd = [
        "qemu-system-arm",
        "-M",
        "mps2-an386",
        "-cpu",
        "cortex-m4",
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "none",
        "-semihosting-config",
        "enable=on,target=native",
        "-icount",
        "shift=0",
        "-kernel",
        str(elf),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"qemu exited {r.returncode}: {r.stdout[-2000:]} {r.stderr[-2000:]}"
    res: dict = {"run": [], "stream": []}
    for line in (r.stdout + r.stderr).splitlines():  # semihosting writes to QEMU's stderr
        key, *vals = line.split()
        if key in ("run", "stream"):
            res[key].extend(
                np.frombuffer(bytes.fromhex("".join(vals)), ">u4").view(">f4").astype(np.float32)
            )
        elif re.fullmatch(r"[a-z_]+", key) and vals:
            res[key] = int(vals[0])
    assert "done" in res, (r.stdout + r.stderr)[-2000:]
    return res
