"""The compiled module (lstmkit.core._fused): step kernels, weight gradients, threads,
kept scratch, strided input, argument checks. Every path against the reference, per ISA,
is in test_kernel_paths.py.
"""

import importlib.util
import os
import shutil
import sysconfig
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from lstmkit.core import gates, lstm, reference

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}

_CC = (sysconfig.get_config_var("CC") or "cc").split()[0]
HAS_CC = bool(shutil.which(_CC) or shutil.which("gcc") or shutil.which("cc"))
PACKED = gates.extension_available() and gates.kernel_details()["best"] != "blas"
# Without a compiler there is nothing to compare (only the NumPy kernels exist);
# with one, a missing extension makes these tests fail, not skip.
pytestmark = [
    pytest.mark.skipif(
        not HAS_CC and not gates.extension_available(),
        reason="no C compiler: lstmkit runs on its NumPy kernels",
    ),
    pytest.mark.skipif(
        os.environ.get("LSTMKIT_NO_EXT", "") not in ("", "0"),
        reason="LSTMKIT_NO_EXT is set for the whole run: these test the compiled kernel",
    ),
]


def test_extension_is_built_when_a_compiler_exists():
    """CI catches a broken build: with gcc/cc present the .so must be there."""
    assert importlib.util.find_spec("lstmkit.core._fused") is not None, (
        "a C compiler exists but lstmkit.core._fused was not built "
        "(pip install -e . failed to compile it)"
    )
    assert gates.extension_available()
    from lstmkit.core import _fused

    assert _fused.blas_info() is not None, "the cblas gemm of NumPy's BLAS was not found"


def _step_inputs(rng, B, H, dt, masked):
    z = rng.standard_normal((B, 4 * H)).astype(dt) * 3  # wide range: saturating gates too
    rec = rng.standard_normal((B, 4 * H)).astype(dt)
    c_prev = rng.standard_normal((B, H)).astype(dt)
    h_prev = rng.standard_normal((B, H)).astype(dt)
    m = (rng.random(B) < 0.6).astype(dt) if masked else None
    return z, rec, c_prev, h_prev, m


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("masked", [False, True])
def test_step_forward_and_backward_compiled_equal_numpy(dt, masked, monkeypatch):
    from lstmkit.core import _fused

    rng = np.random.default_rng(0)
    B, H = 5, 37  # odd H: the vector tails run
    z, rec, c_prev, h_prev, m = _step_inputs(rng, B, H, dt, masked)
    outs = []
    for kernel in (gates._np_step, _fused.step_forward):
        zz = z.copy()
        c_t, tc, h_t = (np.empty((B, H), dt) for _ in range(3))
        kernel(zz, rec, c_prev, c_t, tc, h_prev, h_t, m)
        outs.append((zz, c_t, tc, h_t))
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(b, a, **TOL[dt])
    if masked:  # masked rows carry h, c exactly
        keep = m == 0
        assert keep.any() and (~keep).any()
        np.testing.assert_array_equal(outs[1][3][keep], h_prev[keep])
        np.testing.assert_array_equal(outs[1][1][keep], c_prev[keep])

    act, tc = outs[0][0], outs[0][2]
    dh0 = rng.standard_normal((B, H)).astype(dt)
    dc0 = rng.standard_normal((B, H)).astype(dt)
    res = []
    for kernel in (gates._np_step_backward, _fused.step_backward):
        dh, dc = dh0.copy(), dc0.copy()
        dz = np.empty((B, 4 * H), dt)
        kernel(dh, dc, act, tc, c_prev, dz, m, gates.lstm_backward_workspace(B, H, dt))
        res.append((dh, dc, dz))
    for a, b in zip(*res, strict=True):
        np.testing.assert_allclose(b, a, **TOL[dt])


def test_step_kernel_rejects_wrong_arrays():
    from lstmkit.core import _fused

    B, H = 2, 3
    z = np.zeros((B, 4 * H), np.float32)
    ok = [np.zeros((B, H), np.float32) for _ in range(5)]
    with pytest.raises(ValueError, match="float32"):
        _fused.step_forward(z, None, ok[0], ok[1], ok[2].astype(np.float64), ok[3], ok[4], None)
    with pytest.raises(ValueError, match="size"):
        _fused.step_forward(
            z, None, ok[0], np.zeros((B, H + 1), np.float32), ok[2], ok[3], ok[4], None
        )
    with pytest.raises(ValueError, match="contiguous"):
        _fused.step_forward(
            z, None, ok[0], np.zeros((H, B), np.float32).T, ok[2], ok[3], ok[4], None
        )


