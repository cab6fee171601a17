"""The elementwise part of one LSTM step, forward and backward, in NumPy.

Kept apart from the loop in :mod:`.lstm` because this is where the time goes at
small sizes: a compiled kernel (``lstmkit.core._fused``, built by ``pip install``
when a C compiler is present, source in ``_fused.c``) takes its place. The NumPy
version here is the fallback and the one the compiled kernel is tested against.
The compiled module runs the whole time loop (see ``_fused.c``); which kernel it runs
is said by :func:`kernel_info` (``lstmkit --version`` prints it). Switches, read at
every call:

* ``LSTMKIT_NO_EXT=1``: pure NumPy (what a machine without a C compiler gets);
* ``LSTMKIT_ISA=avx512|avx2|baseline|blas``: force a narrower packed kernel than the
  CPU allows (``baseline`` is SSE2 on x86-64, NEON on aarch64), or the C loop that calls
  the BLAS every step (``blas``; ``LSTMKIT_NO_MK=1`` is the older name for it).

Forward (``z`` holds x_t·W_x + b on entry and the activations i, f, g, o on exit)::

    z += h_{t-1}·W_h
    i, f, o = σ(z_i, z_f, z_o);  g = tanh(z_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g;  tc = tanh(c_t);  h_t = o ⊙ tc
    masked rows: h_t = h_{t-1}, c_t = c_{t-1}

Backward (``dh``, ``dc`` hold dL/dh_t, dL/dc_t on entry)::

    do = dh ⊙ tc;   dc += dh ⊙ o ⊙ (1 − tc²)
    dz = [dc⊙g⊙i(1−i), dc⊙c_{t-1}⊙f(1−f), dc⊙i⊙(1−g²), do⊙o(1−o)]
    dc ← dc ⊙ f  (= dc_{t-1});   dh ← carried part only (0, or dh where masked)
"""

from __future__ import annotations

import functools
import os

import numpy as np

from . import workspace
from .activations import sigmoid

__all__ = [
    "halve_sigmoid_columns",
    "lstm_backward_workspace",
    "extension_available",
    "lstm_step_kernel",
    "numpy_step_halved",
    "lstm_step_backward_kernel",
    "loop_module",
    "loop_plan",
    "lstm_packed_loop",
    "gru_packed_loop",
    "weight_grads_kernel",
    "output_array",
    "release_scratch",
    "kernel_details",
    "kernel_info",
    "scratch_bytes",
]


def _np_step(z, rec, c_prev, c_t, tc, h_prev, h_t, m_t):
    H = c_t.shape[1]
    z += rec
    i, f, g, o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
    sigmoid(z[:, : 2 * H], out=z[:, : 2 * H])  # i, f
    np.tanh(g, out=g)  # g
    sigmoid(o, out=o)  # o
    np.multiply(f, c_prev, out=c_t)  # c_t = f ⊙ c_{t-1}
    np.multiply(i, g, out=tc)  #       + i ⊙ g
    c_t += tc
    np.tanh(c_t, out=tc)  # tanh(c_t)
    np.multiply(o, tc, out=h_t)  # h_t = o ⊙ tanh(c_t)
    if m_t is not None:
        keep = m_t == 0  # masked rows carry h, c
        if keep.any():
            h_t[keep] = h_prev[keep]
            c_t[keep] = c_prev[keep]


