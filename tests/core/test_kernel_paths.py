"""Every kernel path against the readable references, LSTM and GRU, forward and backward.

Paths (float32 unless said): the packed kernel forced to each ISA this CPU runs —
``LSTMKIT_ISA=avx512`` (16 lanes), ``avx2`` (8), ``baseline`` (SSE2 on x86-64, NEON on
aarch64: 4) — the C loop with a BLAS call per step (``blas``, and float64), the Python
loop with the compiled step kernels, and pure NumPy (``LSTMKIT_NO_EXT=1``). Shapes with
H and D not multiples of any vector width, B = 1, masks (a fully masked row too) and
recurrent dropout; 1 and 2 threads. An AVX-512 machine runs the AVX2 and baseline
kernels here too (that is what the switch is for).
"""

import os

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from lstmkit.core import gates, gru, lstm, reference

pytestmark = [
    pytest.mark.skipif(
        not gates.extension_available(), reason="the compiled kernel is not built here"
    ),
    pytest.mark.skipif(
        os.environ.get("LSTMKIT_NO_EXT", "") not in ("", "0"),
        reason="LSTMKIT_NO_EXT is set for the whole run: these test the compiled kernel",
    ),
]

TOL = {np.float32: 2e-5, np.float64: 1e-12}
BEST = gates.kernel_details()["best"] if gates.extension_available() else None
X86 = BEST in ("avx512", "avx2", "sse2")
BASELINE = "sse2" if X86 else "neon"
ORDER = ["sse2", "neon", "avx2", "avx512"]  # narrow → wide (sse2, neon: one per arch)


def _runs_here(isa):
    if isa == "blas":
        return True
    if isa == "baseline":
        return True
    if (isa == "neon") == X86:
        return False
    return ORDER.index(isa) <= ORDER.index(BEST)


# (T, B, D, H, threads): H = 6, 37, 40, 5 are multiples of no width; D = 33 leaves a dx tail
SHAPES = [
    (7, 4, 5, 6, 2),
    (6, 16, 5, 128, 2),
    (4, 13, 7, 37, 1),
    (5, 1, 3, 40, 1),
    (3, 5, 33, 64, 2),
    (4, 30, 3, 32, 1),
    (3, 9, 2, 5, 1),
]
ISAS = ["avx512", "avx2", "baseline", "blas"]


def _problem(rng, cell, dt, T, B, D, H, extras):
    G = 4 if cell == "LSTM" else 3
    p = {
        "x": rng.standard_normal((T, B, D)).astype(dt),
        "W_x": (rng.standard_normal((D, G * H)) * 0.5).astype(dt),
        "W_h": (rng.standard_normal((H, G * H)) * 0.5).astype(dt),
        "h0": rng.standard_normal((B, H)).astype(dt),
        "dhs": rng.standard_normal((T, B, H)).astype(dt),
        "dh_T": rng.standard_normal((B, H)).astype(dt),
        "mask": None,
        "rmask": None,
    }
    if cell == "LSTM":
        p["b"] = rng.standard_normal(4 * H).astype(dt)
        p["c0"], p["dc_T"] = (rng.standard_normal((B, H)).astype(dt) for _ in range(2))
    else:
        p["b_x"], p["b_h"] = (rng.standard_normal(3 * H).astype(dt) for _ in range(2))
    if extras:
        mask = (rng.random((T, B)) < 0.7).astype(dt)
        mask[:, 0] = 0  # a fully masked row
        p["mask"] = mask
        p["rmask"] = ((rng.random((B, H)) < 0.8) / 0.8).astype(dt)
    return p


def _reference(cell, p):
    if cell == "LSTM":
        hs, (h, c), caches = reference.lstm_forward(
            p["x"], p["W_x"], p["W_h"], p["b"], p["h0"], p["c0"], p["mask"], p["rmask"]
        )
        grads = reference.lstm_backward(p["dhs"], p["dh_T"], p["dc_T"], caches, p["W_x"], p["W_h"])
        return (hs, h, c, *grads)
    hs, h, caches = gru.gru_reference_forward(
        p["x"], p["W_x"], p["W_h"], p["b_x"], p["b_h"], p["h0"], p["mask"], p["rmask"]
    )
    return (hs, h, *gru.gru_reference_backward(p["dhs"], p["dh_T"], caches, p["W_x"], p["W_h"]))