def _run(x, W_x, W_h, b, h0, c0, mask, rmask, dhs, dh_T, dc_T, need_cache=True):
    hs, (h_T, c_T), cache = lstm.lstm_forward(x, W_x, W_h, b, h0, c0, mask, rmask, need_cache)
    if not need_cache:
        return (hs, h_T, c_T)
    grads = lstm.lstm_backward(dhs, dh_T, dc_T, cache, W_x, W_h)
    return (hs, h_T, c_T) + tuple(grads)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(9, 3, 4, 8), (300, 33, 5, 64)], ids=["blas", "packed"])
def test_inference_loop_equals_training_loop(dt, shape):
    """need_cache=False gives the same outputs, bit for bit: ping-pong c buffers in the
    BLAS loop; in the packed float32 loop z_t goes to a small per-thread buffer instead
    of act[t], through the same kernel and the same sums (here 300 steps)."""
    rng = np.random.default_rng(2)
    T, B, D, H = shape
    x = rng.standard_normal((T, B, D)).astype(dt)
    W_x, W_h = (rng.standard_normal((n, 4 * H)).astype(dt) * 0.4 for n in (D, H))
    b = rng.standard_normal(4 * H).astype(dt)
    mask = (rng.random((T, B)) < 0.7).astype(dt)
    rmask = (rng.random((B, H)) < 0.8).astype(dt) / dt(0.8)  # (the layer uses it in training
    a = lstm.lstm_forward(x, W_x, W_h, b, mask=mask, rmask=rmask, need_cache=True)  # only)
    c = lstm.lstm_forward(x, W_x, W_h, b, mask=mask, rmask=rmask, need_cache=False)
    np.testing.assert_array_equal(c[0], a[0])
    np.testing.assert_array_equal(c[1][1], a[1][1])
    assert c[2] is None


def test_env_var_forces_numpy(monkeypatch):
    monkeypatch.setenv("LSTMKIT_NO_EXT", "1")
    assert gates.lstm_step_kernel(np.float32) is gates._np_step
    assert gates.lstm_step_backward_kernel(np.float64) is gates._np_step_backward
    assert gates.loop_module(np.float32) is None
    monkeypatch.delenv("LSTMKIT_NO_EXT")
    assert gates.lstm_step_kernel(np.float32) is not gates._np_step
    assert gates.lstm_step_kernel(np.float16) is gates._np_step  # no compiled float16


@pytest.mark.skipif(not PACKED, reason="no packed kernel on this CPU")
def test_threads_a_small_batch_shares():
    """Two threads share a step at any batch once H ≥ 160 (each keeps half of W_h in its
    core's cache); below that only when the step is big (8·B·H² ≥ 2e6); one thread
    available: one thread."""
    from threadpoolctl import threadpool_limits

    from lstmkit.core import _fused

    with threadpool_limits(2):
        sizes = [(1, 160), (1, 384), (3, 256), (1, 128), (3, 96), (32, 96)]
        got = {(B, H): _fused.plan(B, H, inference=True)[1] for B, H in sizes}
    assert got == {(1, 160): 2, (1, 384): 2, (3, 256): 2, (1, 128): 1, (3, 96): 1, (32, 96): 2}
    with threadpool_limits(1):
        assert _fused.plan(1, 384, inference=True)[1] == 1


@pytest.mark.skipif(not PACKED, reason="no packed kernel on this CPU")
def test_threaded_loop_is_deterministic():
    """Chunks of units are computed the same way whichever thread takes them: 2 threads
    give bit-for-bit the 1-thread result, every time (a data race would not)."""
    from threadpoolctl import threadpool_limits

    from lstmkit.core import _fused

    rng = np.random.default_rng(3)
    T, B, D, H = 12, 17, 6, 128
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    W_x, W_h = (rng.standard_normal((n, 4 * H)).astype(np.float32) * 0.3 for n in (D, H))
    b = rng.standard_normal(4 * H).astype(np.float32)
    mask = (rng.random((T, B)) < 0.8).astype(np.float32)
    rmask = (rng.random((B, H)) < 0.9).astype(np.float32)
    dhs = rng.standard_normal((T, B, H)).astype(np.float32)
    with threadpool_limits(1):
        assert _fused.plan(B, H)[1] == 1
        want = _run(x, W_x, W_h, b, None, None, mask, rmask, dhs, None, None)
    with threadpool_limits(2):
        assert _fused.plan(B, H)[1] == 2
        for _ in range(5):
            got = _run(x, W_x, W_h, b, None, None, mask, rmask, dhs, None, None)
            # what the loop computes (dW_x, dW_h, dx come from BLAS after it, whose
            # summation order may change with its own thread count)
            for k in (0, 1, 2, 4, 5, 8):  # hs, h_T, c_T, dh0, dc0, db
                np.testing.assert_array_equal(got[k], want[k])