@functools.lru_cache(maxsize=32)
def _half_affine(H: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(4H,) scale and shift: ½ and ½ in the i, f, o columns, 1 and 0 in g's (read-only)."""
    scale = np.full(4 * H, 0.5, dtype)
    shift = np.full(4 * H, 0.5, dtype)
    scale[2 * H : 3 * H], shift[2 * H : 3 * H] = 1, 0
    scale.flags.writeable = shift.flags.writeable = False
    return scale, shift


def halve_sigmoid_columns(W_x, W_h, b):
    """Copies of W_x, W_h, b with the i, f, o columns (of 4H) times ½, for the halved step.

    σ(z) = ½·tanh(z/2) + ½, and halving a weight is exact (a power of two), so the
    products then hold z/2 in those columns, bit for bit, and one tanh over all 4H
    columns serves every gate: one pass and three ufunc calls fewer per step.
    """
    half, _ = _half_affine(W_h.shape[0], W_h.dtype)  # (4H,) ½ for i, f, o; 1 for g
    return W_x * half, W_h * half, b * half


def _np_step_halved(z, rec, c_prev, c_t, tc, h_prev, h_t, m_t):
    """_np_step for z made with halve_sigmoid_columns' weights (z/2 in the i, f, o columns)."""
    H = c_t.shape[1]
    z += rec
    np.tanh(z, out=z)  # tanh(z_i/2), tanh(z_f/2), g = tanh(z_g), tanh(z_o/2)
    # i, f, o = ½·tanh(z/2) + ½ = σ(z), and g·1 + 0 = g. Two passes over the whole
    # of z instead of four over the (B, 2H) and (B, H) slices, whose rows are not adjacent:
    # 3.7 against 5.6 ms per 100 steps at B, H = 64, 512 (Intel family 6 model 167).
    scale, shift = _half_affine(H, z.dtype)
    np.multiply(z, scale, out=z)
    np.add(z, shift, out=z)
    i, f, g, o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
    np.multiply(f, c_prev, out=c_t)  # c_t = f ⊙ c_{t-1}
    np.multiply(i, g, out=tc)  #       + i ⊙ g
    c_t += tc
    np.tanh(c_t, out=tc)  # tanh(c_t)
    np.multiply(o, tc, out=h_t)  # h_t = o ⊙ tanh(c_t)
    if m_t is not None:
        keep = m_t == 0  # masked rows carry h, c
        if keep.any():
            h_t[keep] = h_prev[keep]
            c_t[keep] = c_prev[keep]


def lstm_backward_workspace(B, H, dtype):
    return np.empty((1, B, H), dtype)


def _np_step_backward(dh, dc, a, tc, c_prev, dz, m_t, work):
    H = dh.shape[1]
    i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    di, df, dg, do = dz[:, :H], dz[:, H : 2 * H], dz[:, 2 * H : 3 * H], dz[:, 3 * H :]
    u = work[0]  # scratch (B, H)
    if m_t is not None:
        m = m_t[:, None].astype(dh.dtype)
        carry_h = dh * (1 - m)
        carry_c = dc * (1 - m)
        dh *= m
        dc *= m
    # do = dh ⊙ tc ⊙ o(1-o)
    np.multiply(dh, tc, out=do)
    np.subtract(1, o, out=u)
    u *= o
    do *= u
    # dc += dh ⊙ o ⊙ (1 - tc²)
    np.multiply(tc, tc, out=u)
    np.subtract(1, u, out=u)
    u *= o
    u *= dh
    dc += u
    # di = dc ⊙ g ⊙ i(1-i)
    np.subtract(1, i, out=u)
    u *= i
    np.multiply(dc, g, out=di)
    di *= u
    # df = dc ⊙ c_{t-1} ⊙ f(1-f)
    np.subtract(1, f, out=u)
    u *= f
    np.multiply(dc, c_prev, out=df)
    df *= u
    # dg = dc ⊙ i ⊙ (1-g²)
    np.multiply(g, g, out=u)
    np.subtract(1, u, out=u)
    np.multiply(dc, i, out=dg)
    dg *= u
    # dc_{t-1} = dc ⊙ f
    dc *= f
    if m_t is None:
        dh.fill(0)
    else:
        dh[...] = carry_h
        dc += carry_c


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


@functools.cache
def _extension():
    """The compiled module ``lstmkit.core._fused``, or None when it was not built
    (imported once: a machine without it does not retry the import on every call)."""
    try:
        from . import _fused  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _fused


def _numpy_forced() -> bool:
    return os.environ.get("LSTMKIT_NO_EXT", "") not in ("", "0")


def _compiled(dtype):
    """The compiled module if it is built, wanted and covers ``dtype``; else None.

    ``LSTMKIT_NO_EXT=1`` in the environment forces the NumPy kernels (read at
    every call, so a test or a user can switch without re-importing).
    """
    if _numpy_forced() or np.dtype(dtype) not in _FLOATS:
        return None
    return _extension()


def extension_available() -> bool:
    """True when the compiled kernel module ``lstmkit.core._fused`` imports."""
    return _extension() is not None


def lstm_step_kernel(dtype, halved: bool = False):
    """The forward step kernel for ``dtype`` (compiled if available)::

    step(z, rec, c_prev, c_t, tc, h_prev, h_t, m_t)

    ``halved=True`` (only where :func:`numpy_step_halved` says so): the NumPy kernel for
    z made with :func:`halve_sigmoid_columns`' weights.
    """
    if halved:
        return _np_step_halved
    ext = _compiled(dtype)
    return _np_step if ext is None else ext.step_forward


def numpy_step_halved(dtype) -> bool:
    """True when the forward step runs in NumPy, which then takes z/2 in the σ columns."""
    return _compiled(dtype) is None


def lstm_step_backward_kernel(dtype):
    """The backward step kernel for ``dtype`` (compiled if available)::

    step(dh, dc, a, tc, c_prev, dz, m_t, work)
    """
    ext = _compiled(dtype)
    return _np_step_backward if ext is None else ext.step_backward


def loop_module(dtype):
    """The compiled module when it can run the whole LSTM time loop for ``dtype`` (it
    needs a cblas gemm in the BLAS NumPy loaded, found at run time), else None. Its
    ``lstm_forward`` / ``lstm_backward`` take every array by keyword (see :mod:`.lstm`)."""
    ext = _compiled(dtype)
    if ext is None or ext.blas_info() is None:
        return None
    return ext


def loop_plan(
    dtype, B: int, H: int, inference: bool = False, gru: bool = False
) -> tuple[str, int] | None:
    """``(path, threads)`` the compiled loop will use for a (B, H) LSTM (or GRU, ``gru``)
    (``inference``: a forward without training, which takes the packed kernel at B = 1
    too, as GRU training does): path is the packed kernel's ISA (``"avx512"``, ``"avx2"``,
    ``"sse2"``, ``"neon"``) or ``"blas"`` (the LSTM's BLAS call per step, the GRU's NumPy
    loop); None without the compiled loop."""
    ext = loop_module(dtype)
    if ext is None:
        return None
    f64 = np.dtype(dtype) == np.float64
    return ext.plan(B, H, float64=f64, inference=inference, gru=gru)


def lstm_packed_loop(dtype, B, H, inference: bool = False) -> bool:
    """True when the C loop will run its packed-weights kernel for this size (float32,
    a packed ISA here, B > 1 or an inference at B = 1); in inference it then needs
    no z array and reads a strided x."""
    plan = loop_plan(dtype, B, H, inference)
    return plan is not None and plan[0] != "blas"


def gru_packed_loop(dtype, B, H, inference: bool = False):
    """The compiled module when its packed GRU loop runs for this size (float32, a packed
    ISA here: any B, training or not), else None."""
    plan = loop_plan(dtype, B, H, inference, gru=True)
    return loop_module(dtype) if plan is not None and plan[0] != "blas" else None


def weight_grads_kernel(dtype):
    """``weight_grads(((A, dZ, dW), ...))`` computing every ``dW = Aᵀ·dZ`` with the BLAS
    single-threaded on this extension's own threads (no BLAS threads left spinning
    for the time loop that runs next), or None. All arrays 2-D with contiguous rows
    (column slices of a bigger array are fine)."""
    ext = loop_module(dtype)
    return None if ext is None else ext.weight_grads


def output_array(out, k, shape, dtype):
    """``out[k]`` when a kernel can write its result straight into it (right shape and
    dtype, C-contiguous, writable: e.g. a layer's gradient buffer), else a new array."""
    a = None if out is None else out[k]
    if (
        a is not None
        and a.shape == shape
        and a.dtype == dtype
        and a.flags.c_contiguous
        and a.flags.writeable
    ):
        return a
    return np.empty(shape, dtype)


def release_scratch() -> None:
    """Free the packed-weight scratch the C loop keeps for the calling thread between
    calls (see ``scratch_bytes``; freed anyway when the thread ends), and the big arrays
    ``workspace`` keeps for it. The next call allocates them again."""
    ext = _extension()
    if ext is not None:
        ext.release_scratch()
    workspace.release()


def scratch_bytes() -> int:
    """Bytes of scratch the C loop keeps for the calling thread now (0 without it).

    Inference keeps each layer's packed weights for its next call (up to 4 layers): about
    the size of W_x and W_h, plus a copy of them to compare with for live weights, none
    for frozen ones (``Recurrent.freeze_weights``). Measured at (T, B, D, H) = (20, 4,
    256, 256): 4.70 MB live, 2.61 MB frozen."""
    ext = _extension()
    return 0 if ext is None else int(ext.scratch_bytes())


def kernel_details() -> dict:
    """What runs the float32 time loop here, as a dict: ``path`` (``"packed"``, ``"blas"``
    or ``"numpy"``), ``isa``, ``best`` (the widest ISA this CPU and OS run), ``lanes``,
    ``threads``, ``blas`` (library file),
    ``compiler``, ``note`` (why a request was changed, or why NumPy runs)."""
    ext = _extension()
    if ext is None or _numpy_forced():
        why = "LSTMKIT_NO_EXT=1" if ext is not None else "no compiler at install"
        return {
            "path": "numpy",
            "isa": None,
            "best": None if ext is None else ext.kernel_info()["best"],  # the CPU's widest
            "lanes": 0,
            "threads": 1,
            "blas": None,
            "compiler": None,
            "note": why,
        }
    info = dict(ext.kernel_info())
    if info["isa"] == "invalid":
        raise ValueError(info["note"])
    info["path"] = "blas" if info["isa"] == "blas" else "packed"
    info["blas"] = os.path.basename(info["blas"]) or None
    if info["blas"] is None:
        info["path"], info["note"] = "numpy", "no cblas gemm found in NumPy's BLAS"
    return info


def kernel_info() -> str:
    """One line saying which kernel runs here, e.g. ``packed avx2 (8 lanes), 2 threads;
    BLAS libscipy_openblas64_.so; gcc 12.2.0`` or ``numpy (no compiler at install)``."""
    d = kernel_details()
    if d["path"] == "numpy":
        return f"numpy ({d['note']})"
    head = (
        f"packed {d['isa']} ({d['lanes']} lanes)"
        if d["path"] == "packed"
        else "C loop, a BLAS call per step"
    )
    note = f" [{d['note']}]" if d["note"] else ""
    return f"{head}, {d['threads']} threads; BLAS {d['blas']}; {d['compiler']}{note}"
