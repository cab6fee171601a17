"""The classify recipe's layers in C (Masking, GaussianNoise, Conv1D, the pooling layers)
against predict on random inputs with masked steps: the Conv1D paddings, strides and
dilations; a non-zero mask_value; sequences whose every step is masked; int8 Conv1D
weights; and what export_c refuses among them, with the layer and why. (The same layers in
the models of test_export_c.py: run, int8, clang, the Cortex-M4.)"""

import subprocess

import numpy as np
import pytest
from tests.io import _c_harness as H
from tests.io.test_export_c import randomise

from lstmkit import GRU, LSTM, Bidirectional, Dense, Sequential
from lstmkit.io import export_c
from lstmkit.io.c_export import CExportError, dequantized_model
from lstmkit.layers import (
    AttentionPooling1D,
    Conv1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Masking,
)

D = 3

CONVS = {
    "valid_stride2": lambda: [Conv1D(4, 3, strides=2), LSTM(3), Dense(2)],
    "same_stride3": lambda: [Conv1D(4, 4, strides=3, padding="same"), LSTM(3)],
    "causal_dilated": lambda: [
        Conv1D(4, 3, dilation_rate=3, padding="causal", activation="sigmoid"),
        GRU(3, return_sequences=True),
        GlobalMaxPooling1D(),
    ],
    "valid_masked": lambda: [  # valid padding ends the mask (as in Python)
        Masking(),
        Conv1D(4, 2, activation="relu", use_bias=False),
        LSTM(3, return_sequences=True),
        GlobalAveragePooling1D(),
    ],
    "mask_value": lambda: [
        Masking(mask_value=0.5),  # padding rows are 0.5 and become zeros
        Conv1D(4, 3, padding="same", activation="softmax"),
        Bidirectional(LSTM(3, return_sequences=True), merge_mode="sum"),
        AttentionPooling1D(4),
        Dense(2, "softmax"),
    ],
}


def _x(n, T, seed, pad=0.0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, T, D)).astype(np.float32)
    x[rng.random((n, T)) < 0.2] = pad
    x[0, :4] = pad  # in front
    x[-1] = pad  # every step masked: the states stay zero, pooling gives zeros
    return x


@pytest.mark.parametrize("key", list(CONVS))
def test_conv_and_pooling_variants_equal_predict(tmp_path, key):
    model = randomise(Sequential(CONVS[key]()), 5, (None, D))
    pad = 0.5 if key == "mask_value" else 0.0
    for q in (None, "int8"):
        name = f"{key}_{q or 'f32'}"
        res = export_c(model, tmp_path, name=name, quantize=q, measure=False)
        assert not res.streams  # a Conv1D needs the whole sequence
        exe = H.compile_host(tmp_path, name)
        ref_model = dequantized_model(model) if q else model
        for n, T, seed in ((3, 19, 1), (2, 12, 2), (2, 40, 3)):
            x = _x(n, T, seed, pad)
            ref = ref_model.predict(x)
            got = H.run_host(exe, x, 0, ref.shape[-1]).reshape(ref.shape)
            assert np.max(np.abs(got - ref)) < 1e-5, (key, q, T, np.max(np.abs(got - ref)))
        if q:  # int8 Conv1D codes: ¼ of the float bytes plus a scale per filter
            conv = model.layers[1 if key in ("valid_masked", "mask_value") else 0]
            assert f"l{model.layers.index(conv)}_s" in (tmp_path / f"{name}.c").read_text()


def test_masked_steps_carry_the_state_and_take_no_part(tmp_path):
    """Masking → Bidirectional(LSTM) → max pooling: inserting padding steps anywhere in a
    sequence changes nothing (the backward half runs over the real steps only), in Python
    and in C."""
    model = randomise(
        Sequential(
            [
                Masking(),
                Bidirectional(LSTM(4, return_sequences=True)),
                GlobalMaxPooling1D(use_mask=True),
            ]
        ),
        2,
        (None, D),
    )
    export_c(model, tmp_path, measure=False)
    exe = H.compile_host(tmp_path)
    real = np.random.default_rng(0).standard_normal((1, 7, D)).astype(np.float32)
    padded = np.zeros((1, 12, D), np.float32)
    padded[0, [1, 2, 5, 6, 8, 9, 11]] = real[0]  # padding in front, inside and behind
    got_real = H.run_host(exe, real, 0, 8)[0, 0]
    got_padded = H.run_host(exe, padded, 0, 8)[0, 0]
    assert np.max(np.abs(got_padded - got_real)) < 1e-6
    assert np.max(np.abs(got_padded - model.predict(padded)[0])) < 1e-5


def test_a_sequence_shorter_than_the_kernel_is_refused_by_the_c_code(tmp_path):
    model = randomise(Sequential([Conv1D(2, 5), LSTM(2)]), 1, (None, D))
    export_c(model, tmp_path, measure=False)
    exe = H.compile_host(tmp_path)
    data = np.array([0, 1, 4], "<i4").tobytes() + np.zeros(4 * D, "<f4").tobytes()
    assert subprocess.run([exe], input=data, capture_output=True).returncode == 4  # run → −1
    with pytest.raises(ValueError, match="at least 5 time steps"):
        model.predict(np.zeros((1, 4, D), np.float32))  # as Python refuses it


@pytest.mark.parametrize(
    "layers, k, why",
    [
        ([LSTM(3, return_sequences=True), GlobalAveragePooling1D(keepdims=True)], 1, "keepdims"),
        ([Masking(), LSTM(3), Masking()], 2, "gets no sequence"),
    ],
)
def test_refused_layers_name_the_layer_and_why(tmp_path, layers, k, why):
    m = Sequential(layers)
    m.build((None, D))
    with pytest.raises(CExportError) as e:
        export_c(m, tmp_path / "x", measure=False)
    msg = str(e.value)
    assert f"layer {k} {m.layers[k].name!r}" in msg and why in msg, msg
    assert not (tmp_path / "x").exists()


def test_keras_global_max_pooling_under_a_mask_is_refused(tmp_path):
    """Keras' GlobalMaxPooling1D ignores a mask; the C pooling skips masked steps, so a
    mask reaching the Keras default is refused, and use_mask=True (lstmkit's) exports.
    Conv1D drops the mask unless keep_mask=True."""

    def model(pool, keep):
        layers = [Masking(), Conv1D(3, 2, padding="same", keep_mask=keep)]
        layers += [LSTM(3, return_sequences=True), pool, Dense(2)]
        return randomise(Sequential(layers), 4, (None, D))

    with pytest.raises(CExportError, match=r"use GlobalMaxPooling1D\(use_mask=True\)"):
        export_c(model(GlobalMaxPooling1D(), True), tmp_path / "a", measure=False)
    export_c(model(GlobalMaxPooling1D(use_mask=True), True), tmp_path / "b", measure=False)
    export_c(model(GlobalMaxPooling1D(), False), tmp_path / "c", measure=False)  # mask dropped
