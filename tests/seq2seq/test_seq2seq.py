"""Seq2Seq: finite-difference gradients of the whole encoder–decoder (float64), masks over
padded sources, learning a small task, and greedy / beam-search decoding: beam 1 is greedy,
the length limit holds, the hypotheses' scores are the model's own probabilities."""

import numpy as np
import pytest

from lstmkit.optim import Adam
from lstmkit.seq2seq import BOS, EOS, PAD, Seq2Seq, Seq2SeqConfig
from lstmkit.seq2seq.metrics import closest_reference, edit_distance, error_rates
from lstmkit.seq2seq.model import softmax_cross_entropy
from lstmkit.seq2seq.search import beam_search, greedy_decode, length_penalty


def _model(attention="luong", layers=1, dtype="float64", seed=1, units=6, V_src=9, V_tgt=8):
    return Seq2Seq(
        Seq2SeqConfig(
            src_vocab=V_src,
            tgt_vocab=V_tgt,
            embed_dim=4,
            units=units,
            encoder_layers=layers,
            attention=attention,
            attention_units=5,
            dtype=dtype,
            seed=seed,
        )
    )


def _batch(rng, B=4, S=6, T=5, V_src=9, V_tgt=8):
    src = rng.integers(1, V_src, (B, S))
    tgt = rng.integers(3, V_tgt, (B, T))
    for b in range(B):  # ragged lengths: PAD after the end
        src[b, rng.integers(2, S + 1) :] = PAD
        n = rng.integers(1, T)
        tgt[b, n] = EOS
        tgt[b, n + 1 :] = PAD
    tin = np.concatenate([np.full((B, 1), BOS), tgt[:, :-1]], 1)
    tin[tin == EOS] = PAD
    return src, tin, np.where(tgt == EOS, EOS, tgt)


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
@pytest.mark.parametrize("layers", [1, 2])
def test_finite_difference_gradients_of_the_whole_model(attention, layers):
    rng = np.random.default_rng(0)
    m = _model(attention, layers)
    src, tin, tout = _batch(rng)
    m.compute_gradients(src, tin, tout)
    g = m.flat_grads.copy()
    p = m.flat_params
    eps = 1e-6
    for i in rng.choice(p.size, 80, replace=False):
        old = p[i]
        p[i] = old + eps
        up = m.loss(src, tin, tout)
        p[i] = old - eps
        down = m.loss(src, tin, tout)
        p[i] = old
        assert abs((up - down) / (2 * eps) - g[i]) < 1e-8 + 1e-6 * abs(g[i]), i


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_padding_does_not_change_a_word(attention):
    """A source row padded to a longer batch gives the same outputs as that row alone."""
    m = _model(attention, 2)
    src = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    tin = np.array([[BOS, 4, 5, 6], [BOS, 3, 3, 3]])
    both = m.forward(src, tin)
    alone = m.forward(src[:1, :3], tin[:1])
    np.testing.assert_allclose(both[:1], alone, rtol=0, atol=1e-12)
    A = m.attention_weights(src, tin)
    assert np.all(A[0, :, 3:] == 0) and np.allclose(A.sum(-1), 1)


def test_softmax_cross_entropy_ignores_padding():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((2, 3, 5))
    target = np.array([[3, 4, PAD], [2, PAD, PAD]])
    loss, d = softmax_cross_entropy(logits, target)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    assert np.isclose(loss, -(logp[0, 0, 3] + logp[0, 1, 4] + logp[1, 0, 2]) / 3)
    assert np.all(d[target == PAD] == 0)


def _reverse_data(rng, n):
    """Strings of 3–6 symbols (1–7) and their reversal (target token = symbol + 2)."""
    L = rng.integers(3, 7, n)
    src = np.zeros((n, 6), np.int64)
    tgt = np.zeros((n, 7), np.int64)
    for r, k in enumerate(L):
        s = rng.integers(1, 8, k)
        src[r, :k] = s
        tgt[r, :k] = s[::-1] + 2
        tgt[r, k] = EOS
    tin = np.concatenate([np.full((n, 1), BOS), tgt[:, :-1]], 1)
    tin[tin == EOS] = PAD
    return src, tin, tgt


