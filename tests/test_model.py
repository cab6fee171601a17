"""Sequential: flat buffers, gradients, masks, summary counts, fit / evaluate / predict, seeds."""

import numpy as np
import pytest

from lstmkit import LSTM, Bidirectional, Dense, Dropout, Embedding, Sequential, optim
from lstmkit.layers import LAYER_TYPES


def _fd_check(model, x, y, eps=1e-6):
    loss, _, _ = model.compute_gradients(x, y)
    g = model.flat_grads.copy()
    P = model.flat_params
    num = np.empty_like(g)
    for k in range(P.size):
        old = P[k]
        P[k] = old + eps
        lp = model.evaluate(x, y, batch_size=len(x))
        P[k] = old - eps
        lm = model.evaluate(x, y, batch_size=len(x))
        P[k] = old
        num[k] = (lp - lm) / (2 * eps)
    assert loss == pytest.approx(model.evaluate(x, y, batch_size=len(x)), rel=1e-12)
    return np.abs(num - g).max() / max(1.0, np.abs(g).max())


def test_whole_model_gradient_lstm_dense_float64():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5, 3))
    y = rng.standard_normal((4, 2))
    m = Sequential([LSTM(4, dtype="float64"), Dense(2, dtype="float64")], seed=1)
    m.compile("sgd", "mse")
    m.build(x.shape[1:])
    m.flat_params[...] += rng.standard_normal(m.flat_params.size) * 0.3  # non-zero biases too
    assert _fd_check(m, x, y) < 1e-8


def test_whole_model_gradient_stacked_softmax_and_masked_embedding():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 2))
    y = np.eye(3)[[0, 2, 1]]
    m = Sequential(
        [
            LSTM(3, return_sequences=True, dtype="float64"),
            Bidirectional(LSTM(2, dtype="float64")),
            Dense(3, activation="softmax", dtype="float64"),
        ],
        seed=2,
    )
    m.compile("adam", "categorical_crossentropy")
    m.build(x.shape[1:])
    assert _fd_check(m, x, y) < 1e-8
    ids = np.array([[3, 1, 2, 0, 0], [1, 4, 0, 0, 0], [2, 2, 2, 3, 1]])
    me = Sequential(
        [
            Embedding(5, 3, mask_zero=True, dtype="float64"),
            LSTM(3, dtype="float64"),
            Dense(1, dtype="float64"),
        ],
        seed=3,
    )
    me.compile("sgd", "mse")
    me.build(ids.shape[1:])
    assert _fd_check(me, ids, rng.standard_normal((3, 1))) < 1e-8


def test_params_live_in_one_flat_buffer():
    m = Sequential([LSTM(6, return_sequences=True), Bidirectional(LSTM(3)), Dense(2)])
    m.build((5, 4))
    flat, gflat = m.flat_params, m.flat_grads
    assert flat.flags.c_contiguous and flat.size == m.count_params() and flat.dtype == np.float32
    for layer in m.layers:
        for p, g in zip(layer.params, layer.grads, strict=True):
            assert np.shares_memory(p, flat) and np.shares_memory(g, gflat)
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    before = m.predict(x)
    flat *= 0.5  # one op changes the whole model
    assert not np.allclose(m.predict(x), before)
    m.compile("adam", "mse")
    m.compute_gradients(x, np.zeros((2, 2), np.float32))
    assert np.abs(gflat).sum() > 0
    mixed = Sequential([LSTM(3, dtype="float64"), Dense(2)])
    mixed.build((4, 2))
    assert set(mixed.flat_params) == {"float32", "float64"}