def _problem(rng, dt, T, B, D, H):
    x = rng.standard_normal((T, B, D)).astype(dt)
    W_x, W_h = (rng.standard_normal((n, 4 * H)).astype(dt) * 0.3 for n in (D, H))
    b = rng.standard_normal(4 * H).astype(dt)
    mask = (rng.random((T, B)) < 0.8).astype(dt)
    dhs = rng.standard_normal((T, B, H)).astype(dt)
    return x, W_x, W_h, b, mask, dhs


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 5, 4, 6), (7, 13, 32, 64)], ids=["blas", "packed"])
def test_consumed_backward_equals_fresh_dz(dt, shape):
    """consume=True writes dz_t over the cached activations: same gradients, bit for bit,
    as with a separate dz array; the cache is then spent and says so."""
    rng = np.random.default_rng(4)
    x, W_x, W_h, b, mask, dhs = _problem(rng, dt, *shape)
    _, _, cache = lstm.lstm_forward(x, W_x, W_h, b, mask=mask)
    want = lstm.lstm_backward(dhs, None, None, cache, W_x, W_h)
    assert cache.act is not None  # not consumed: reusable
    again = lstm.lstm_backward(dhs, None, None, cache, W_x, W_h)
    for w, a in zip(want, again, strict=True):
        np.testing.assert_array_equal(a, w)
    got = lstm.lstm_backward(dhs, None, None, cache, W_x, W_h, consume=True)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g, w)
    assert cache.act is None
    with pytest.raises(RuntimeError, match="consumed"):
        lstm.lstm_backward(dhs, None, None, cache, W_x, W_h)


def test_numpy_path_never_consumes(monkeypatch):
    monkeypatch.setenv("LSTMKIT_NO_EXT", "1")
    rng = np.random.default_rng(5)
    x, W_x, W_h, b, mask, dhs = _problem(rng, np.float64, 4, 3, 2, 5)
    _, _, cache = lstm.lstm_forward(x, W_x, W_h, b, mask=mask)
    lstm.lstm_backward(dhs, None, None, cache, W_x, W_h, consume=True)
    assert cache.act is not None  # its step kernel cannot work in place


def test_layer_backward_once_per_forward():
    from lstmkit.layers import LSTM

    rng = np.random.default_rng(6)
    layer = LSTM(32, return_sequences=True, seed=0)
    x = rng.standard_normal((5, 7, 3)).astype(np.float32)
    dy = rng.standard_normal((5, 7, 32)).astype(np.float32)
    layer.forward(x, training=True)
    g_ids = [id(g) for g in layer.grads]
    dx = layer.backward(dy)
    assert dx.shape == x.shape and [id(g) for g in layer.grads] == g_ids
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(dy)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_weight_grads_kernel_equals_numpy(dt, threads):
    """dW = Aᵀ·dZ for several triples at once, rows shared by threads (uneven shares,
    a triple smaller than a share); the BLAS thread count is restored afterwards."""
    from threadpoolctl import threadpool_info, threadpool_limits

    wg = gates.weight_grads_kernel(dt)
    assert wg is not None
    rng = np.random.default_rng(7)
    N = 45
    A1, A2, A3 = (rng.standard_normal((N, r)).astype(dt) for r in (37, 3, 64))
    dZ, dZ3 = rng.standard_normal((N, 24)).astype(dt), rng.standard_normal((N, 8)).astype(dt)
    outs = [np.full((r, g), np.nan, dt) for r, g in ((37, 24), (3, 24), (64, 8))]
    with threadpool_limits(threads):
        before = [d["num_threads"] for d in threadpool_info() if d["internal_api"] == "openblas"]
        wg(((A1, dZ, outs[0]), (A2, dZ, outs[1]), (A3, dZ3, outs[2])))
        after = [d["num_threads"] for d in threadpool_info() if d["internal_api"] == "openblas"]
    assert after == before
    for (A, Z), o in zip(((A1, dZ), (A2, dZ), (A3, dZ3)), outs, strict=True):
        np.testing.assert_allclose(o, A.T @ Z, **TOL[dt])
    with pytest.raises(ValueError):
        wg(((A1, dZ3, outs[0]),))  # dW is (37, 24), A·dZ3 would be (37, 8)
    with pytest.raises(ValueError):
        wg(((A1[:-1], dZ, outs[0]),))  # A and dZ disagree on N


