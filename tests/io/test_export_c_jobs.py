"""The jobs around the network in C — classify's scaler, padding and labels, textgen's
vocabulary and sampling loop — against the jobs' own Python (the forecast job's windows
and levels: test_export_c_forecast.py); the CLI (``lstmkit export MODEL --c DIR``); and the
models export_c refuses, with the layer and why."""

import numpy as np
import pytest
from tests.cli_helpers import assert_user_error, run_cli
from tests.io import _c_harness as H
from tests.io import _c_jobs as J
from tests.io.test_export_c import randomise

from lstmkit import GRU, LSTM, Bidirectional, Dense, Embedding, Sequential
from lstmkit.apps.classify import job as cl
from lstmkit.apps.classify.series import encode_series
from lstmkit.apps.export.c_job import c_arguments
from lstmkit.apps.shared.modelfiles import save_job_model
from lstmkit.data.text import WordVocab
from lstmkit.io import TimeMajorModel, export_c
from lstmkit.io.c_export import CExportError, ForecastSpec
from lstmkit.layers import variants as V

# ------------------------------------------------------------------ classify
#: the classify recipe's switches (issue 19) → does the model mask, and does it stream
SERIES_CONFIGS = {
    "default": {},  # Masking → Conv1D × 2 → Bidirectional(LSTM) → max pooling → Dense
    "unmasked": {"equal_lengths": True},  # every training sequence as long: no Masking
    "mean": {"pooling": "mean"},
    "attention": {"pooling": "attention"},
    "one_direction": {"bidirectional": False, "normalize": "sequence"},
    "last_no_conv": {"pooling": "last", "conv": False, "bidirectional": False},
    "global_streams": {
        "equal_lengths": True,
        "pooling": "last",
        "conv": False,
        "bidirectional": False,
        "normalize": "global",
    },
    "patched": {"maxlen": 300, "units": 8},  # > 128 steps: 3 raw steps per LSTM step
}


def _series_model(ex, config: dict, seed: int = 3):
    """The classify job's meta and model for ``config`` (random weights of a scale that keeps
    the convolutions and the LSTM out of saturation), as ``train_job`` would build them."""
    config = dict(config)
    equal = config.pop("equal_lengths", False)
    ccfg = cl.ClassifyConfig(**{"maxlen": 15, "units": 16, **config})
    train = np.arange(len(ex.labels))
    if equal:  # the sequences of the commonest length: fit_meta sees no padding
        lens = np.array([len(s) for s in ex.seqs])
        train = np.flatnonzero(lens == np.bincount(lens).argmax())
    meta = cl.fit_meta(ex, train, ccfg)
    X = cl.encode(ex, meta)
    model = randomise(cl.build_model(meta, ccfg), seed, X.shape[1:])
    for layer in model.layers:  # 0.5 / √fan-in for the convolutions
        if type(layer).__name__ == "Conv1D":
            layer.params[0][...] /= np.sqrt(layer.params[0].shape[0] * layer.params[0].shape[1])
    return meta, model, X


@pytest.mark.parametrize("key", list(SERIES_CONFIGS))
def test_classify_series_c_standardises_pads_and_labels(tmp_path, key):
    """Vowels with the classify recipe's variants: the job's normalisation (per sequence,
    global, both), its front padding and cutting (maxlen 15 < the longest utterance, so some
    are cut and most are padded), the Masking of the padding and the patching in C =
    predict(encode(…)) to 1e-5, the same classes."""
    ex, te = J.vowels()
    meta, model, X = _series_model(ex, SERIES_CONFIGS[key])
    has = {type(layer).__name__ for layer in model.layers}
    assert ("Masking" in has) == (key != "unmasked" and key != "global_streams")
    res = export_c(model, tmp_path, **c_arguments(meta), measure=False)
    assert res.streams == (key == "global_streams")
    assert (meta["patch"] > 1) == (key == "patched")
    text = (tmp_path / "model.c").read_text()
    assert '"speaker1", "speaker2"' in text
    exe = J.compile_driver(tmp_path, "classify")
    idx = te[:120]
    lens = {len(ex.seqs[k]) for k in idx}
    assert min(lens) < 15 < max(lens)
    probs, k = J.c_classify(exe, [ex.seqs[j] for j in idx], len(meta["classes"]))
    ref = model.predict(X[idx])
    assert np.max(np.abs(probs - ref)) < 1e-5, np.max(np.abs(probs - ref))
    assert np.array_equal(k, ref.argmax(1))
    assert np.std(ref, axis=0).max() > 1e-3, np.std(ref, axis=0)  # the inputs matter


