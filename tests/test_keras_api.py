"""The Keras API's edges: unsupported arguments are refused with the layer, the argument
and what is supported; shapes with and without the batch axis; the old compute_mask
order; the Keras faces of the package; functional files are checked like any other."""

import json

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save as st_save

import lstmkit as K
from lstmkit.errors import ModelFileError

L = K.layers


# ------------------------------------------------------------------ refused arguments
@pytest.mark.parametrize(
    "make, needles",
    [
        (lambda: L.LSTM(3, time_major=True), ["LSTM", "time_major", "takes", "units"]),
        (lambda: L.LSTM(3, use_cudnn=True), ["LSTM", "use_cudnn=True", "'auto' or False"]),
        (lambda: L.LSTM(3, activation="swishy"), ["activation must be one of", "swishy"]),
        (lambda: L.GRU(3, implementation=3), ["GRU implementation must be 1 or 2"]),
        (
            lambda: L.SimpleRNN(3, recurrent_activation="tanh"),
            ["SimpleRNN", "recurrent_activation"],
        ),
        (lambda: L.Dense(3, lora_rank=4), ["Dense", "lora_rank"]),
        (lambda: L.Embedding(5, 2, input_length=7), ["Embedding", "input_length", "Keras 3"]),
        (lambda: L.Conv1D(3, 2, data_format="channels_first"), ["Conv1D", "data_format"]),
        (lambda: L.Conv1D(3, 2, padding="full"), ["Conv1D padding", "valid", "causal"]),
        (lambda: L.LSTM(3, kernel_initializer="xavier"), ["LSTM kernel_initializer", "xavier"]),
        (lambda: L.LSTM(3, kernel_regularizer="l3"), ["LSTM kernel_regularizer", "l1_l2"]),
        (lambda: L.Dense(2, kernel_constraint="positive"), ["Dense kernel_constraint", "non_neg"]),
        (lambda: L.Bidirectional(L.LSTM(2), merge_mode="max"), ["merge_mode", "concat", "None"]),
        (lambda: L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2)), ["go_backwards"]),
        (lambda: L.Input((4, 3), sparse=True), ["Input", "sparse=True"]),
        (lambda: K.optimizers.Adam(use_ema=True), ["Adam", "use_ema=True", "default"]),
        (lambda: K.optim.SGD(convention="jax"), ["SGD convention", "torch", "keras"]),
        (lambda: K.losses.MeanSquaredError(reduction="sum"), ["reduction='sum'"]),
        (lambda: K.losses.SparseCategoricalCrossentropy(ignore_class=0), ["ignore_class"]),
        (lambda: K.Model(), ["functional API", "subclassed"]),
        (lambda: L.variants.PeepholeLSTM(3, activation="relu"), ["PeepholeLSTM does not support"]),
    ],
)
def test_unsupported_arguments_say_which_and_what_is_supported(make, needles):
    with pytest.raises((TypeError, ValueError)) as e:
        make()
    for n in needles:
        assert n in str(e.value), (n, str(e.value))


def test_unknown_argument_names_the_layer_not_layer_init():
    with pytest.raises(TypeError) as e:
        L.LSTM(3, input_shap=(5, 2))
    msg = str(e.value)
    assert msg.startswith("LSTM got unexpected argument(s) ['input_shap']") and "input_shape" in msg


