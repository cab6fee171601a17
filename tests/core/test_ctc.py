"""CTC loss, gradient and decoders: against torch.nn.functional.ctc_loss in float64, against
brute-force sums over every path, and against finite differences."""

import itertools

import numpy as np
import pytest

from lstmkit import losses
from lstmkit.core import ctc
from lstmkit.core.ctc_decode import (
    beam_decode,
    collapse,
    edit_distance,
    greedy_decode,
    label_error_rate,
    prefix_beam_search,
)

torch = pytest.importorskip("torch")


def _case(seed):
    """Random logits and labels with repeats, empty targets and T_b barely long enough."""
    rng = np.random.default_rng(seed)
    B, C = int(rng.integers(1, 7)), int(rng.integers(2, 7))
    L = int(rng.integers(0, 7))
    labels = rng.integers(1, C, (B, L))
    if L >= 3:
        labels[0, 1] = labels[0, 0]  # a repeat: needs a blank between the two
        labels[-1, 2] = labels[-1, 1]
    Lb = rng.integers(0, L + 1, B)
    if B > 1:
        Lb[1] = 0  # an empty target: only blanks
    Lb[0] = L
    need = np.array([max(1, ctc.min_frames(labels[b, : Lb[b]])) for b in range(B)])
    T = int(need.max() + rng.integers(0, 8))
    Tb = np.array([rng.integers(n, T + 1) for n in need])
    Tb[0] = need[0]  # barely long enough
    z = rng.standard_normal((B, T, C)) * 2
    return z, labels, Tb, Lb


def _torch(z, labels, Tb, Lb, reduction="none", zero_infinity=False):
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    lp = torch.log_softmax(zt, -1).transpose(0, 1)  # torch wants (T, B, C)
    tl = torch.nn.functional.ctc_loss(
        lp,
        torch.tensor(labels, dtype=torch.long),
        torch.tensor(Tb),
        torch.tensor(Lb),
        reduction=reduction,
        zero_infinity=zero_infinity,
    )
    tl.sum().backward()
    return tl.detach().numpy(), zt.grad.numpy()


@pytest.mark.parametrize("seed", range(40))
def test_loss_and_gradient_equal_torch(seed):
    z, labels, Tb, Lb = _case(seed)
    want, want_dz = _torch(z, labels, Tb, Lb)
    nll, dz = ctc.ctc_loss_from_logits(z, labels, Tb, Lb)
    assert np.all(np.isfinite(nll))
    np.testing.assert_allclose(nll, want, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dz, want_dz, rtol=0, atol=1e-10)


def test_barely_long_enough_and_one_frame_short():
    # "1 1 2" needs 4 frames (1 − 1 2); with 3 the loss is infinite, as in torch
    z = np.random.default_rng(1).standard_normal((2, 4, 3))
    labels = np.array([[1, 1, 2], [1, 1, 2]])
    Tb, Lb = np.array([4, 3]), np.array([3, 3])
    assert ctc.min_frames([1, 1, 2]) == 4
    nll, _ = ctc.ctc_loss_from_logits(z, labels, Tb, Lb)
    want, _ = _torch(z, labels, Tb, Lb)
    assert np.isfinite(nll[0]) and np.isinf(nll[1]) and np.isinf(want[1])
    np.testing.assert_allclose(nll[0], want[0], atol=1e-10)
    nll0, dz0 = ctc.ctc_loss_from_logits(z, labels, Tb, Lb, zero_infinity=True)
    want0, want_dz0 = _torch(z, labels, Tb, Lb, zero_infinity=True)
    np.testing.assert_allclose(nll0, want0, atol=1e-10)
    np.testing.assert_allclose(dz0, want_dz0, atol=1e-10)
    assert nll0[1] == 0 and not dz0[1].any()