def test_summary_counts_match_keras(capsys):
    m = Sequential([LSTM(128, return_sequences=True), LSTM(64), Dense(10, activation="softmax")])
    m.build((8, 8))
    m.summary()
    out = capsys.readouterr().out
    D, H1, H2 = 8, 128, 64
    lstm1 = 4 * (H1 * (D + H1) + H1)
    assert lstm1 == 70144
    lstm2 = 4 * (H2 * (H1 + H2) + H2)
    assert f"{lstm1:,}" in out and f"{lstm2:,}" in out and "650" in out
    assert f"Total params: {lstm1 + lstm2 + 650:,}" in out
    assert "(None, 8, 128)" in out and "(None, 64)" in out
    m2 = Sequential([Embedding(1000, 16), Bidirectional(LSTM(32, return_sequences=True)), Dense(5)])
    m2.build((20,))
    assert [layer.count_params() for layer in m2.layers] == [
        1000 * 16,
        2 * 4 * (32 * (16 + 32) + 32),
        64 * 5 + 5,
    ]


@pytest.mark.parametrize("name", [n for n in ("GRU", "SimpleRNN") if n in LAYER_TYPES])
def test_summary_counts_other_cells(name):
    D, H = 7, 11
    per_gate = {"GRU": 3 * (H * (D + H) + 2 * H), "SimpleRNN": H * (D + H) + H}[name]
    m = Sequential(
        [LAYER_TYPES[name](H, return_sequences=True), Bidirectional(LAYER_TYPES[name](H))]
    )
    m.build((4, D))
    want_bi = 2 * {"GRU": 3 * (H * (H + H) + 2 * H), "SimpleRNN": H * (H + H) + H}[name]
    assert [layer.count_params() for layer in m.layers] == [per_gate, want_bi]


def test_mask_propagates_padding_changes_nothing():
    rng = np.random.default_rng(4)
    m = Sequential(
        [Embedding(9, 4, mask_zero=True), LSTM(5, return_sequences=True), LSTM(3), Dense(2)], seed=0
    )
    ids = np.array([[3, 5, 1, 8], [2, 7, 4, 4]])
    padded = np.concatenate([ids, np.zeros((2, 3), int)], axis=1)
    assert np.array_equal(m.predict(ids), m.predict(padded))
    # a sequence output: masked steps do not count in the loss
    ms = Sequential(
        [Embedding(9, 4, mask_zero=True), LSTM(5, return_sequences=True), Dense(2)], seed=0
    )
    ms.compile("sgd", "mse")
    y = rng.standard_normal((2, 7, 2))
    y2 = y.copy()
    y2[:, 4:] += 100.0  # targets under the padding
    assert ms.evaluate(padded, y) == ms.evaluate(padded, y2)


def test_fit_history_validation_and_metrics():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((60, 4, 3)).astype(np.float32)
    labels = (x[:, :, 0].sum(1) > 0).astype(int)
    y = np.eye(2, dtype=np.float32)[labels]
    m = Sequential([LSTM(8), Dense(2, activation="softmax")], seed=0)
    m.compile(
        optimizer=optim.Adam(learning_rate=0.01),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    h = m.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, verbose=0, seed=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 4 for v in h.history.values()) and h.epoch == [0, 1, 2, 3]
    assert h.history["loss"][-1] < h.history["loss"][0]
    # the validation split is the last quarter, before shuffling (as Keras)
    val_loss, val_acc = m.evaluate(x[45:], y[45:])
    assert val_loss == pytest.approx(h.history["val_loss"][-1], rel=1e-6)
    assert val_acc == pytest.approx(h.history["val_accuracy"][-1])
    h2 = m.fit(x, y, epochs=1, verbose=0, validation_data=(x[:10], y[:10]))
    assert h2.history["val_loss"][0] == pytest.approx(m.evaluate(x[:10], y[:10])[0], rel=1e-6)
    out = m.train_on_batch(x[:8], y[:8])
    assert isinstance(out, list) and len(out) == 2
    assert m.predict(x, batch_size=7).shape == (60, 2)
    np.testing.assert_allclose(m.predict(x, batch_size=7), m.predict(x, batch_size=60), rtol=1e-5)


