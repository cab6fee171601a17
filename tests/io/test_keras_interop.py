"""Keras 3 (torch backend) → lstmkit: get_weights(), .weights.h5 and .keras files give the
same predictions as Keras (float64; 1e-6, see _check); unsupported layers / options are refused."""

import os

import numpy as np
import pytest
from tests.io._errors import record

os.environ.setdefault("KERAS_BACKEND", "torch")
h5py = pytest.importorskip("h5py")
keras = pytest.importorskip("keras")

from lstmkit.errors import ModelFileError, UserError  # noqa: E402
from lstmkit.io.keras_interop import from_keras_h5, from_keras_weights, load_keras  # noqa: E402

L = keras.layers
F64 = "float64"


@pytest.fixture(scope="module", autouse=True)
def keras_float64():
    """Keras casts NumPy inputs to floatx: make that float64 for this module, then restore."""
    old = keras.config.floatx()
    keras.config.set_floatx(F64)
    yield
    keras.config.set_floatx(old)


def _randomise(m, seed):
    rng = np.random.default_rng(seed)
    m.set_weights([rng.standard_normal(w.shape) * 0.5 for w in m.get_weights()])
    return m


def _float_model():
    return _randomise(
        keras.Sequential(
            [
                keras.Input((None, 3), dtype=F64),
                L.LSTM(4, return_sequences=True, dtype=F64),
                L.Bidirectional(
                    L.GRU(3, return_sequences=True, dtype=F64), merge_mode="sum", dtype=F64
                ),
                L.SimpleRNN(3, return_sequences=True, go_backwards=True, dtype=F64),
                L.Dropout(0.2, dtype=F64),
                L.LSTM(5, use_bias=False, return_sequences=True, dtype=F64),
                L.Bidirectional(L.LSTM(2, dtype=F64), dtype=F64),
                L.Dense(3, dtype=F64),
                L.Activation("softmax", dtype=F64),
            ]
        ),
        0,
    )


def _masked_model():
    return _randomise(
        keras.Sequential(
            [
                keras.Input((None,), dtype="int32"),
                L.Embedding(11, 4, mask_zero=True, dtype=F64),
                L.LSTM(4, return_sequences=True, dtype=F64),
                L.GRU(3, return_sequences=True, dtype=F64),
                L.Bidirectional(L.LSTM(3, dtype=F64), merge_mode="concat", dtype=F64),
                L.Dense(2, activation="tanh", dtype=F64),
            ]
        ),
        1,
    )


def _masked_seq_model():
    """Bidirectional(return_sequences=True) under a mask: Keras writes 0 at masked steps where
    we carry the state (documented); the LSTM after it skips those steps either way."""
    return _randomise(
        keras.Sequential(
            [
                keras.Input((None,), dtype="int32"),
                L.Embedding(11, 4, mask_zero=True, dtype=F64),
                L.Bidirectional(L.LSTM(3, return_sequences=True, dtype=F64), dtype=F64),
                L.LSTM(2, return_sequences=True, dtype=F64),
            ]
        ),
        2,
    )


def _inputs(kind):
    rng = np.random.default_rng(5)
    if kind == "float":
        return rng.standard_normal((5, 9, 3))
    ids = rng.integers(1, 11, (5, 9))
    ids[1, 6:] = 0
    ids[2, 1:] = 0
    ids[3, 3] = 0  # a zero inside: Keras' masks allow it
    return ids.astype(np.int32)


@pytest.fixture(scope="module", params=["float", "masked", "masked_seq"])
def keras_model(request, tmp_path_factory):
    m = {"float": _float_model, "masked": _masked_model, "masked_seq": _masked_seq_model}[
        request.param
    ]()
    d = tmp_path_factory.mktemp(request.param)
    m.save_weights(d / "m.weights.h5")
    m.save(d / "m.keras")
    x = _inputs(request.param.split("_")[0])
    return m, d, x, np.asarray(m.predict(x, verbose=0))