def test_classify_series_sanitizers_and_an_empty_sequence(tmp_path):
    """The default recipe under ASan + UBSan: the state's buffers hold maxlen steps; a
    sequence of one step, a long one (cut), a constant one (σ = 0: all of it masked) stay
    inside them and give predict's probabilities; T = 0 is refused (−1)."""
    ex, _ = J.vowels()
    meta, model, _ = _series_model(ex, {"units": 4})
    export_c(model, tmp_path, **c_arguments(meta), measure=False)
    exe = J.compile_driver(tmp_path, "classify", extra=["-O1", "-fsanitize=address,undefined"])
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((1, 12)), rng.standard_normal((400, 12)), np.ones((9, 12))]
    probs, k = J.c_classify(exe, [*seqs, np.zeros((0, 12))], len(meta["classes"]))
    ref = model.predict(encode_series(seqs, meta))
    assert np.max(np.abs(probs[:3] - ref)) < 1e-5
    assert np.array_equal(k[:3], ref.argmax(1)) and k[3] == -1


@pytest.mark.parametrize(
    "switches", [{}, {"pooling": "max", "bidirectional": True}, {"pooling": "attention"}]
)
def test_classify_text_ids_in_c(tmp_path, switches):
    """Text: the default model streams; with pooling or a bidirectional LSTM the C runs the
    first maxlen ids through ``run`` (the padding is masked, so none is needed)."""
    texts = ["the cat sat on the mat", "a dog ran", "the dog sat", "cats and dogs ran far away"]
    ex = cl.Examples("text", ["a", "b", "a", "b"], None, texts=texts * 3)
    ex.labels = ex.labels * 3
    ccfg = cl.ClassifyConfig(maxlen=5, **switches)
    meta = cl.fit_meta(ex, np.arange(12), ccfg)
    model = randomise(cl.build_model(meta, ccfg), 4, (5,))
    res = export_c(model, tmp_path, **c_arguments(meta), measure=False)
    assert res.streams == (not switches)
    exe = J.compile_driver(tmp_path, "classify")
    ids = WordVocab(meta["vocab"]).encode(texts, 50)  # all the words: C cuts to maxlen
    seqs = [row[row != 0] for row in ids]
    probs, k = J.c_classify(exe, seqs, 2)
    ref = model.predict(cl.encode(ex, meta)[:4])
    assert np.max(np.abs(probs - ref)) < 1e-5 and np.array_equal(k, ref.argmax(1))


# ------------------------------------------------------------------ textgen
CHARS = "\n ab.éc“—"  # multi-byte characters too


@pytest.fixture(scope="module")
def char_rnn(tmp_path_factory):
    d = tmp_path_factory.mktemp("textgen")
    Vn = len(CHARS)
    model = Sequential(
        [
            Embedding(Vn, 5),
            LSTM(8, return_sequences=True, stateful=True),
            LSTM(6, return_sequences=True, stateful=True),
            Dense(Vn, activation="softmax"),
        ]
    )
    randomise(model, 2, (None,))
    model.layers[-1].params[0][...] *= 4  # peaked distributions: greedy has no near-ties
    model.layers[0].params[0][...] *= 3  # and the input matters: no constant greedy string
    export_c(model, d, **c_arguments({"lstmkit_task": "textgen", "chars": CHARS}), measure=False)
    return model, J.compile_driver(d, "textgen")


def test_generate_greedy_is_the_python_loop(char_rnn):
    model, exe = char_rnn
    prime = "a“é"
    got = J.c_generate(exe, prime, 40, 0.0, 1)
    model.reset_states()
    p = model.predict(np.array([[CHARS.index(c) for c in prime]]), batch_size=1)[0, -1]
    want = []
    for _ in range(40):
        k = int(np.argmax(p))
        want.append(CHARS[k])
        p = model.predict(np.array([[k]]), batch_size=1)[0, -1]
    model.reset_states()
    assert got == "".join(want)
    assert len(set(got)) > 2 and "é" in got  # not a constant; multi-byte tokens fed back