def _fast(cell, p, need_cache=True):
    if cell == "LSTM":
        hs, (h, c), cache = lstm.lstm_forward(
            p["x"], p["W_x"], p["W_h"], p["b"], p["h0"], p["c0"], p["mask"], p["rmask"], need_cache
        )
        if not need_cache:
            return hs, h, c
        grads = lstm.lstm_backward(
            p["dhs"], p["dh_T"], p["dc_T"], cache, p["W_x"], p["W_h"], consume=True
        )
        return (hs, h, c, *grads)
    hs, h, cache = gru.gru_forward(
        p["x"], p["W_x"], p["W_h"], p["b_x"], p["b_h"], p["h0"], p["mask"], p["rmask"], need_cache
    )
    if not need_cache:
        return hs, h
    grads = gru.gru_backward(p["dhs"], p["dh_T"], cache, p["W_x"], p["W_h"], consume=True)
    return (hs, h, *grads)


NAMES = {
    "LSTM": ["hs", "h_T", "c_T", "dx", "dh0", "dc0", "dW_x", "dW_h", "db"],
    "GRU": ["hs", "h_T", "dx", "dh0", "dW_x", "dW_h", "db_x", "db_h"],
}


def _compare(cell, got, want, dt, path):
    for name, g, w in zip(NAMES[cell], got, want, strict=False):
        # float32 sums of T·B terms: absolute error relative to the largest entry
        scale = max(1.0, float(np.abs(w).max()))
        np.testing.assert_allclose(
            g, w, rtol=TOL[dt], atol=TOL[dt] * scale, err_msg=f"{path}: {cell} {name}"
        )