def _reverser(attention, steps, seed=0):
    rng = np.random.default_rng(seed)
    m = _model(attention, units=32, V_src=8, V_tgt=10, dtype="float32", seed=seed)
    m.compile(Adam(learning_rate=1e-2))
    for _ in range(steps):
        m.train_on_batch(*_reverse_data(rng, 32))
    return m


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_learns_to_reverse_short_sequences(attention):
    """Attention makes reversal easy: after a few hundred steps, held-out strings come out
    reversed (the model must have learned where to look)."""
    m = _reverser(attention, 400)
    src, _, tgt = _reverse_data(np.random.default_rng(9), 200)
    out = greedy_decode(m, src, max_len=10)
    refs = [[list(t[: list(t).index(EOS)])] for t in tgt]
    r = error_rates(out, refs)
    assert r["wer"] < 0.1 and r["per"] < 0.03, r


@pytest.fixture(scope="module", params=["luong", "bahdanau"])
def half_trained(request):
    """Partly trained: many close decisions and outputs of many lengths."""
    return _reverser(request.param, 60, seed=3)


def test_beam_one_is_greedy(half_trained):
    m = half_trained
    src = _reverse_data(np.random.default_rng(5), 300)[0]
    some_differ = False
    for max_len in (1, 3, 5, 10):
        greedy = greedy_decode(m, src, max_len)
        for alpha in (0.0, 0.7):
            beam = beam_search(m, src, 1, max_len, length_penalty_alpha=alpha)
            assert [hs[0].tokens for hs in beam] == greedy
        wide = [hs[0].tokens for hs in beam_search(m, src, 4, max_len)]
        some_differ |= wide != greedy
    assert len({len(g) for g in greedy}) >= 3  # not a degenerate test
    assert some_differ  # and beam 4 does search


@pytest.mark.parametrize("K", [1, 3, 6])
def test_length_limit_is_never_exceeded(K):
    m = _model("bahdanau", units=8, dtype="float32")
    m.output.params[1][EOS] -= 50.0  # EOS almost never chosen: every output hits the limit
    src = np.random.default_rng(3).integers(1, 9, (10, 5))
    for max_len in (1, 2, 7):
        for h in greedy_decode(m, src, max_len):
            assert len(h) == max_len
        for hs in beam_search(m, src, K, max_len, n_best=K):
            assert len(hs) == K and all(len(h.tokens) == max_len for h in hs)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_beam_scores_are_the_models_log_probabilities(alpha):
    """Each returned hypothesis's log P equals the teacher-forced log-probability of its
    tokens followed by EOS, and score = log P / lp(n); the n-best list is sorted."""
    rng = np.random.default_rng(4)
    m = _model("luong", units=8, dtype="float64")
    src = rng.integers(1, 9, (5, 6))
    for hs in beam_search(m, src, 4, 8, length_penalty_alpha=alpha, n_best=4):
        scores = [h.score for h in hs]
        assert scores == sorted(scores, reverse=True)
    for n, hs in enumerate(beam_search(m, src, 4, 8, length_penalty_alpha=alpha, n_best=4)):
        for h in hs:
            tin = np.array([[BOS, *h.tokens]])
            logits = m.forward(src[n : n + 1], tin)[0]
            logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
            want = sum(logp[t, tok] for t, tok in enumerate([*h.tokens, EOS]))
            assert np.isclose(h.log_prob, want, atol=1e-9)
            assert np.isclose(h.score, h.log_prob / length_penalty(len(h.tokens), alpha))


def test_bad_arguments():
    m = _model()
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(m, np.ones((1, 3), int), 0)
    with pytest.raises(ValueError, match="n_best"):
        beam_search(m, np.ones((1, 3), int), 2, 5, n_best=3)
    with pytest.raises(ValueError, match=r"source ids in \[0, 9\)"):
        m.forward(np.array([[9]]), np.array([[BOS]]))
    with pytest.raises(ValueError, match="units must be even"):
        Seq2SeqConfig(5, 5, units=7)


def test_edit_distance_and_error_rates():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], ["a", "b"]) == 2
    assert closest_reference(["R", "EH", "D"], [["R", "IY", "D"], ["R", "EH", "D"]]) == (
        0,
        ["R", "EH", "D"],
    )
    r = error_rates(
        [["R", "EH", "D"], ["T", "AH"]],
        [[("R", "IY", "D"), ("R", "EH", "D")], [("T", "UW")]],
    )
    assert r["wer"] == 0.5 and r["errors"] == 1 and r["ref_tokens"] == 5