def test_sample_draws_p_to_the_one_over_temperature(char_rnn):
    _, exe = char_rnn
    p = np.array([0.4, 0.25, 0.15, 0.1, 0.05, 0.03, 0.015, 0.004, 0.001], np.float32)
    n = 40000
    for tau in (1.0, 0.5):
        q = p.astype(np.float64) ** (1 / tau)
        q /= q.sum()
        counts = J.c_sample_counts(exe, p, n, tau, 12345)
        chi2 = np.sum((counts - n * q) ** 2 / (n * q))
        assert chi2 < 30, (tau, chi2, counts)  # 8 dof: p(χ² > 30) ≈ 2e-4
    assert J.c_sample_counts(exe, p, 100, 0.0, 1)[0] == 100  # τ ≤ 0: greedy


def test_generate_refuses_a_prime_outside_the_vocabulary(char_rnn):
    _, exe = char_rnn
    with pytest.raises(AssertionError, match="exited 6"):
        J.c_generate(exe, "abz", 5, 1.0, 1)


# ------------------------------------------------------------------ the CLI
@pytest.fixture(scope="module")
def forecast_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("co2job")
    res = J.run_job([J.co2_series()], target="co2", units=32, epochs=2)
    save_job_model(res.model, str(d), res.meta)
    return d


def test_cli_writes_c_that_compiles(forecast_dir, tmp_path, capsys):
    for q in ([], ["--quantize", "int8"]):
        out = tmp_path / ("c" + "".join(q))
        rc, stdout, err = run_cli(capsys, "export", forecast_dir, "--c", out, *q)
        assert rc == 0, err
        assert "RAM: 768 bytes of state" in stdout  # LSTM(32): h, c and 4·32 of gate scratch
        assert {p.name for p in out.iterdir() if not p.name.startswith(".lstmkit")} == {
            "model.h",
            "model.c",
            "README.md",
        }  # (and the directory's lock and record of the run)
        readme = (out / "README.md").read_text()
        assert "model_forecast" in readme and ("## int8" in readme) == bool(q)
        assert "model_forecast(s, y, t, cov, fut, out): the forecast model of 'co2'" in stdout
        assert "MODEL_LAST_T = 525" in stdout and "deseasonalised (m=12)" in stdout
        J.compile_driver(out, "forecast")


def test_cli_bad_input_is_one_line_and_exit_2(forecast_dir, tmp_path, capsys):
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    rc, _, err = run_cli(capsys, "export", forecast_dir, "--c", out)
    assert_user_error(rc, err, "not empty")
    rc, _, err = run_cli(capsys, "export", forecast_dir)
    assert_user_error(rc, err, "--onnx", "--c")
    rc, _, err = run_cli(
        capsys, "export", forecast_dir, "--onnx", tmp_path / "m.onnx", "--quantize", "int8"
    )
    assert_user_error(rc, err, "--quantize is for --c")
    rc, _, err = run_cli(capsys, "export", forecast_dir, "--c", tmp_path / "n", "--name", "int")
    assert_user_error(rc, err, "C identifier")
    rc, _, err = run_cli(capsys, "export", forecast_dir, "--c", tmp_path / "i", "--id-value", "x")
    assert_user_error(rc, err, "--id-value 'x'", "co2")
    rc, _, err = run_cli(capsys, "export", forecast_dir, "--onnx", "m.onnx", "--id-value", "x")
    assert_user_error(rc, err, "--id-value is for --c")
    m = Sequential([V.PeepholeLSTM(4), Dense(2)])
    m.build((None, 3))
    save_job_model(m, str(tmp_path), {"task": "other"})
    rc, _, err = run_cli(capsys, "export", tmp_path, "--c", tmp_path / "p")
    assert_user_error(rc, err, "PeepholeLSTM", "peephole")


# ------------------------------------------------------------------ refusals
def _built(layers, shape=(None, 3)):
    m = Sequential(layers)
    m.build(shape)
    return m


@pytest.mark.parametrize(
    "cls, why",
    [
        (V.PeepholeLSTM, "cell state"),
        (V.CIFGLSTM, "coupled"),
        (V.LayerNormLSTM, "normalises"),
        (V.ZoneoutLSTM, "zoneout"),
        (V.LSTMP, "projected"),
        (V.SLSTM, "exponential"),
    ],
)
def test_variants_are_refused_by_name_and_why(tmp_path, cls, why):
    kw = {"proj_size": 2} if cls is V.LSTMP else {}
    for layers in ([LSTM(3, return_sequences=True), cls(4, **kw)], [Bidirectional(cls(4, **kw))]):
        m = _built(layers + [Dense(2)])
        k = len(layers) - 1
        with pytest.raises(CExportError) as e:
            export_c(m, tmp_path / "x", measure=False)
        msg = str(e.value)
        assert f"layer {k} {m.layers[k].name!r}" in msg and why in msg, msg
        assert not (tmp_path / "x").exists()  # nothing written


