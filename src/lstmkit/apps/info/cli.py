"""``lstmkit info``: the version, and which kernel runs the LSTM and GRU loops here."""

from __future__ import annotations

import json
import platform

import numpy as np

from ...core import gates
from ...errors import UserError
from ...version import __version__

HELP = "show the version and which compiled kernel (or NumPy) runs here"
DESCRIPTION = """\
Say which kernel runs the recurrent loops on this machine: the packed kernel and its
vector ISA (avx512, avx2, sse2 or neon; the widest the CPU and OS support, unless
LSTMKIT_ISA asks for a narrower one), the C loop with a BLAS call per step, or pure
NumPy (no compiler at install, or LSTMKIT_NO_EXT=1); with its threads, the BLAS it
calls and the compiler that built it.

examples:
  lstmkit info
  LSTMKIT_ISA=avx2 lstmkit info
  lstmkit info --json
"""


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def version_text() -> str:
    """What ``lstmkit --version`` prints: the version and the kernel line."""
    try:
        kernel = gates.kernel_info()
    except ValueError as e:  # a bad LSTMKIT_ISA
        kernel = f"(not usable: {e})"
    return f"lstmkit {__version__}\nkernel: {kernel}"


def run(args) -> int:
    try:
        details = gates.kernel_details()
        line = gates.kernel_info()
    except ValueError as e:
        raise UserError(str(e)) from None
    info = {
        "version": __version__,
        "kernel": line,
        **{
            k: details.get(k)
            for k in ("path", "isa", "best", "lanes", "threads", "blas", "compiler", "note")
        },
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if args.json:
        print(json.dumps(info))
        return 0
    print(
        f"lstmkit {__version__} (Python {info['python']}, NumPy {info['numpy']}, {info['machine']})"
    )
    print(f"kernel: {line}")
    if details.get("best") and details.get("isa") != details.get("best"):
        print(f"widest ISA here: {details['best']} (LSTMKIT_ISA chose {details['isa']})")
    return 0