def _check(model, x, want):
    got = model.predict(x)
    assert got.shape == want.shape and got.dtype == np.float64
    err = np.max(np.abs(got - want))
    record("lstmkit − keras", err)
    # Keras 3.15's torch-backend ops.matmul (Dense, SimpleRNN) rounds float64 products to
    # ~1e-7 (1.6e-7 measured on a lone Dense(3) against x @ W); its LSTM / GRU agree to 1e-16.
    assert err < 1e-6, err


def test_from_get_weights(keras_model):
    m, _, x, want = keras_model
    _check(from_keras_weights(m.get_config(), m.get_weights()), x, want)


def test_from_weights_h5(keras_model):
    m, d, x, want = keras_model
    _check(from_keras_h5(d / "m.weights.h5", m.to_json()), x, want)


def test_from_keras_archive(keras_model):
    m, d, x, want = keras_model
    model = load_keras(d / "m.keras")
    assert type(model.layers[0]).__name__ in ("LSTM", "Embedding")
    _check(model, x, want)


def test_unsupported_keras_layers_and_options_are_refused(tmp_path):
    cases = [
        ([keras.Input((4, 3)), L.GRU(3, reset_after=False)], "reset_after=False"),
        ([keras.Input((4, 3)), L.LSTM(3, activation="relu")], "activation='relu'"),
        (
            [keras.Input((4, 3)), L.LSTM(3, recurrent_activation="hard_sigmoid")],
            "recurrent_activation='hard_sigmoid'",
        ),
        ([keras.Input((4, 3)), L.Conv1D(2, 2)], "Conv1D"),
        ([keras.Input((4, 3)), L.Masking(), L.LSTM(2)], "Masking"),
        ([keras.Input((4, 3)), L.LSTM(2), L.Dense(2, activation="gelu")], "activation='gelu'"),
    ]
    for layers, needle in cases:
        m = keras.Sequential(layers)
        with pytest.raises(UserError, match=needle):
            from_keras_weights(m.get_config(), m.get_weights())
    inp = keras.Input((4, 3))
    func = keras.Model(inp, L.Dense(2)(L.LSTM(2)(inp)))
    with pytest.raises(UserError, match="only Keras Sequential"):
        from_keras_weights(func.to_json(), func.get_weights())


def test_bad_weights_and_files_are_refused(tmp_path):
    m = keras.Sequential([keras.Input((4, 3)), L.LSTM(2), L.Dense(1)])
    w = m.get_weights()
    with pytest.raises(UserError, match="needs 5 weight arrays, got 4"):
        from_keras_weights(m.get_config(), w[:4])
    with pytest.raises(UserError, match=r"recurrent_kernel expected shape \(2, 8\), got \(3, 8\)"):
        from_keras_weights(m.get_config(), [w[0], np.zeros((3, 8))] + w[2:])
    other = keras.Sequential([keras.Input((4, 3)), L.GRU(2), L.Dense(1)])
    other.save_weights(tmp_path / "gru.weights.h5")
    with pytest.raises(ModelFileError, match="no group 'layers/lstm'"):
        from_keras_h5(tmp_path / "gru.weights.h5", m.get_config())
    (tmp_path / "junk.weights.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(ModelFileError, match="not an HDF5 file"):
        from_keras_h5(tmp_path / "junk.weights.h5", m.get_config())
    (tmp_path / "junk.keras").write_bytes(b"PK nothing")
    with pytest.raises(ModelFileError, match="not a .keras archive"):
        load_keras(tmp_path / "junk.keras")
    with h5py.File(tmp_path / "str.weights.h5", "w") as f:  # a string where floats belong
        f["layers/lstm/cell/vars/0"] = "x"
    with pytest.raises(ModelFileError, match="expected a float array"):
        from_keras_h5(tmp_path / "str.weights.h5", m.get_config())