@pytest.mark.skipif(not PACKED, reason="no packed kernel on this CPU")
def test_training_forward_at_a_large_size_equals_reference():
    """The packed loop at B = 128 (11 row blocks), H = 512 (16 chunks a step), with a
    mask: every z_t computed as [x_t, h_{t-1}]·[W_x; W_h] straight into act[t]."""
    rng = np.random.default_rng(8)
    T, B, D, H = 20, 128, 32, 512
    assert gates.lstm_packed_loop(np.float32, B, H)
    x, W_x, W_h, b, mask, dhs = _problem(rng, np.float32, T, B, D, H)
    W_x, W_h = W_x / 8, W_h / 8  # 544 inputs: keep float32 rounding tame
    hs, (h_T, c_T), cache = lstm.lstm_forward(x, W_x, W_h, b, mask=mask)
    r_hs, (r_h, r_c), _ = reference.lstm_forward(
        *(a.astype(np.float64) for a in (x, W_x, W_h, b)), mask=mask.astype(np.float64)
    )
    np.testing.assert_allclose(hs, r_hs, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(c_T, r_c, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("view", ["batch-major", "reversed"])
def test_inference_reads_a_strided_input_in_place(view, monkeypatch):
    """The layer hands its (batch, time, features) input over as a time-major *view*;
    the packed inference loop gathers the rows itself. Same numbers as a contiguous copy;
    the BLAS loop refuses a strided x (lstm_forward copies it for that loop)."""
    from lstmkit.core import _fused

    rng = np.random.default_rng(9)
    T, B, D, H = 11, 24, 40, 64
    xb = rng.standard_normal((B, T, D)).astype(np.float32)
    W_x, W_h = (rng.standard_normal((n, 4 * H)).astype(np.float32) * 0.2 for n in (D, H))
    b = rng.standard_normal(4 * H).astype(np.float32)
    x = xb.transpose(1, 0, 2) if view == "batch-major" else xb.transpose(1, 0, 2)[::-1]
    assert not x.flags.c_contiguous
    got = lstm.lstm_forward(x, W_x, W_h, b, need_cache=False)
    want = lstm.lstm_forward(np.ascontiguousarray(x), W_x, W_h, b, need_cache=False)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1][1], want[1][1])
    monkeypatch.setenv("LSTMKIT_NO_MK", "1")
    np.testing.assert_allclose(
        lstm.lstm_forward(x, W_x, W_h, b, need_cache=False)[0], want[0], rtol=1e-5, atol=1e-6
    )
    hs, cs = np.zeros((T + 1, B, H), np.float32), np.zeros((T + 1, B, H), np.float32)
    with pytest.raises(ValueError, match="contiguous"):
        _fused.lstm_forward(
            act=np.zeros((T, B, 4 * H), np.float32),
            W_h=W_h,
            hs=hs,
            cs=cs,
            tcs=np.zeros((T, B, H), np.float32),
            b=b,
            x=x,
            W_x=W_x,
            training=True,
        )


