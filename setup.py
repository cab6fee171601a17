"""Builds the optional C kernel ``lstmkit.core._fused`` (everything else is in pyproject.toml).

``optional=True``: without a C compiler the install still succeeds and lstmkit
runs on its NumPy kernels. No -march=native: the kernel carries AVX-512, AVX2
and baseline versions of its loops and picks one at run time.
"""

import sys

from setuptools import Extension, setup

args = ["-O3", "-std=gnu11"] if sys.platform != "win32" else ["/O2"]
libs = ["dl"] if sys.platform.startswith("linux") else []

setup(
    ext_modules=[
        Extension(
            "lstmkit.core._fused",
            ["src/lstmkit/core/_fused.c"],
            depends=[
                f"src/lstmkit/core/_fused_{h}.h" for h in ("rows", "blas", "mk", "loops", "args")
            ],
            extra_compile_args=args,
            libraries=libs,
            optional=True,
        )
    ]
)
