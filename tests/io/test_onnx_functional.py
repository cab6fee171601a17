"""export_onnx for functional models and the Keras layers / arguments: ONNX Runtime gives
what predict gives (1e-5, float32), inputs and outputs named as the model's."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import lstmkit as K  # noqa: E402
from lstmkit.errors import UserError  # noqa: E402
from lstmkit.io.onnx_export import export_onnx  # noqa: E402

L = K.layers


def _randomise(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for p in layer.params:
            p[...] = rng.standard_normal(p.shape) * 0.5
    return model


def _run(model, feeds):
    proto = export_onnx(model)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in proto.graph.input]
    outs = sess.run(None, dict(zip(names, feeds, strict=True)))
    want = model.predict(feeds if len(feeds) > 1 else feeds[0])
    want = want if isinstance(want, list) else [want]
    if isinstance(model, K.Model):  # (a Sequential's graph returns "y")
        assert [o.name for o in proto.graph.output] == model.output_names
    for got, w in zip(outs, want, strict=True):
        assert got.shape == w.shape
        assert np.max(np.abs(got - w)) < 1e-5, np.max(np.abs(got - w))


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_seq2seq_return_state_and_initial_state():
    enc = K.Input((None, 5), name="encoder")
    _, h, c = L.LSTM(4, return_state=True)(enc)
    dec = K.Input((None, 6), name="decoder")
    y, _, _ = L.LSTM(4, return_sequences=True, return_state=True)(dec, initial_state=[h, c])
    model = _randomise(K.Model([enc, dec], L.Dense(6, activation="softmax")(y)))
    for T in (1, 9):
        _run(model, [_x(3, T, 5), _x(3, 4, 6, seed=2)])


def test_bidirectional_states_and_merge_none():
    x = K.Input((None, 3))
    f, b, hf, cf, hb, cb = L.Bidirectional(
        L.LSTM(4, return_sequences=True, return_state=True), merge_mode=None
    )(x)
    gru = L.GRU(4, reset_after=False, return_sequences=True)(L.Add()([f, b]))
    out = L.Concatenate()([hf, cf, hb, cb])
    model = _randomise(K.Model(x, [gru, out]))
    _run(model, [_x(2, 7, 3)])


def test_keras_cell_arguments():
    model = _randomise(
        K.Sequential(
            [
                K.Input((None, 3)),
                L.LSTM(4, activation="relu", return_sequences=True),
                L.GRU(
                    4, recurrent_activation="hard_sigmoid", use_bias=False, return_sequences=True
                ),
                L.SimpleRNN(3, activation="softsign"),
                L.Dense(2, activation="gelu"),
            ]
        )  # fmt: skip
    )
    _run(model, [_x(2, 6, 3) * 0.3])


def test_conv_pool_norm_layers():
    x = K.Input((12, 4))
    h = L.Conv1D(6, 3, padding="causal", dilation_rate=2, activation="elu")(x)
    h = L.Conv1D(6, 3, strides=2, padding="same", groups=2)(h)
    h = L.MaxPooling1D(2, padding="same")(h)
    h = L.LayerNormalization()(L.AveragePooling1D(2, strides=1)(h))
    a = L.GlobalAveragePooling1D()(h)
    b = L.GlobalMaxPooling1D()(h)
    z = L.Concatenate()([a, b])
    seq = L.TimeDistributed(L.Dense(2, activation="swish"))(L.RepeatVector(3)(z))
    flat = L.Dense(1, activation="selu")(L.Flatten()(L.Permute((2, 1))(L.Reshape((3, 2))(
        L.Reshape((6,))(seq)
    ))))  # fmt: skip
    model = _randomise(K.Model(x, [seq, flat]))
    _run(model, [_x(3, 12, 4)])


def test_multi_input_merges():
    a, b = K.Input((5, 3), name="a"), K.Input((5, 3), name="b")
    ha, hb = L.SimpleRNN(3, return_sequences=True)(a), L.GRU(3, return_sequences=True)(b)
    z = L.Multiply()([L.Subtract()([ha, hb]), L.Average()([ha, hb])])
    m = L.Maximum()([L.Minimum()([ha, hb]), z])
    model = _randomise(K.Model([a, b], L.LSTM(2)(m)))
    _run(model, [_x(2, 5, 3), _x(2, 5, 3, seed=3)])


def test_functional_masks_and_other_activations_are_refused():
    x = K.Input((None,), dtype="int32")
    y = L.LSTM(2)(L.Embedding(5, 3, mask_zero=True)(x))
    with pytest.raises(UserError, match="mask"):
        export_onnx(K.Model(x, y))
    m = K.Sequential([K.Input((None, 3)), L.LSTM(2, activation="gelu")])
    with pytest.raises(UserError, match="activation 'gelu'"):
        export_onnx(m)


def test_mask_extensions_and_gaussian_noise():
    """Sequential with a mask from Embedding(mask_zero): Conv1D(keep_mask=True) hands it on
    to the LSTM (sequence_lens) and GaussianNoise is the identity at inference;
    GlobalMaxPooling1D(use_mask=True) under a mask has no ONNX mapping and is refused."""
    ids = np.array([[3, 1, 4, 0, 0], [2, 2, 1, 3, 1]], np.int64)
    m = K.Sequential(
        [
            K.Input((5,), dtype="int32"),
            L.Embedding(6, 3, mask_zero=True),
            L.GaussianNoise(0.5),
            L.Conv1D(4, 3, padding="causal", keep_mask=True),
            L.LSTM(2),
        ]
    )
    _run(_randomise(m), [ids])
    bad = K.Sequential(
        [
            K.Input((5,), dtype="int32"),
            L.Embedding(6, 3, mask_zero=True),
            L.LSTM(2, return_sequences=True),
            L.GlobalMaxPooling1D(use_mask=True),
        ]
    )
    with pytest.raises(UserError, match="GlobalMaxPooling1D under a mask"):
        export_onnx(bad)