def test_other_refusals(tmp_path):
    bad = []
    unbuilt = Sequential([LSTM(3)])
    bad.append((unbuilt, {}, "built"))
    bad.append((TimeMajorModel(_built([LSTM(3)])), {}, "batch-major"))
    nan = _built([LSTM(3), Dense(1)])
    nan.layers[1].params[0][0, 0] = np.nan
    bad.append((nan, {}, "NaN"))
    bad.append((_built([Dense(3)], (None, None, 3)), {}, "no LSTM"))  # (batch, time, 3)
    bad.append((_built([LSTM(3)]), {"name": "3d"}, "C identifier"))
    bad.append((_built([LSTM(3)]), {"name": "lk_model"}, "lk_"))
    bad.append((_built([LSTM(3)]), {"quantize": "int4"}, "int8"))
    bad.append((_built([LSTM(3), Dense(2)]), {"labels": ["a", "b", "c"]}, "labels"))
    seq = _built([LSTM(3, return_sequences=True), Dense(2)])
    bad.append((seq, {"labels": ["a", "b"]}, "returns sequences"))
    bad.append((_built([LSTM(3), Dense(2)]), {"input_scaler": ([0, 0], [1, 1])}, "scaler"))
    spec = ForecastSpec(8, 3, 0.0, 1.0)
    bad.append((_built([LSTM(3), Dense(2)], (None, 2)), {"forecast": spec}, "forecast"))
    bad.append((_built([LSTM(3), Dense(3)], (None, 1)), {"forecast": spec}, "2 inputs per step"))
    bi = _built([Bidirectional(GRU(3)), Dense(3)], (None, 2))
    bad.append((bi, {"forecast": ForecastSpec(8, 3, 0.0, 1.0)}, "forecast"))
    fits = _built([LSTM(3), Dense(3)], (None, 2))
    bad.append((fits, {"forecast": ForecastSpec(8, 3, 0.0, 0.0)}, "σ must be positive"))
    bad.append((fits, {"forecast": ForecastSpec(8, 3, 0.0, 1.0, seasonal=[0.1])}, "at least 2"))
    nan_s = ForecastSpec(8, 3, 0.0, 1.0, seasonal=[0.1, np.nan])
    bad.append((fits, {"forecast": nan_s}, "NaN"))
    em = _built([Embedding(4, 2), LSTM(3, return_sequences=True), Dense(4, "softmax")], (None,))
    bad.append((em, {"vocab": ["a", "b", "c"]}, "vocabulary"))
    bad.append((em, {"vocab": ["a", "b", "a", "c"]}, "distinct"))
    for model, kw, needle in bad:
        with pytest.raises(CExportError, match=needle):
            export_c(model, tmp_path / "x", measure=False, **kw)


def test_int8_weights_are_a_quarter(tmp_path):
    """The classify job's model: int8 flash ≈ ¼ of float32 plus the float scales and biases."""
    m = _built([LSTM(64), Dense(9, "softmax")], (None, 12))
    f, q = export_c(m, tmp_path, measure=False), export_c(m, tmp_path, name="q", quantize="int8")
    n_w = 12 * 256 + 64 * 256 + 64 * 9  # weights; biases 256 + 9; scales 2·256 + 9
    assert f.weight_bytes == 4 * (n_w + 256 + 9)
    assert q.weight_bytes == n_w + 4 * (256 + 9) + 4 * (2 * 256 + 9)
    if H.have("arm-none-eabi-gcc"):
        assert q.m4_size["text"] < 0.32 * f.weight_bytes  # code + weights on a Cortex-M4


def test_names_cannot_break_the_comments(tmp_path):
    m = _built([LSTM(3, name="evil */ int x; /* ??/"), Dense(2)])
    export_c(m, tmp_path, source="a CSV column 'co2 */ #error'\nnext line", measure=False)
    H.compile_host(tmp_path)  # -Werror -pedantic: compiles, so every comment stayed one