def test_scratch_is_freed_with_its_thread_and_on_request():
    """The packed weights the C loop keeps per thread: freed when that thread ends (a
    server's short-lived threads must not leak them) and by gates.release_scratch()."""
    import threading

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    rng = np.random.default_rng(10)
    T, B, D, H = 2, 4, 512, 1024  # packed weights: 24 MB
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    W_x, W_h = (rng.standard_normal((n, 4 * H)).astype(np.float32) * 0.01 for n in (D, H))
    b = np.zeros(4 * H, np.float32)
    if not (PACKED and gates.lstm_packed_loop(np.float32, B, H)):
        pytest.skip("no packed loop on this CPU: nothing is kept")
    lstm.lstm_forward(x, W_x, W_h, b, need_cache=False)  # warm this thread's own slots
    base = rss_mb()
    for _ in range(6):  # 6 threads × 24 MB if leaked
        th = threading.Thread(
            target=lstm.lstm_forward, args=(x, W_x, W_h, b), kwargs={"need_cache": False}
        )
        th.start()
        th.join()
    assert rss_mb() - base < 60
    gates.release_scratch()
    gates.release_scratch()  # twice is fine
    np.testing.assert_allclose(
        lstm.lstm_forward(x, W_x, W_h, b, need_cache=False)[0],
        lstm.lstm_forward(np.ascontiguousarray(x), W_x, W_h, b)[0],
        rtol=1e-4,
        atol=1e-5,
    )


def test_weight_grads_from_two_threads_at_once():
    """Two Python threads computing weight gradients together (the GIL is released):
    both right, and the process-wide BLAS thread count is what it was afterwards."""
    import threading

    from threadpoolctl import threadpool_info, threadpool_limits

    wg = gates.weight_grads_kernel(np.float32)
    rng = np.random.default_rng(11)
    A = rng.standard_normal((4000, 128)).astype(np.float32)  # ~1 ms a call: the calls overlap
    dZ = rng.standard_normal((4000, 96)).astype(np.float32)
    want = A.T @ dZ
    bad = []

    def work():
        out = np.empty((128, 96), np.float32)
        for _ in range(30):
            wg(((A, dZ, out),))
            if not np.allclose(out, want, rtol=1e-4, atol=1e-3):
                bad.append(float(np.abs(out - want).max()))

    with threadpool_limits(2):
        before = [d["num_threads"] for d in threadpool_info() if d["internal_api"] == "openblas"]
        ths = [threading.Thread(target=work) for _ in range(2)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        after = [d["num_threads"] for d in threadpool_info() if d["internal_api"] == "openblas"]
    assert not bad and after == before


def test_time_loops_take_their_arrays_by_name():
    """The loop entry points are keyword-only (11-15 arrays cross the boundary: a swapped
    pair of same-shaped arrays would otherwise go unnoticed) and name what is missing."""
    from lstmkit.core import _fused

    z = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(TypeError):
        _fused.lstm_forward(z, z, z)
    with pytest.raises(ValueError, match="lstm_forward: W_h is required"):
        _fused.lstm_forward(x=z)
    with pytest.raises(TypeError, match="W_hh"):
        _fused.lstm_forward(x=z, W_hh=z)
    with pytest.raises(ValueError, match="gru_backward: act is required"):
        _fused.gru_backward(hs=z)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_worker_pool_survives_fork():
    """The C loop's worker threads are kept between calls (a pool). A child made by fork()
    after the pool ran has no workers: its 2-thread calls must start new ones, not hang,
    and give the parent's numbers. LSTMKIT_POOL=0 (threads per call) gives them too."""
    rng = np.random.default_rng(12)
    T, B, D, H = 5, 8, 16, 192  # 8·B·H² > 2e6: two threads share a step
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    W_x, W_h = (rng.standard_normal((n, 4 * H)).astype(np.float32) * 0.2 for n in (D, H))
    b = np.zeros(4 * H, np.float32)
    with threadpool_limits(2):
        if not (PACKED and gates.loop_plan(np.float32, B, H, inference=True)[1] == 2):
            pytest.skip("the packed loop runs on one thread here")
        want = lstm.lstm_forward(x, W_x, W_h, b, need_cache=False)[0]  # the pool is up
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: 2 threads again, then report
            ok = 0
            try:
                with threadpool_limits(2):
                    got = lstm.lstm_forward(x, W_x, W_h, b, need_cache=False)[0]
                ok = int(np.array_equal(got, want))
            finally:
                os.write(w, bytes([ok]))
                os._exit(0)
        os.close(w)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung on its 2-thread call")
        assert os.read(r, 1) == b"\x01"
        os.close(r)
        os.environ["LSTMKIT_POOL"] = "0"
        try:
            fresh = lstm.lstm_forward(x, W_x, W_h, b, need_cache=False)[0]
        finally:
            del os.environ["LSTMKIT_POOL"]
        np.testing.assert_array_equal(fresh, want)
