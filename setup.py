"""Builds the optional C kernel ``lstmkit.core._fused`` (everything else is in pyproject.toml).

Never a failed install: without a C compiler, or when the compiler rejects the code, the
install goes on and lstmkit runs on its NumPy kernels; one line on stderr says so
(``lstmkit --version`` then reports ``kernel: numpy (no compiler at install)``).

No -march=native: the packed kernel is compiled for AVX-512, AVX2 + FMA and SSE2 on x86-64
(target pragmas per file) and NEON on aarch64, and the widest one the CPU and OS support
is picked at run time. GCC and clang on Linux and macOS, MSVC on Windows.
"""

import re
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CORE = "src/lstmkit/core/"
SOURCES = [
    "_fused.c",  # the Python entry points
    "_fused_args.c",  # argument checks (buffer protocol)
    "_fused_blas.c",  # NumPy's BLAS found at run time; weight gradients
    "_fused_cpu.c",  # CPUID / XCR0, LSTMKIT_ISA, flush-to-zero
    "_fused_loops.c",  # the LSTM loop with a BLAS call per step
    "_fused_pack.c",  # weight and activation packing
    "_fused_packed.c",  # ISA dispatch of the packed kernel
    "_fused_rows.c",  # the LSTM step, row by row (float32 / float64)
    "_fused_threads.c",  # worker threads (a pool), chunk scheduler
    "_fused_scratch.c",  # scratch memory kept per thread
    "_fused_isa_avx512.c",  # _fused_packed.inc for each ISA (empty on other CPUs)
    "_fused_isa_avx2.c",
    "_fused_isa_sse2.c",
    "_fused_isa_neon.c",
]
HEADERS = ["_fused_packed.inc", "_fused_packed_fwd.inc", "_fused_packed_bwd.inc"] + [
    f"_fused_{h}.h"
    for h in ("args", "blas", "cpu", "loops", "pack", "packed", "rows", "simd", "threads")
]

if sys.platform == "win32":
    ARGS, LIBS = ["/O2", "/std:c11"], []
else:
    ARGS, LIBS = ["-O3", "-std=gnu11", "-pthread"], ["pthread"]
    if sys.platform.startswith("linux"):
        LIBS.append("dl")


class OptionalBuildExt(build_ext):
    """build_ext that turns any failure into one clear line instead of a failed install."""

    def run(self):
        try:
            super().run()
        except Exception as e:  # no compiler at all (e.g. MSVC missing): DistutilsPlatformError
            self._skip(e)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as e:  # the compiler refused the code
            self._skip(e)

    def _skip(self, e):
        print(
            f"lstmkit: the C kernel was not built ({_reason(e)}); lstmkit runs on NumPy instead "
            "(slower). Install a C compiler and reinstall for the fast path.",
            file=sys.stderr,
        )


def _reason(e: Exception) -> str:
    """The first line of the error; a failed compiler command named by its program only
    (the whole command line would bury the point)."""
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    cmd = re.match(r"Command '\['([^']+)'.*returned non-zero exit status (-?\d+)", first)
    if cmd:
        return f"the compiler `{cmd.group(1)}` failed, exit status {cmd.group(2)}"
    return first[:200]


setup(
    ext_modules=[
        Extension(
            "lstmkit.core._fused",
            [CORE + s for s in SOURCES],
            depends=[CORE + h for h in HEADERS],
            include_dirs=[CORE],
            extra_compile_args=ARGS,
            extra_link_args=[] if sys.platform == "win32" else ["-pthread"],
            libraries=LIBS,
            optional=True,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
