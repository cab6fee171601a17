"""export_c → C that gcc and clang compile with -std=c99 -Wall -Wextra -Werror -pedantic, and
that computes what ``predict`` computes: to 1e-5 for ``run`` on every model type (the classify
recipe's Masking, Conv1D and pooling layers too, with masked steps), for ``step``
over a 300-step stream (compared step by step), and for int8 against the dequantised model.

The reference models have random weights of scale 0.5 (biases too): their dynamics contract,
so float32 rounding does not grow along the sequence and 1e-5 is a fair bar. (A trained
model fed 200 steps of noise can be chaotic: there float32 predict itself moves 1e-4 away
from float64 — see docs/export_c.md.)
"""

import os
import re
import subprocess

import numpy as np
import pytest
from tests.io import _c_harness as H

from lstmkit import (
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
from lstmkit.io import export_c
from lstmkit.io.c_export import dequantized_model
from lstmkit.layers import (
    AttentionPooling1D,
    Conv1D,
    GaussianNoise,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Masking,
)

D = 3
V = 11


def randomise(model, seed, shape):
    """Build, then random non-zero weights everywhere (biases included), scale 0.5."""
    model.build(shape)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for p in layer.params:
            p[...] = rng.standard_normal(p.shape) * 0.5
    return model


# name → (layers, ids input?)
MODELS = {
    "lstm": (lambda: [LSTM(8), Dense(4)], False),
    "lstm_stacked_seq": (
        lambda: [
            LSTM(6, return_sequences=True),
            LSTM(5, return_sequences=True),
            Dense(3, "softmax"),
        ],
        False,
    ),
    "gru": (lambda: [GRU(7, return_sequences=True), GRU(5), Dense(2, "sigmoid")], False),
    "rnn_mixed": (
        lambda: [
            SimpleRNN(6, return_sequences=True),
            Dropout(0.3),
            Dense(4, "relu"),
            Activation("tanh"),
            SimpleRNN(3),
        ],
        False,
    ),
    "dense_around": (
        lambda: [
            Dense(5, "relu"),
            LSTM(4),
            Dense(6, "tanh", use_bias=False),
            Dense(3),
            Activation("softmax"),
        ],
        False,
    ),
    "stateful": (lambda: [LSTM(4, stateful=True, return_sequences=True), Dense(2)], False),
    "embed_char_rnn": (
        lambda: [
            Embedding(V, 4),
            LSTM(6, return_sequences=True),
            LSTM(5, return_sequences=True),
            Dense(V, "softmax"),
        ],
        True,
    ),
    "embed_masked": (lambda: [Embedding(V, 4, mask_zero=True), LSTM(5), Dense(3, "softmax")], True),
    "embed_masked_seq": (
        lambda: [
            Embedding(V, 4, mask_zero=True),
            GRU(4, return_sequences=True),
            SimpleRNN(3, return_sequences=True),
        ],
        True,
    ),
    "bi_concat": (lambda: [Bidirectional(LSTM(5, return_sequences=True)), Dense(2)], False),
    "bi_merges": (
        lambda: [
            Bidirectional(GRU(4, return_sequences=True), merge_mode="sum"),
            Bidirectional(SimpleRNN(3), merge_mode="mul"),
            Dense(3, "softmax"),
        ],
        False,
    ),
    "bi_masked_backwards": (
        lambda: [
            Embedding(V, 3, mask_zero=True),
            Bidirectional(LSTM(4, return_sequences=True), merge_mode="ave"),
            LSTM(3, go_backwards=True, return_sequences=True),
            GRU(2),
        ],
        True,
    ),
    "go_backwards": (
        lambda: [
            GRU(4, return_sequences=True),
            LSTM(5, go_backwards=True, return_sequences=True),
            Dropout(0.2),
            Dense(3),
            Activation("tanh"),
        ],
        False,
    ),
    "bi_around_backwards": (
        lambda: [Bidirectional(LSTM(3, go_backwards=True, return_sequences=True)), Dense(2)],
        False,
    ),
    # the classify recipe's layers (issue 19): all-zero input steps are masked
    "seq_recipe": (
        lambda: [
            Masking(),
            GaussianNoise(0.2),
            Conv1D(5, 4, padding="same", activation="relu", keep_mask=True),
            Conv1D(4, 3, padding="causal", activation="tanh", keep_mask=True),
            Bidirectional(LSTM(4, return_sequences=True)),
            GlobalMaxPooling1D(use_mask=True),
            Dropout(0.2),
            Dense(3, "softmax"),
        ],
        False,
    ),
    "seq_masked_mean": (
        lambda: [Masking(), LSTM(5, return_sequences=True), GlobalAveragePooling1D(), Dense(2)],
        False,
    ),
    "seq_masked_attention": (
        lambda: [
            Masking(),
            GRU(4, return_sequences=True, go_backwards=True),
            AttentionPooling1D(3),
            Dense(2, "softmax"),
        ],
        False,
    ),
    "seq_conv_dilated_mean": (
        lambda: [
            Conv1D(4, 3, padding="same", dilation_rate=2),
            SimpleRNN(3, return_sequences=True),
            GlobalAveragePooling1D(),
        ],
        False,
    ),
}
STREAMING = [k for k in MODELS if not k.startswith(("bi_", "go_", "seq_"))]


def make(key, seed=0):
    layers, ids = MODELS[key]
    return randomise(Sequential(layers()), seed, (None,) if ids else (None, D)), ids


def inputs(ids, n, T, seed):
    rng = np.random.default_rng(seed)
    if not ids:  # zero steps (a Masking layer's padding) inside, in front and at the end
        x = rng.standard_normal((n, T, D)).astype(np.float32)
        x[rng.random((n, T)) < 0.15] = 0
        x[0, :3] = 0
        x[-1, -2:] = 0
        return x
    x = rng.integers(1, V, (n, T))
    x[rng.random((n, T)) < 0.15] = 0  # padding inside (masked models carry the state)
    x[0, -3:] = 0  # and at the end
    return x.astype(np.int64)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every model exported float32 and int8 and compiled with gcc: key → info."""
    root = tmp_path_factory.mktemp("cexport")
    out = {}
    for key in MODELS:
        model, ids = make(key)
        d = root / key
        res = export_c(model, d, name=key, measure=False)
        res8 = export_c(model, d, name=f"{key}_q8", quantize="int8", measure=False)
        out[key] = dict(
            model=model,
            ids=ids,
            dir=d,
            res=res,
            res8=res8,
            exe=H.compile_host(d, key),
            exe8=H.compile_host(d, f"{key}_q8"),
        )
    return out


def _run(info, x, exe_key="exe"):
    m = info["model"]
    m.reset_states()
    ref = m.predict(x)
    got = H.run_host(info[exe_key], x, 0, m.output_shape[-1]).reshape(ref.shape)
    return got, ref


@pytest.mark.parametrize("key", list(MODELS))
def test_run_equals_predict(built, key):
    info = built[key]
    for n, T, seed in ((3, 17, 1), (1, 1, 2), (2, 60, 3)):
        got, ref = _run(info, inputs(info["ids"], n, T, seed))
        assert np.max(np.abs(got - ref)) < 1e-5, (key, T, np.max(np.abs(got - ref)))
    assert info["res"].streams == (key in STREAMING)


@pytest.mark.parametrize("key", STREAMING)
def test_step_stream_equals_predict_step_by_step(built, key):
    """300 steps through ``step``, the output after every one against predict on that
    prefix (or, for a model returning sequences, predict's output at that step)."""
    info = built[key]
    m, T = info["model"], 300
    x = inputs(info["ids"], 1, T, 7)
    got = H.run_host(info["exe"], x, 1, m.output_shape[-1])[0]  # (T, out)
    if len(m.output_shape) == 2:
        m.reset_states()
        ref = m.predict(x)[0]
    else:
        ref = np.concatenate([m.predict(x[:, : t + 1]) for t in range(T)])
    err = np.abs(got - ref).max(axis=1)
    assert err.max() < 1e-5, (key, int(err.argmax()), err.max())
    last = H.run_host(info["exe"], x, 2, m.output_shape[-1])[0, 0]  # y null until the end
    assert np.array_equal(last, got[-1])


@pytest.mark.parametrize("key", list(MODELS))
def test_int8_equals_the_dequantized_model(built, key):
    info = built[key]
    x = inputs(info["ids"], 3, 25, 11)
    twin = dequantized_model(info["model"])
    twin.reset_states()
    ref8 = twin.predict(x)
    got8 = H.run_host(info["exe8"], x, 0, ref8.shape[-1]).reshape(ref8.shape)
    assert np.max(np.abs(got8 - ref8)) < 1e-5, (key, np.max(np.abs(got8 - ref8)))
    got, ref = _run(info, x)
    err = np.max(np.abs(got8 - ref))  # what int8 costs: visible, and small
    assert 1e-6 < err < 0.05, (key, err)
    assert info["res8"].weight_bytes < info["res"].weight_bytes  # (scales, biases: float)


@pytest.mark.skipif(not H.have("clang"), reason="clang not installed (.ci/cexport.sh installs it)")
@pytest.mark.parametrize("key", ["lstm", "embed_masked", "bi_masked_backwards", "rnn_mixed"])
def test_clang_compiles_and_agrees(built, key):
    info = built[key]
    x = inputs(info["ids"], 2, 19, 5)
    for name in (key, f"{key}_q8"):
        exe = H.compile_host(info["dir"], name, cc="clang")
        got = H.run_host(exe, x, 0, info["model"].output_shape[-1])
        ref = H.run_host(info["exe" if name == key else "exe8"], x, 0, got.shape[-1])
        assert np.max(np.abs(got - ref)) < 1e-5


def test_every_kernel_compiles_clang_strict(built):
    if not H.have("clang"):
        pytest.skip("clang not installed (.ci/cexport.sh installs it)")
    for key, info in built.items():
        for name in (key, f"{key}_q8"):
            r = subprocess.run(
                ["clang", *H.STRICT, "-O2", "-c", str(info["dir"] / f"{name}.c"), "-o", os.devnull],
                capture_output=True,
                text=True,
            )
            assert r.returncode == 0, (name, r.stderr[-3000:])


@pytest.mark.parametrize("key", ["embed_masked", "bi_masked_backwards", "go_backwards", "gru"])
def test_sanitizers_find_nothing(built, key, tmp_path):
    """ASan + UBSan, with exactly RUN_WORK_FLOATS(T) floats of work memory: no read or write
    outside the state, the work and the caller's arrays."""
    info = built[key]
    exe = H.compile_host(
        info["dir"], key, opt="-O1", extra=["-fsanitize=address,undefined"], tag="_san"
    )
    x = inputs(info["ids"], 2, 23, 9)
    got, ref = H.run_host(exe, x, 0, info["model"].output_shape[-1]), None
    ref = info["model"].predict(x)
    assert np.max(np.abs(got.reshape(ref.shape) - ref)) < 1e-5


def test_only_math_h_and_no_allocation(built):
    """model.c includes its header and <math.h> only; its object needs nothing but math
    functions (and the memset/memcpy compilers may emit for the zeroing loops)."""
    allowed = {"tanhf", "expf", "logf", "memset", "memcpy"}
    for key, info in built.items():
        for name in (key, f"{key}_q8"):
            src = (info["dir"] / f"{name}.c").read_text()
            assert re.findall(r"#include\s+(\S+)", src) == [f'"{name}.h"', "<math.h>"]
            assert "#include" not in (info["dir"] / f"{name}.h").read_text()
            obj = info["dir"] / f"{name}_gcc.o"  # made by the fixture, -O2
            extra = H.undefined_symbols(obj) - allowed
            assert not extra, (name, extra)


def test_two_models_link_into_one_program(built, tmp_path):
    a, b = built["lstm"], built["embed_char_rnn"]
    main = tmp_path / "two.c"
    main.write_text(
        '#include "lstm.h"\n#include "embed_char_rnn.h"\n'
        "int main(void) { static lstm_state s; static embed_char_rnn_state t;\n"
        "  float x[LSTM_INPUT_SIZE] = {0}, y[LSTM_OUTPUT_SIZE], p[EMBED_CHAR_RNN_OUTPUT_SIZE];\n"
        "  lstm_init(&s); embed_char_rnn_init(&t);\n"
        "  return lstm_step(&s, x, y) | embed_char_rnn_step(&t, 3, p); }\n"
    )
    cmd = ["gcc", *H.STRICT, "-I", str(a["dir"]), "-I", str(b["dir"]), str(main)]
    cmd += [str(a["dir"] / "lstm.c"), str(b["dir"] / "embed_char_rnn.c"), "-lm"]
    subprocess.run([*cmd, "-o", str(tmp_path / "two")], check=True)
    assert subprocess.run([str(tmp_path / "two")]).returncode == 0


def test_sizes_are_what_the_readme_says(built):
    info = built["bi_masked_backwards"]
    res = info["res"]
    m = info["model"]
    assert res.weight_bytes == 4 * m.count_params()  # float32: every parameter once
    text = open(res.readme).read()
    assert f"= {res.state_bytes:,} bytes" in text
    assert f"{res.run_work_floats_per_step} × T floats" in text
    h = (info["dir"] / "bi_masked_backwards.h").read_text()
    assert f"#define BI_MASKED_BACKWARDS_STATE_BYTES {res.state_bytes}" in h
    # the state: h and c of every half of every layer + one gate scratch of 4·4 floats
    units = [(4, 2), (4, 2), (3, 2), (2, 1)]  # (H, states) per direction
    assert res.state_bytes == 4 * (sum(h * k for h, k in units) + 16)


def test_id_out_of_range_is_refused_by_the_c_code(built):
    info = built["embed_char_rnn"]
    data = np.array([0, 1, 3, 1, V, 2], "<i4").tobytes()  # run, 1 sequence of 3: id V is bad
    r = subprocess.run([info["exe"]], input=data, capture_output=True)
    assert r.returncode == 4  # the harness's "run returned −1"


def test_libm_tanh_switch(built):
    """-DLK_LIBM_TANH swaps the rational tanh for the C library's tanhf: the same outputs."""
    info = built["gru"]
    exe = H.compile_host(info["dir"], "gru", extra=["-DLK_LIBM_TANH"], tag="_libm")
    assert "tanhf" in H.undefined_symbols(info["dir"] / "gru_gcc_libm.o")
    assert "tanhf" not in H.undefined_symbols(info["dir"] / "gru_gcc.o")
    x = inputs(False, 2, 30, 4)
    got, ref = H.run_host(exe, x, 0, 2), info["model"].predict(x)
    assert np.max(np.abs(got.reshape(ref.shape) - ref)) < 1e-5