def test_sparse_targets_and_loss_objects():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((20, 3, 2))
    ids = rng.integers(0, 3, 20)
    m = Sequential([LSTM(4), Dense(3)])
    m.compile(
        "rmsprop",
        loss=__import__("lstmkit").losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    h = m.fit(x, ids, epochs=2, batch_size=5, verbose=0)
    assert "accuracy" in h.history and 0 <= h.history["accuracy"][-1] <= 1


def test_seed_gives_bit_identical_runs():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 5, 3)).astype(np.float32)
    y = rng.standard_normal((40, 1)).astype(np.float32)

    def run(seed):
        m = Sequential(
            [
                LSTM(6, return_sequences=True, dropout=0.2, recurrent_dropout=0.1),
                Dropout(0.3),
                LSTM(4),
                Dense(1),
            ],
            seed=0,
        )
        m.compile("adam", "mse")
        m.fit(x, y, epochs=2, batch_size=8, verbose=0, seed=seed)
        return m.flat_params.copy()

    a, b, c = run(1), run(1), run(2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_get_set_weights_and_errors():
    m = Sequential([LSTM(3), Dense(2)])
    with pytest.raises(RuntimeError, match="compiled"):
        m.fit(np.zeros((2, 3, 1)), np.zeros((2, 2)), verbose=0)
    with pytest.raises(ValueError, match="not been built"):
        m.summary()
    m.build((3, 1))
    w = m.get_weights()
    assert [a.shape for a in w] == [(1, 12), (3, 12), (12,), (3, 2), (2,)]
    m2 = Sequential([LSTM(3), Dense(2)])
    m2.build((3, 1))
    m2.set_weights(w)
    x = np.ones((1, 3, 1), np.float32)
    assert np.array_equal(m.predict(x), m2.predict(x))
    with pytest.raises(ValueError, match="set_weights expected 5 arrays"):
        m2.set_weights(w[:2])
    with pytest.raises(ValueError, match="one output per layer"):
        Sequential([LSTM(3, return_state=True)]).build((2, 1))
    m.compile("adam", "mse")
    with pytest.raises(ValueError, match="same number of samples"):
        m.fit(np.zeros((4, 3, 1)), np.zeros((3, 2)), verbose=0)


@pytest.mark.parametrize("sparse", [False, True])
def test_saturated_softmax_still_learns(sparse):
    """Dense(softmax) + cross-entropy from probabilities: the gradient is taken from the
    logits (as Keras does), so a confidently wrong prediction (p_true ≈ 0, below the
    clipping ε) still gets the exact gradient softmax(z) − y."""
    x = np.ones((2, 3, 1))
    ids = np.array([0, 1])
    m = Sequential([LSTM(2, dtype="float64"), Dense(2, activation="softmax", dtype="float64")])
    m.compile("sgd", "sparse_categorical_crossentropy" if sparse else "categorical_crossentropy")
    m.build((3, 1))
    dense = m.layers[1]
    dense.params[1][...] = [-60.0, 60.0]  # p(class 0) ≈ e^-120
    loss, y_pred, _ = m.compute_gradients(x, ids if sparse else np.eye(2)[ids])
    z = dense._z
    sm = np.exp(z - z.max(1, keepdims=True))
    sm /= sm.sum(1, keepdims=True)
    assert y_pred[0, 0] < 1e-40 and np.isfinite(loss) and loss > 50  # the logits' loss, not −log ε
    assert np.abs(dense.grads[1] - (sm - np.eye(2)[ids]).mean(0)).max() < 1e-12
    assert dense.activation == "softmax"


def test_evaluate_uses_the_same_loss_as_training():
    x = np.ones((2, 3, 1))
    y = np.eye(2)[[0, 1]]
    m = Sequential([LSTM(2, dtype="float64"), Dense(2, activation="softmax", dtype="float64")])
    m.compile("sgd", "categorical_crossentropy")
    m.build((3, 1))
    m.layers[1].params[1][...] = [-60.0, 60.0]
    train_loss, _, _ = m.compute_gradients(x, y)
    assert m.evaluate(x, y) == pytest.approx(train_loss, rel=1e-12) and train_loss > 50