@pytest.mark.parametrize("seed", range(6))
def test_ctcloss_keras_reduction_equals_torch_sum_over_batch(seed):
    z, labels, Tb, Lb = _case(seed + 100)
    B, T, _ = z.shape
    y = np.where(np.arange(labels.shape[1])[None] < Lb[:, None], labels, 0)  # 0-padded
    mask = (np.arange(T)[None] < Tb[:, None]).astype(float)
    loss, dz = losses.get("ctc").value_and_grad(y, z, sample_weight=mask)
    want, want_dz = _torch(z, labels, Tb, Lb, reduction="sum")
    np.testing.assert_allclose(loss, want / B, atol=1e-10)
    np.testing.assert_allclose(dz, want_dz / B, atol=1e-10)
    assert losses.get("ctc").name == "ctc"
    assert isinstance(losses.LOSSES["CTCLoss"](**losses.CTCLoss().get_config()), losses.CTCLoss)


def test_ctcloss_refuses_bad_masks_and_labels():
    z = np.zeros((2, 5, 3))
    with pytest.raises(ValueError, match="prefix frame mask"):
        losses.CTCLoss()(np.array([[1], [2]]), z, sample_weight=np.array([[1, 0, 1, 0, 0]] * 2))
    with pytest.raises(ValueError, match="then 0-padding"):
        losses.CTCLoss()(np.array([[0, 1], [2, 0]]), z)
    with pytest.raises(ValueError, match="other than the blank"):
        ctc.ctc_loss(np.zeros((1, 5, 3)), [[3]], [5], [1])
    with pytest.raises(ValueError, match="input lengths"):
        ctc.ctc_loss(np.zeros((1, 5, 3)), [[1]], [6], [1])


def _brute_force(lp, blank=0):
    """{labels: p(labels | x)} by summing Π_t y_t(π_t) over all C^T paths π."""
    T, C = lp.shape
    out = {}
    for path in itertools.product(range(C), repeat=T):
        lab = tuple(collapse(path, blank))
        out[lab] = out.get(lab, 0.0) + np.exp(sum(lp[t, k] for t, k in enumerate(path)))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_loss_equals_brute_force_sum_over_paths_and_beam_search_is_exact(seed):
    rng = np.random.default_rng(seed)
    T, C = 5, 3
    lp = ctc.log_softmax(rng.standard_normal((T, C)) * 1.5)
    probs = _brute_force(lp)
    for lab, p in probs.items():
        nll, _ = ctc.ctc_loss(lp[None], np.array([lab], dtype=int).reshape(1, -1), [T], [len(lab)])
        np.testing.assert_allclose(np.exp(-nll[0]), p, rtol=1e-12)
    beam = prefix_beam_search(lp, beam_width=len(probs))  # wide enough to hold every prefix
    assert beam[0][0] == max(probs, key=probs.get)
    for lab, score in beam:
        np.testing.assert_allclose(np.exp(score), probs[lab], rtol=1e-12)


def test_gradient_wrt_log_probs_by_finite_differences():
    rng = np.random.default_rng(7)
    lp = rng.standard_normal((2, 6, 4))  # free inputs: no normalisation needed for the check
    labels, Tb, Lb = np.array([[1, 1, 3], [2, 0, 0]]), np.array([6, 4]), np.array([3, 1])
    _, g = ctc.ctc_loss(lp, labels, Tb, Lb)
    eps = 1e-6
    num = np.zeros_like(lp)
    for idx in np.ndindex(*lp.shape):
        d = np.zeros_like(lp)
        d[idx] = eps
        up = ctc.ctc_loss(lp + d, labels, Tb, Lb)[0].sum()
        down = ctc.ctc_loss(lp - d, labels, Tb, Lb)[0].sum()
        num[idx] = (up - down) / (2 * eps)
    np.testing.assert_allclose(g, num, atol=1e-7)
    assert not g[1, 4:].any()  # padding frames: no gradient


def test_posteriors_are_distributions_and_paths_conserve_mass():
    z, labels, Tb, Lb = _case(3)
    lp = ctc.log_softmax(z)
    logp, alpha, beta, _, _ = ctc.forward_backward(lp, labels, Tb, Lb)
    _, gamma = ctc.posteriors(lp, labels, Tb, Lb)
    for b in range(len(Tb)):
        for t in range(Tb[b]):  # Σ_s α_t(s) β_t(s) = p(l | x) at every frame
            tot = np.logaddexp.reduce(alpha[t, b] + beta[t, b])
            np.testing.assert_allclose(tot, logp[b], atol=1e-10)
        np.testing.assert_allclose(gamma[b, : Tb[b]].sum(-1), 1.0, atol=1e-12)
        assert not gamma[b, Tb[b] :].any()


