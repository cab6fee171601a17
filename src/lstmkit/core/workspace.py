"""Big arrays kept between calls, so a training loop does not pay for fresh memory.

A training step asks for the same large arrays every time: the gate cache (T, B, 4H),
the states (T+1, B, H), dx. An array above glibc's mmap threshold (32 MB at most)
comes straight from the kernel, which zeroes it page by page on first touch, and goes
back to it when freed. Measured on Zen 4 (2 threads, ``benchmarks/contenders.py``
training step): a 4-layer stack (100, 64, 512, 512) took 2000–2180 ms that way and
1690–1700 ms with glibc told to keep its memory; one (100, 64, 1024, 1024) layer
1692 → 1636 ms.

``empty(shape, dtype)`` is ``np.empty`` that hands back an array it made earlier, of the
same shape and dtype, when nothing but this module refers to it any more (its
reference count says so: no cache, output, view or buffer of it is alive), and keeps
each new large array for a later call. The contents are garbage either way, as with
``np.empty``. Arrays are kept per thread; ``release()`` (also called by
``gates.release_scratch()``) lets them go.
"""

from __future__ import annotations

import sys
import threading
from math import prod

import numpy as np

__all__ = ["MIN_BYTES", "MAX_KEPT", "empty", "copy", "release", "kept_bytes"]

MIN_BYTES = 4 << 20  # smaller arrays: malloc's own free lists reuse them already
MAX_KEPT = 24  # arrays kept per thread, at most

_local = threading.local()

# A kept array that nobody else holds is referred to by the list, the local name below
# and getrefcount's own argument.
_FREE_REFS = 3


def _kept() -> list[np.ndarray]:
    kept = getattr(_local, "kept", None)
    if kept is None:
        kept = _local.kept = []
    return kept


def empty(shape, dtype) -> np.ndarray:
    """An uninitialised array like ``np.empty(shape, dtype)``, reused when one is free."""
    shape = tuple(int(n) for n in (shape if isinstance(shape, tuple | list) else (shape,)))
    dtype = np.dtype(dtype)
    if prod(shape) * dtype.itemsize < MIN_BYTES:
        return np.empty(shape, dtype)
    kept = _kept()
    free = None  # the first kept array nobody holds, whatever its shape
    for i in range(len(kept)):
        a = kept[i]
        if sys.getrefcount(a) != _FREE_REFS:
            continue
        if a.shape == shape and a.dtype == dtype:
            return a
        if free is None:
            free = i
    new = np.empty(shape, dtype)
    if len(kept) >= MAX_KEPT and free is not None:
        kept.pop(free)  # a free one of another shape makes room
    if len(kept) < MAX_KEPT:
        kept.append(new)
    return new


def copy(a) -> np.ndarray:
    """A C-contiguous copy of ``a`` in an array from ``empty``."""
    out = empty(np.shape(a), np.asarray(a).dtype)
    np.copyto(out, a)
    return out


def release() -> None:
    """Forget this thread's kept arrays (each is freed when nothing else holds it)."""
    _kept().clear()


def kept_bytes() -> int:
    """Bytes of the arrays this thread keeps (in use or not)."""
    return sum(a.nbytes for a in _kept())
