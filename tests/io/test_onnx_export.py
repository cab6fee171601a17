"""export_onnx → ONNX Runtime gives predict's result (1e-5, float32) for batch sizes 1 and 5
and sequence lengths 1, 7 and 60; the checker passes; masks / variable lengths; refusals."""

import numpy as np
import pytest
from tests.io._errors import record

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from lstmkit import (  # noqa: E402  # noqa: E402
    GRU,
    LSTM,
    Activation,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    Sequential,
    SimpleRNN,
)
from lstmkit.errors import UserError  # noqa: E402
from lstmkit.io.onnx_export import export_onnx  # noqa: E402
from lstmkit.layers import variants as V  # noqa: E402

D = 3


def _randomise(model, seed, shape):
    """Build, then random non-zero weights everywhere (biases included), scale 0.5."""
    model.build(shape)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for p in layer.params:
            p[...] = rng.standard_normal(p.shape) * 0.5
    return model


MODELS = {
    "lstm_stacked": lambda: [
        LSTM(6, return_sequences=True),
        LSTM(5, return_sequences=True),
        LSTM(4),
    ],
    "bilstm_dense": lambda: [Bidirectional(LSTM(5, return_sequences=True)), Dense(2)],
    "gru_rnn_bi": lambda: [
        Bidirectional(GRU(5, return_sequences=True)),
        Bidirectional(SimpleRNN(3), merge_mode="sum"),
        Dense(3, activation="softmax"),
    ],
    "go_backwards": lambda: [
        GRU(4, return_sequences=True),
        LSTM(5, go_backwards=True, return_sequences=True),
        Dropout(0.3),
        Dense(3),
        Activation("tanh"),
    ],
    "peephole_merges": lambda: [
        V.PeepholeLSTM(4, return_sequences=True),
        Bidirectional(LSTM(3, return_sequences=True), merge_mode="mul"),
        Bidirectional(SimpleRNN(3, return_sequences=True), merge_mode="ave"),
        SimpleRNN(2, go_backwards=True),
    ],
    "float64_gru": lambda: [
        GRU(5, dtype="float64"),
        Dense(2, activation="sigmoid", dtype="float64"),
    ],
}


def _session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _compare(name, model, sess, feeds_and_want):
    for feeds, want in feeds_and_want:
        got = sess.run(None, feeds)[0]
        assert got.shape == want.shape
        err = float(np.max(np.abs(got - want)))
        record(f"onnxruntime − predict, {name}", err)
        assert err < 1e-5, (name, {k: v.shape for k, v in feeds.items()}, err)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnx_runtime_equals_predict(name, tmp_path):
    model = _randomise(Sequential(MODELS[name](), name=name), 1, (None, D))
    path = tmp_path / f"{name}.onnx"
    export_onnx(model, path)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    ins = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in ins] == ["batch", "time", D]
    sess, rng, cases = _session(proto), np.random.default_rng(2), []
    for B in (1, 5):
        for T in (1, 7, 60):
            x = rng.standard_normal((B, T, D)).astype(np.float32)
            cases.append(({"x": x}, model.predict(x)))
    _compare(name, model, sess, cases)


def _post_padded(rng, B, T, low=1):
    lens = rng.integers(low, T + 1, B)
    lens[0] = T  # one full row
    return lens, (np.arange(T)[None, :] < lens[:, None])


def test_embedding_mask_zero_variable_lengths():
    model = _randomise(
        Sequential(
            [
                Embedding(12, 4, mask_zero=True),
                LSTM(5, return_sequences=True),
                Bidirectional(GRU(3, return_sequences=True)),
                Dense(2),
            ],
            name="masked",
        ),
        3,
        (None,),
    )
    proto = export_onnx(model)
    assert proto.graph.input[0].name == "ids" and len(proto.graph.input) == 1
    sess, rng, cases = _session(proto), np.random.default_rng(4), []
    for B in (1, 5):
        for T in (1, 7, 60):
            lens, mask = _post_padded(rng, B, T)
            ids = np.where(mask, rng.integers(1, 12, (B, T)), 0)
            if B == 5 and T > 1:
                assert len(set(lens)) > 1  # really variable
            cases.append(({"ids": ids.astype(np.int64)}, model.predict(ids)))
    _compare("embedding_mask_zero", model, sess, cases)


def test_embedding_classifier_final_state_variable_lengths():
    model = _randomise(
        Sequential(
            [
                Embedding(9, 4, mask_zero=True),
                Bidirectional(LSTM(4)),
                Dense(3, activation="softmax"),
            ]
        ),
        5,
        (None,),
    )
    sess, rng, cases = _session(export_onnx(model)), np.random.default_rng(6), []
    for B in (1, 5):
        for T in (1, 7, 60):
            _, mask = _post_padded(rng, B, T)
            if B == 5:
                mask[4] = False  # an all-padding row: length 0
            ids = np.where(mask, rng.integers(1, 9, (B, T)), 0)
            cases.append(({"ids": ids}, model.predict(ids)))
    _compare("embedding_final_state", model, sess, cases)


def _forward_with_mask(model, x, mask):
    for layer in model.layers:
        y = layer.forward(x, mask=mask)
        mask = layer.compute_mask(mask, x)
        x = y
    return x


def test_lengths_input_for_float_models():
    model = _randomise(
        Sequential(
            [
                Bidirectional(LSTM(4, return_sequences=True)),
                GRU(3, return_sequences=True),
                SimpleRNN(3, go_backwards=True, return_sequences=True),
                Dense(2),
            ]
        ),
        7,
        (None, D),
    )
    proto = export_onnx(model, lengths_input=True)
    assert [i.name for i in proto.graph.input] == ["x", "sequence_lens"]
    sess, rng, cases = _session(proto), np.random.default_rng(8), []
    for B in (1, 5):
        for T in (1, 7, 60):
            lens, mask = _post_padded(rng, B, T)
            x = rng.standard_normal((B, T, D)).astype(np.float32)
            cases.append(
                (
                    {"x": x, "sequence_lens": lens.astype(np.int32)},
                    _forward_with_mask(model, x, mask),
                )
            )
    _compare("lengths_input", model, sess, cases)


@pytest.mark.parametrize("cls", [V.LSTMP, V.CIFGLSTM, V.LayerNormLSTM, V.ZoneoutLSTM, V.SLSTM])
def test_variants_without_an_onnx_operator_are_refused(cls):
    model = Sequential([LSTM(4, return_sequences=True), cls(4, return_sequences=True), Dense(1)])
    model.build((None, D))
    with pytest.raises(UserError, match=f"{cls.__name__} layer .* has no ONNX operator"):
        export_onnx(model)


def test_other_unsupported_cases_are_refused():
    def built(layers, shape=(None, D)):
        m = Sequential(layers)
        m.build(shape)
        return m

    cases = [
        (built([LSTM(4, stateful=True)]), {}, "stateful"),
        (built([Bidirectional(LSTM(4, go_backwards=True))]), {}, "wraps a go_backwards"),
        (
            built(
                [
                    Embedding(5, 3, mask_zero=True),
                    LSTM(3, go_backwards=True, return_sequences=True),
                    LSTM(2),
                ],
                (None,),
            ),
            {},
            "padding first",
        ),
        (
            built([Embedding(5, 3, mask_zero=True), LSTM(3)], (None,)),
            {"lengths_input": True},
            "already come from the ids",
        ),
        (built([LSTM(3)]), {"opset": 9}, "opset must be in"),
        (Sequential([LSTM(3)]), {}, "needs a built model"),
    ]
    for model, kw, needle in cases:
        with pytest.raises(UserError, match=needle):
            export_onnx(model, **kw)