def _expected_path(isa, B, dt, inference=False, gru=False):
    if isa == "blas" or dt == np.float64 or (B < 2 and not inference and not gru):
        return "blas"
    return BASELINE if isa == "baseline" else isa


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
@pytest.mark.parametrize("extras", [False, True], ids=["plain", "mask+rmask"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "T{}B{}D{}H{}thr{}".format(*s))
@pytest.mark.parametrize(
    "isa,xproj,split",
    [
        (i, x, sp)
        for i in ISAS
        for x in (("auto",) if i == "blas" else ("step", "block"))
        for sp in (("auto",) if i == "blas" else ("units", "rows"))
    ],
    ids=lambda v: v,
)
def test_compiled_paths_equal_reference(isa, xproj, split, shape, extras, cell, monkeypatch):
    """x·W_x inside each step's product (step) or for blocks of steps first (block); the
    threads sharing each step's units, or each running its own batch rows."""
    if not _runs_here(isa):
        pytest.skip(f"this CPU has no {isa} (best here: {BEST})")
    T, B, D, H, threads = shape
    monkeypatch.setenv("LSTMKIT_ISA", isa)
    monkeypatch.setenv("LSTMKIT_XPROJ", xproj)
    monkeypatch.setenv("LSTMKIT_SPLIT", split)
    rng = np.random.default_rng([*shape, extras, cell == "GRU"])
    for dt in (np.float32, np.float64) if isa == "blas" else (np.float32,):
        p = _problem(rng, cell, dt, T, B, D, H, extras)
        want = _reference(cell, p)
        gru = cell == "GRU"
        path = gates.loop_plan(dt, B, H, gru=gru)[0]
        assert path == _expected_path(isa, B, dt, gru=gru)  # (GRU: packed at B = 1 too)
        if gru:
            assert (gates.gru_packed_loop(dt, B, H) is None) == (path == "blas")
        with threadpool_limits(threads):
            got = _fast(cell, p)
            inference = _fast(cell, p, need_cache=False)
        _compare(cell, got, want, dt, f"{isa} → {path}")
        inferred = gates.loop_plan(dt, B, H, inference=True, gru=gru)[0]
        assert inferred == _expected_path(isa, B, dt, inference=True, gru=gru)
        if gru:
            assert (gates.gru_packed_loop(dt, B, H, inference=True) is None) == (inferred == "blas")
        if inferred == path:  # the same loop without a cache: the same numbers
            for a, b in zip(inference, got, strict=False):
                np.testing.assert_array_equal(a, b)
        else:  # (B = 1: the packed loop in inference, the BLAS or NumPy loop in training)
            _compare(cell, inference, want, dt, f"{isa} → {inferred} (inference)")


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
@pytest.mark.parametrize("where", ["Python loop, C steps", "NumPy"])
def test_python_loops_equal_reference(where, cell, monkeypatch):
    rng = np.random.default_rng(7)
    monkeypatch.setattr(gates, "loop_module", lambda dtype: None)  # no C time loop
    if where == "NumPy":
        monkeypatch.setenv("LSTMKIT_NO_EXT", "1")
        assert gates.lstm_step_kernel(np.float32) is gates._np_step
    else:
        assert gates.lstm_step_kernel(np.float32) is not gates._np_step
    for dt in (np.float32, np.float64):
        for T, B, D, H, _ in SHAPES[:4]:
            p = _problem(rng, cell, dt, T, B, D, H, extras=True)
            _compare(cell, _fast(cell, p), _reference(cell, p), dt, where)


def test_forced_isa_is_what_runs(monkeypatch):
    """The C entry point returns the path it ran; kernel_info says the same."""
    ext = gates.loop_module(np.float32)
    T, B, D, H = 3, 4, 5, 40
    rng = np.random.default_rng(3)
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    W_x, W_h = (rng.standard_normal((n, 4 * H)).astype(np.float32) for n in (D, H))
    for isa in ISAS:
        if not _runs_here(isa):
            continue
        monkeypatch.setenv("LSTMKIT_ISA", isa)
        want = _expected_path(isa, B, np.float32)
        ran = ext.lstm_forward(
            x=x,
            W_x=W_x,
            W_h=W_h,
            b=None,
            hs=np.zeros((T + 1, B, H), np.float32),
            cs=np.zeros((2, B, H), np.float32),
            tcs=np.zeros((1, B, H), np.float32),
            act=np.zeros((T, B, 4 * H), np.float32),
        )
        assert ran == want
        line = gates.kernel_info()
        assert (f"packed {want}" in line) if want != "blas" else ("BLAS call per step" in line)


def test_isa_switch_refuses_nonsense_and_clamps(monkeypatch):
    monkeypatch.setenv("LSTMKIT_ISA", "avx1024")
    with pytest.raises(ValueError, match="LSTMKIT_ISA"):
        gates.loop_plan(np.float32, 4, 32)
    with pytest.raises(ValueError, match="LSTMKIT_ISA"):
        gates.kernel_info()
    monkeypatch.setenv("LSTMKIT_ISA", "neon" if X86 else "avx2")  # another architecture's
    d = gates.kernel_details()
    assert d["isa"] == BEST and "another architecture" in d["note"]
    monkeypatch.setenv("LSTMKIT_ISA", "blas")
    monkeypatch.setenv("LSTMKIT_NO_MK", "0")
    assert gates.loop_plan(np.float32, 4, 32)[0] == "blas"
    monkeypatch.delenv("LSTMKIT_ISA")
    monkeypatch.setenv("LSTMKIT_NO_MK", "1")  # the older name of LSTMKIT_ISA=blas
    assert gates.loop_plan(np.float32, 4, 32)[0] == "blas"
    monkeypatch.setenv("LSTMKIT_NO_EXT", "1")
    assert gates.kernel_info() == "numpy (LSTMKIT_NO_EXT=1)"


@pytest.mark.parametrize("isa", ["avx512", "avx2", "baseline", "blas"])
def test_denormals_flush_to_zero_inside_the_loop(isa, monkeypatch):
    """FTZ/DAZ is on inside the C loops (denormal floats are 20-100x slower) and off again
    afterwards. With zero weights every gate is σ(0) = ½ and g = 0, so c_1 = ½·c_0: a
    denormal c_0 gives a denormal c_1 in NumPy and 0 in C."""
    if not _runs_here(isa):
        pytest.skip(f"this CPU has no {isa}")
    monkeypatch.setenv("LSTMKIT_ISA", isa)
    T, B, D, H = 1, 4, 3, 40
    x = np.zeros((T, B, D), np.float32)
    W_x, W_h = np.zeros((D, 4 * H), np.float32), np.zeros((H, 4 * H), np.float32)
    b = np.zeros(4 * H, np.float32)
    c0 = np.full((B, H), 4e-39, np.float32)  # below float32's smallest normal, 1.18e-38
    _, (_, c_T), _ = lstm.lstm_forward(x, W_x, W_h, b, c0=c0)
    assert np.all(c_T == 0)
    monkeypatch.setenv("LSTMKIT_NO_EXT", "1")
    _, (_, c_np), _ = lstm.lstm_forward(x, W_x, W_h, b, c0=c0)
    assert np.all(c_np == np.float32(2e-39))
    assert np.float32(4e-39) * np.float32(0.5) > 0  # this thread's FPU state was restored


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
@pytest.mark.parametrize("isa", ISAS)
def test_nan_in_the_input_stays_nan(isa, cell, monkeypatch):
    """A NaN in x reaches h (a training loop must see it to stop), on every path."""
    if not _runs_here(isa):
        pytest.skip(f"this CPU has no {isa}")
    monkeypatch.setenv("LSTMKIT_ISA", isa)
    p = _problem(np.random.default_rng(6), cell, np.float32, 3, 8, 4, 6, extras=False)
    p["x"][1, 2, 3] = np.nan
    hs = _fast(cell, p, need_cache=False)[0]
    assert np.isnan(hs[1:, 2]).all() and np.isfinite(hs[0]).all()


def test_gru_packed_cache_feeds_numpy_backward(monkeypatch):
    """The packed GRU forward keeps the NumPy loop's cache (z, r, n; u_n; hs): the NumPy
    backward after a packed forward gives the reference's gradients."""
    if BEST is None or not _runs_here("avx2" if X86 else "neon"):
        pytest.skip("no packed kernel here")
    rng = np.random.default_rng(5)
    p = _problem(rng, "GRU", np.float32, 5, 6, 7, 37, extras=True)
    assert gates.gru_packed_loop(np.float32, 6, 37) is not None
    _, _, cache = gru.gru_forward(
        p["x"], p["W_x"], p["W_h"], p["b_x"], p["b_h"], p["h0"], p["mask"], p["rmask"]
    )
    monkeypatch.setattr(gates, "gru_packed_loop", lambda *a: None)
    grads = gru.gru_backward(p["dhs"], p["dh_T"], cache, p["W_x"], p["W_h"])
    want = _reference("GRU", p)
    _compare("GRU", (want[0], want[1], *grads), want, np.float32, "packed fwd, NumPy bwd")


@pytest.mark.parametrize("xproj", ["step", "block"])
@pytest.mark.parametrize("B", [1, 5])
def test_kept_packed_weights_follow_changes(B, xproj, monkeypatch):
    """Inference keeps the packed weights for the next call on the same arrays; a change
    made in place (same array, same address) is seen, as is a new array."""
    monkeypatch.setenv("LSTMKIT_XPROJ", xproj)
    if not gates.lstm_packed_loop(np.float32, B, 40, inference=True):
        pytest.skip("no packed kernel here")
    rng = np.random.default_rng(11)
    T, D, H = 6, 7, 40
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    W_x = (rng.standard_normal((D, 4 * H)) * 0.3).astype(np.float32)
    W_h = (rng.standard_normal((H, 4 * H)) * 0.3).astype(np.float32)
    b = rng.standard_normal(4 * H).astype(np.float32)

    def run():
        return lstm.lstm_forward(x, W_x, W_h, b, need_cache=False)[0]

    def want():
        return reference.lstm_forward(x, W_x, W_h, b)[0]

    first, again = run(), run()
    np.testing.assert_array_equal(first, again)
    for change in (
        lambda: W_h.__setitem__((3, 5), W_h[3, 5] + 0.5),
        lambda: W_x.__setitem__((0, 2 * H + 1), -2.0),
    ):
        change()
        got = run()
        assert not np.array_equal(got, first)
        np.testing.assert_allclose(got, want(), rtol=2e-5, atol=2e-5)
        first = got


@pytest.mark.parametrize("split", ["units", "rows"])
@pytest.mark.parametrize("where", ["first", "last"])
@pytest.mark.parametrize(
    "cell,T,B",
    [("LSTM", 1, 1), ("LSTM", 9, 1), ("LSTM", 9, 6), ("GRU", 9, 1), ("GRU", 1, 6), ("GRU", 9, 6)],
    ids=lambda v: str(v),
)
def test_a_change_found_late_in_the_run_runs_it_again(cell, T, B, where, split, monkeypatch):
    """The kept packed weights are used while the threads compare W_x, W_h with their
    kept copy, slice by slice over the steps. A change in the first float is found at
    step 0, one in the last float only at the last step: either way the run is redone
    from h_0 and c_0 (which the inference's ping-pong of c has overwritten by then),
    with the weights repacked, and the result is the reference's for the new weights."""
    monkeypatch.setenv("LSTMKIT_SPLIT", split)
    D, H = 7, 40
    packed = (
        gates.lstm_packed_loop(np.float32, B, H, inference=True)
        if cell == "LSTM"
        else gates.gru_packed_loop(np.float32, B, H, inference=True)
    )
    if not packed:
        pytest.skip("no packed kernel here")
    rng = np.random.default_rng([T, B, cell == "GRU", where == "last"])
    p = _problem(rng, cell, np.float32, T, B, D, H, extras=B > 1)  # (B = 1: no masked row)
    W = p["W_x"] if where == "first" else p["W_h"]
    at = (0, 0) if where == "first" else (H - 1, W.shape[1] - 1)
    with threadpool_limits(2):
        first = _fast(cell, p, need_cache=False)
        _compare(cell, first, _reference(cell, p), np.float32, "first call")
        W[at] += 1.5  # in place: same arrays, same addresses, so the pack is kept
        got = _fast(cell, p, need_cache=False)
    want = _reference(cell, p)
    assert not np.array_equal(got[0], first[0])
    _compare(cell, got, want, np.float32, f"after a change to the {where} float")


@pytest.mark.parametrize("B", [1, 5])
def test_kept_packed_weights_of_several_layers(B):
    """Inference keeps the packed weights of a few layers (a stack's layers called in
    turn): each layer's output stays its own, with more layers than kept sets, across
    rounds, and after a change in place to a layer whose pack is kept."""
    if not gates.lstm_packed_loop(np.float32, B, 40, inference=True):
        pytest.skip("no packed kernel here")
    rng = np.random.default_rng(12)
    T, D, H, layers = 5, 9, 40, 6  # 6 > the 4 sets kept (LK_NKEEP)
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    params = [
        tuple(
            (rng.standard_normal(shape) * 0.3).astype(np.float32)
            for shape in ((D, 4 * H), (H, 4 * H), (4 * H,))
        )
        for _ in range(layers)
    ]

    def check(order):
        for k in order:
            got = lstm.lstm_forward(x, *params[k], need_cache=False)[0]
            want = reference.lstm_forward(x, *params[k])[0]
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5, err_msg=f"layer {k}")

    check([0, 1, 2, 0, 1, 2, 0])  # 3 layers in turn: all kept
    check(range(layers))  # more than are kept: the oldest make room
    check([5, 4, 3, 2, 1, 0, 5])
    params[1][1][2, 3] += 0.75  # in place, while layer 1's pack may be kept
    check([1, 0, 1])


@pytest.mark.parametrize("name,value,reason", [
    ("LSTMKIT_SPLIT", "columns", "LSTMKIT_SPLIT: expected auto, units or rows"),
    ("LSTMKIT_XPROJ", "later", "LSTMKIT_XPROJ: expected auto, step or block"),
])  # fmt: skip
def test_a_bad_switch_is_refused_with_its_reason(name, value, reason, monkeypatch):
    if not gates.lstm_packed_loop(np.float32, 4, 40):
        pytest.skip("the switches are read by the packed kernel")
    monkeypatch.setenv(name, value)
    x = np.zeros((3, 4, 5), np.float32)
    W_x, W_h = np.zeros((5, 160), np.float32), np.zeros((40, 160), np.float32)
    with pytest.raises(ValueError, match=reason):
        lstm.lstm_forward(x, W_x, W_h, np.zeros(160, np.float32))