# ------------------------------------------------------------------ decoding
def test_greedy_collapses_repeats_then_drops_blanks():
    path = [0, 1, 1, 0, 1, 2, 2, 2, 0, 0, 3]
    lp = np.log(np.eye(4)[path] * 0.9 + 0.025)
    assert greedy_decode(lp) == [[1, 1, 2, 3]]
    assert greedy_decode(lp[None], input_lengths=[5]) == [[1, 1]]


@pytest.mark.parametrize("seed", range(5))
def test_beam_search_on_a_peaked_distribution_equals_greedy(seed):
    rng = np.random.default_rng(seed)
    B, T, C = 4, 30, 6
    best = rng.integers(0, C, (B, T))
    lp = ctc.log_softmax(np.eye(C)[best] * 8 + rng.standard_normal((B, T, C)) * 0.3)
    Tb = rng.integers(10, T + 1, B)
    assert beam_decode(lp, Tb, beam_width=8) == greedy_decode(lp, Tb)
    assert any(len(h) > 2 for h in greedy_decode(lp, Tb))  # not a trivial case


def test_beam_search_beats_greedy_when_many_paths_add_up():
    # two frames, y = (blank 0.6, a 0.4) each: the best path is "− −" → "" (p = 0.36),
    # but "a" has three paths: a a, a −, − a → 0.16 + 0.24 + 0.24 = 0.64
    lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))
    assert greedy_decode(lp) == [[]]
    (best, score), (second, score2) = prefix_beam_search(lp, beam_width=4)
    assert best == (1,) and second == ()
    np.testing.assert_allclose(np.exp([score, score2]), [0.64, 0.36], rtol=1e-12)
    nll, _ = ctc.ctc_loss(lp[None], [[1]], [2], [1])
    np.testing.assert_allclose(np.exp(-nll[0]), 0.64, rtol=1e-12)


def test_edit_distance_and_label_error_rate():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], [1, 2]) == 2 and edit_distance([1, 2], []) == 2
    assert edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert label_error_rate([[1, 2, 3, 4], [5]], [[1, 3, 4], [5, 5]]) == pytest.approx(2 / 5)
    with pytest.raises(ValueError):
        label_error_rate([[1]], [])


def test_sequential_fit_with_loss_ctc_learns_and_saves(tmp_path):
    """loss="ctc" through the ordinary Sequential API (equal-length inputs, no mask)."""
    from lstmkit import load_model
    from lstmkit.layers import LSTM, Bidirectional, Dense
    from lstmkit.model import Sequential
    from lstmkit.optim import Adam

    rng = np.random.default_rng(0)
    N, T = 64, 12
    y = rng.integers(1, 4, (N, 3))  # three labels per sequence, classes 1–3
    x = np.zeros((N, T, 4), np.float32)  # label k shown as a one-hot burst on frames 4j..4j+1
    for j in range(3):
        x[np.arange(N), 4 * j, y[:, j]] = 1.0
        x[np.arange(N), 4 * j + 1, y[:, j]] = 1.0
    model = Sequential([Bidirectional(LSTM(8, return_sequences=True, seed=1)), Dense(4, seed=2)])
    model.compile(optimizer=Adam(learning_rate=0.03), loss="ctc")
    hist = model.fit(x, y, epochs=40, batch_size=16, verbose=0, seed=0)
    assert hist.history["loss"][-1] < 0.3 * hist.history["loss"][0]
    hyps = greedy_decode(model.predict(x))
    assert np.mean([h == list(r) for h, r in zip(hyps, y, strict=True)]) > 0.8
    model.save(tmp_path / "m.safetensors")
    again = load_model(tmp_path / "m.safetensors")
    assert isinstance(again.loss, losses.CTCLoss)
    np.testing.assert_array_equal(again.predict(x[:4]), model.predict(x[:4]))