def test_fit_arguments_lstmkit_cannot_honour_are_refused():
    m = K.Sequential([K.Input((3, 2)), L.LSTM(2), L.Dense(1)])
    m.compile("sgd", "mse")
    x, y = np.zeros((4, 3, 2)), np.zeros((4, 1))
    with pytest.raises(ValueError, match="steps_per_epoch=2 is not supported"):
        m.fit(x, y, steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match="sample_weight or class_weight, not both"):
        m.fit(x, y, sample_weight=np.ones(4), class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight expected shape \(batch,\)"):
        m.fit(x, y, sample_weight=np.ones(3), verbose=0)


def test_shared_layer_predicts_but_refuses_to_train():
    x = K.Input((4, 2))
    shared = L.Dense(3)
    m = K.Model(x, L.Add()([shared(x), shared(x)]))
    assert m.predict(np.ones((2, 4, 2))).shape == (2, 4, 3)
    m.compile("sgd", "mse")
    with pytest.raises(NotImplementedError, match="called more than once"):
        m.fit(np.ones((2, 4, 2)), np.ones((2, 4, 3)), verbose=0)


# ------------------------------------------------------------------------- shapes
def test_build_and_output_shapes_in_both_forms():
    for shape, want in (((None, 5, 3), (None, 5, 4)), ((5, 3), (5, 4))):
        layer = L.LSTM(4, return_sequences=True)
        layer.build(shape)
        assert layer.input_shape == (5, 3) and layer.kernel.shape == (3, 16)
        assert layer.compute_output_shape(shape) == want
    bi = L.Bidirectional(L.GRU(2, return_state=True))
    assert bi.compute_output_shape((None, 5, 3)) == [(None, 4), (None, 2), (None, 2)]
    with pytest.raises(ValueError, match=r"LSTM expected an input shape of 3 axes"):
        L.LSTM(2).build((None, 1, 5, 3))


def test_sequential_build_tells_the_forms_apart_through_dense_layers():
    """(None, D) before an LSTM behind Dense / Dropout is one sample (time, D) — Keras'
    (batch, D) could not reach an LSTM; (None, T, D) is Keras' form; a Dense-only model
    takes (None, D) as Keras' (batch, D)."""
    for shape in ((None, 3), (None, None, 3)):
        m = K.Sequential([L.Dense(5), L.Dropout(0.1), L.LSTM(4)])
        m.build(shape)
        assert m.input_shape == (None, 3) and m.output_shape == (4,)
    m = K.Sequential([L.Dense(2)])
    m.build((None, 3))
    assert m.input_shape == (3,) and m.output_shape == (2,)
    m = K.Sequential([L.Flatten(), L.Dense(2)])  # Flatten changes the rank: Keras' form
    m.build((None, 4, 3))
    assert m.input_shape == (4, 3)


def test_compute_mask_old_order_still_understood():
    ids = np.array([[1, 0], [2, 3]])
    emb = L.Embedding(4, 2, mask_zero=True)
    keras_order = emb.compute_mask(ids)
    np.testing.assert_array_equal(keras_order, ids != 0)
    np.testing.assert_array_equal(emb.compute_mask(None, ids), keras_order)  # (mask, x)
    lstm = L.LSTM(2, return_sequences=True)
    np.testing.assert_array_equal(lstm.compute_mask(np.ones((2, 2, 3)), keras_order), keras_order)
    np.testing.assert_array_equal(lstm.compute_mask(keras_order), keras_order)  # (mask)


def test_input_shape_builds_the_sequential_at_once():
    m = K.Sequential([L.LSTM(3, input_shape=(6, 2)), L.Dense(1)])
    assert m.count_params() == 4 * (3 * (2 + 3) + 3) + 4
    assert m.built and m.input_shape == (6, 2) and m.output_shape == (1,)
    assert len(m.trainable_weights) == 5 and not m.non_trainable_weights


# ------------------------------------------------------------------ the Keras faces
def test_keras_faces():
    assert K.optimizers.Adam().convention == "keras" and K.optim.Adam().convention == "torch"
    assert isinstance(K.optimizers.get("nadam"), K.optim.Nadam)
    assert K.optimizers.schedules.CosineDecay is K.optim.CosineDecay
    assert isinstance(K.initializers.get("he_normal"), K.initializers.HeNormal)
    assert K.regularizers.get("l2").l2 == 0.01 and K.regularizers.L1L2().l1 == 0.0
    np.testing.assert_array_equal(
        K.utils.pad_sequences([[1, 2], [3, 4, 5, 6]], maxlen=3), [[0, 1, 2], [4, 5, 6]]
    )
    np.testing.assert_array_equal(
        K.utils.pad_sequences([[1, 2]], maxlen=3, padding="post"), [[1, 2, 0]]
    )
    assert K.utils.to_categorical([0, 2], 3).tolist() == [[1, 0, 0], [0, 0, 1]]


def test_initializers_follow_keras_definitions():
    rng = np.random.default_rng(0)
    I = K.initializers  # noqa: E741
    w = I.Orthogonal(gain=2.0)((8, 8), rng)
    np.testing.assert_allclose(w.T @ w, 4 * np.eye(8), atol=1e-12)
    t = I.TruncatedNormal(stddev=1.0)((4000,), rng)
    assert np.abs(t).max() < 2.0 and 0.85 < t.std() < 0.9  # σ of N(0,1) cut at ±2: 0.88
    u = I.HeUniform()((100, 50), rng)
    assert np.abs(u).max() <= np.sqrt(6 / 100)
    assert I.get("identity")((3, 3), rng).tolist() == np.eye(3).tolist()
    spec = repr(I.RandomNormal(mean=1.0, stddev=0.5))
    assert isinstance(I.get(spec), I.RandomNormal) and I.get(spec).mean == 1.0
    with pytest.raises(ValueError, match="not a plain value"):
        I.get("RandomNormal(mean=__import__('os'))")


# ------------------------------------------------------------ functional model files
def _s2s():
    enc = K.Input((None, 3))
    _, h, c = L.LSTM(4, return_state=True)(enc)
    dec = K.Input((None, 2))
    y = L.LSTM(4, return_sequences=True)(dec, initial_state=[h, c])
    return K.Model([enc, dec], L.TimeDistributed(L.Dense(2, activation="softmax"))(y))


def test_functional_file_roundtrip_with_training_config(tmp_path):
    m = _s2s()
    m.compile(K.optimizers.RMSprop(0.01), "categorical_crossentropy", metrics=["accuracy"])
    x = [np.random.default_rng(0).standard_normal((3, 5, 3)), np.ones((3, 4, 2))]
    m.save(tmp_path / "m.safetensors")
    back = K.load_model(tmp_path / "m.safetensors")
    assert isinstance(back, K.Model) and back.optimizer.convention == "keras"
    np.testing.assert_array_equal(back.predict(x), m.predict(x))
    meta = safe_open(str(tmp_path / "m.safetensors"), "np").metadata()
    assert json.loads(meta["graph"])["nodes"][2]["initial_state"] == 0  # the encoder LSTM


@pytest.mark.parametrize(
    "forge, match",
    [
        (lambda g: g["nodes"][3].update(inputs=[[5, 0]]), "not an earlier node"),
        (lambda g: g["nodes"][3].update(layer=99), "is not a layer index"),
        (lambda g: g["nodes"][3].update(code="os.system"), "expected keys"),
        (lambda g: g.update(inputs=[[2, 0]]), "InputLayer nodes"),
        (lambda g: g["nodes"][3].update(positional=7), "count of its inputs"),
        (
            lambda g: g["nodes"].append(
                dict(g["nodes"][3], inputs=[], positional=0, initial_state=0, mask=False)
            ),
            "only InputLayer",
        ),
    ],
)
def test_forged_graphs_are_refused(tmp_path, forge, match):
    m = _s2s()
    m.save(tmp_path / "m.safetensors")
    with safe_open(str(tmp_path / "m.safetensors"), "np") as f:
        meta, ts = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    g = json.loads(meta["graph"])
    forge(g)
    meta["graph"] = json.dumps(g)
    (tmp_path / "bad.safetensors").write_bytes(st_save(ts, metadata=meta))
    with pytest.raises(ModelFileError, match=match):
        K.load_model(tmp_path / "bad.safetensors")


def test_weights_file_is_checked_against_the_model(tmp_path):
    m = K.Sequential([K.Input((3, 2)), L.GRU(4), L.Dense(1)])
    m.save_weights(tmp_path / "w.safetensors")
    other = K.Sequential([K.Input((3, 2)), L.GRU(5), L.Dense(1)])
    with pytest.raises(ModelFileError, match="expected F32"):
        other.load_weights(tmp_path / "w.safetensors")
    with pytest.raises(ModelFileError, match="unknown file kind 'weights'"):
        K.load_model(tmp_path / "w.safetensors")


def test_every_keras_argument_survives_save_and_load(tmp_path):
    """Frozen layers, regularizers, constraints, activity regularizers, the new layers, a
    piecewise schedule and loss weights: saved, loaded, predicting and training the same."""
    m = K.Sequential(
        [
            K.Input((8, 3)),
            L.Conv1D(4, 3, padding="causal", kernel_regularizer="l2"),
            L.MaxPooling1D(2),
            L.LSTM(5, activation="relu", trainable=False, return_sequences=True,
                   activity_regularizer=K.regularizers.L1(0.1)),
            L.LayerNormalization(axis=[1, 2]),
            L.Bidirectional(L.GRU(2, reset_after=False)),
            L.Dropout(0.1, noise_shape=(None, 1)),
            L.Dense(2, activation="gelu", kernel_constraint=K.constraints.MaxNorm(2.0)),
        ]
    )  # fmt: skip
    lr = K.optimizers.schedules.PiecewiseConstantDecay([2], [0.1, 0.01])
    m.compile(K.optimizers.Adam(learning_rate=lr), "mse", metrics=["mae"], loss_weights=[0.5])
    x, y = np.random.default_rng(0).standard_normal((4, 8, 3)), np.zeros((4, 2))
    m.fit(x, y, verbose=0, seed=0)
    m.save(tmp_path / "m.safetensors")
    b = K.load_model(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(b.predict(x), m.predict(x))
    assert b.get_config()["layers"] == m.get_config()["layers"]
    assert b.loss_weights_ == [0.5] and b.optimizer.get_config() == m.optimizer.get_config()
    frozen = b.layers[2].get_weights()
    b.fit(x, y, verbose=0)
    assert all(np.array_equal(a, c) for a, c in zip(frozen, b.layers[2].get_weights(), strict=True))


def test_functional_fit_resumes_bit_identically(tmp_path):
    """Two inputs, two outputs, sample weights, dropout: a run resumed from its checkpoint
    ends with the weights and history of the run that was never stopped."""

    def make():
        a, b = K.Input((5, 3)), K.Input((2,))
        z = L.Concatenate()([L.LSTM(4, dropout=0.2, seed=1)(a), L.Dense(3, seed=2)(b)])
        m = K.Model([a, b], [L.Dense(1, name="o1", seed=3)(z),
                             L.Dense(2, activation="softmax", name="o2", seed=4)(z)])  # fmt: skip
        m.compile(K.optimizers.Adam(0.01), ["mse", "categorical_crossentropy"],
                  metrics=[["mae"], ["accuracy"]])  # fmt: skip
        return m

    rng = np.random.default_rng(0)
    x = [rng.standard_normal((20, 5, 3)), rng.standard_normal((20, 2))]
    y = [rng.standard_normal((20, 1)), np.eye(2)[rng.integers(0, 2, 20)]]
    kw = dict(batch_size=4, seed=3, verbose=0, sample_weight=rng.random(20))
    whole = make()
    h = whole.fit(x, y, epochs=3, **kw)
    ck = tmp_path / "ck.safetensors"
    make().fit(x, y, epochs=2, checkpoint=ck, **kw)
    resumed = make()
    h2 = resumed.fit(x, y, epochs=3, checkpoint=ck, resume=ck, **kw)
    assert h2.history == h.history and sorted(h.history) == [
        "loss", "o1_loss", "o1_mae", "o2_accuracy", "o2_loss"]  # fmt: skip
    for a, c in zip(whole.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, c)
