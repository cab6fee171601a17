"""`lstmkit explain`: the numbers on the page are the model's, the CLI's forms and errors."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from lstmkit.apps.explain import cli as explain_cli
from lstmkit.apps.explain import job as explain
from lstmkit.apps.explain.builtin import DEFAULT_TEXT, depth, one_hot, train_bracket_counter
from lstmkit.apps.explain.html import render_html
from lstmkit.cli import main
from lstmkit.layers import LSTM, Bidirectional, Dense, Embedding


def page_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="lstm-data">(.*?)</script>', html, re.S)
    assert m, "the page embeds its data as JSON"
    return json.loads(m.group(1))


def sig(z):
    return 1 / (1 + np.exp(-z))


def check_equations(d: dict, atol=2e-5):
    """The page's vectors obey the LSTM equations, step by step."""
    A = {k: np.array(d[k]) for k in ("i", "f", "g", "o", "c", "h", "z_i", "z_f", "z_g", "z_o")}
    c_prev = np.vstack([np.array(d["c0"])[None], A["c"][:-1]])
    np.testing.assert_allclose(A["i"], sig(A["z_i"]), atol=atol)
    np.testing.assert_allclose(A["f"], sig(A["z_f"]), atol=atol)
    np.testing.assert_allclose(A["g"], np.tanh(A["z_g"]), atol=atol)
    np.testing.assert_allclose(A["o"], sig(A["z_o"]), atol=atol)
    np.testing.assert_allclose(A["c"], A["f"] * c_prev + A["i"] * A["g"], atol=atol)
    np.testing.assert_allclose(A["h"], A["o"] * np.tanh(A["c"]), atol=atol)
    return A


def recompute_z(d, layer, x):
    """z_t = x_t·W_x + h_{t-1}·W_h + b from the layer's own weights and the page's h."""
    W_x, W_h, b = (np.asarray(p, np.float64) for p in layer.get_weights())
    h = np.array(d["h"])
    h_prev = np.vstack([np.array(d["h0"])[None], h[:-1]])
    z = np.asarray(x, np.float64) @ W_x + h_prev @ W_h + b
    H = layer.units
    return {g: z[:, n * H : (n + 1) * H] for n, g in enumerate("ifgo")}


@pytest.fixture(scope="module")
def counter():
    return train_bracket_counter(seed=0)


def test_builtin_page_numbers_are_the_layers(counter):
    model, info = counter
    lstm, dense = model.layers
    x = one_hot(DEFAULT_TEXT)
    html = render_html(
        explain.explain_data(model, x, list(DEFAULT_TEXT), step=3, source="built-in", info=info)
    )
    d = page_data(html)
    assert d["tokens"] == list(DEFAULT_TEXT) and d["step"] == 3 and d["T"] == len(DEFAULT_TEXT)
    A = check_equations(d)
    # the pre-activations are W·[h_{t-1}, x_t] + b with the layer's weights and the real input
    for g, z in recompute_z(d, lstm, x[0]).items():
        np.testing.assert_allclose(A[f"z_{g}"], z, atol=2e-5)
    # and h is what the layer's ordinary forward pass returns
    np.testing.assert_allclose(A["h"], lstm.forward(x)[0], atol=1e-6)
    np.testing.assert_allclose(d["x"], x[0], atol=0)


def test_builtin_example_learned_to_count(counter):
    """The example is meaningful: the Dense reading h_t gives the depth, and one unit's
    c_t follows the depth on the page's own input."""
    model, info = counter
    lstm, dense = model.layers
    x = one_hot(DEFAULT_TEXT)
    pred = dense.forward(lstm.forward(x))[0, :, 0]
    assert np.max(np.abs(pred - depth(DEFAULT_TEXT))) < 0.5  # rounds to the right depth
    d = explain.explain_data(model, x, list(DEFAULT_TEXT))
    c = np.array(d["c"])[:, info["counter"]]
    assert abs(np.corrcoef(c, depth(DEFAULT_TEXT))[0, 1]) > 0.9


def test_deeper_model_layer_two_and_embedding():
    """--layer 2 of Embedding → LSTM → LSTM: layer 2's input is layer 1's output sequence."""
    emb = Embedding(6, 5, seed=1, dtype="float64")
    l1 = LSTM(7, return_sequences=True, seed=2, dtype="float64")
    l2 = LSTM(3, return_sequences=True, seed=3, dtype="float64")
    model = SimpleNamespace(layers=[emb, l1, l2, Dense(2, seed=4, dtype="float64")])
    ids = np.array([[1, 4, 2, 5, 0, 3]])
    model.layers[3].forward(l2.forward(l1.forward(emb.forward(ids))))  # build everything
    l2.params[2][...] = np.random.default_rng(0).normal(size=12)  # non-zero biases
    d = explain.explain_data(model, ids, list("abcdef"), layer=2, unit=2, step=6)
    A = check_equations(d, atol=1e-6)
    x2 = l1.forward(emb.forward(ids))[0]
    np.testing.assert_allclose(d["x"], x2, atol=1e-6)
    for g, z in recompute_z(d, l2, x2).items():
        np.testing.assert_allclose(A[f"z_{g}"], z, atol=1e-6)
    np.testing.assert_allclose(A["h"], l2.forward(x2[None])[0], atol=1e-6)
    assert d["layer"]["number"] == 2 and d["layer"]["of"] == 2 and d["unit"] == 2


def test_backwards_layer_is_shown_in_its_reading_order():
    bi = Bidirectional(LSTM(4, return_sequences=True, seed=5, dtype="float64"))
    model = SimpleNamespace(layers=[bi])
    x = np.random.default_rng(1).normal(size=(1, 5, 3))
    bi.forward(x)
    d = explain.explain_data(model, x, list("vwxyz"), layer=2)  # the backward half
    check_equations(d, atol=1e-6)
    assert d["layer"]["go_backwards"] and d["tokens"] == list("zyxwv")
    # a go_backwards layer's own output sequence is in its processing order (Keras)
    np.testing.assert_allclose(d["h"], bi.backward_layer.forward(x)[0], atol=1e-6)


def test_model_without_lstm_is_a_user_error():
    model = SimpleNamespace(layers=[Dense(3, seed=0)])
    with pytest.raises(
        explain_cli.UserError, match="expected a model with an LSTM layer, got layers: Dense"
    ):
        explain.explain_data(model, np.zeros((1, 4, 2)), list("abcd"))


# ------------------------------------------------------------------ CLI
@pytest.fixture(autouse=True)
def _train_once(request, monkeypatch):
    """CLI tests reuse the module's trained example (training itself is tested above)."""
    if "capsys" in request.fixturenames:
        trained = request.getfixturevalue("counter")
        monkeypatch.setattr(
            "lstmkit.apps.explain.cli.train_bracket_counter", lambda seed=0, **kw: trained
        )


def run_cli(capsys, *argv):
    code = main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_a_self_contained_page(tmp_path, capsys):
    out = tmp_path / "page.html"
    code, stdout, err = run_cli(capsys, "--input", "((a)b)", "--step", "4", "--out", str(out))
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    d = page_data(html)
    assert d["tokens"] == list("((a)b)") and d["step"] == 4
    check_equations(d)
    # no network: nothing loaded from elsewhere (the SVG namespace URI is a name, not a fetch)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script src" not in html and "@import" not in html
    for s in ("forget", "input", "cell", "output"):
        assert f'id="stage-{s}"' in html
    assert str(out) in stdout


def test_cli_text_form_prints_the_four_stages(capsys):
    code, out, err = run_cli(capsys, "--format", "text", "--step", "3", "--unit", "2")
    assert code == 0, err
    titles = [
        "1 · Forget gate",
        "2 · Input gate and candidate",
        "3 · Cell state update",
        "4 · Output gate",
    ]
    pos = [out.index(t) for t in titles]
    assert pos == sorted(pos)  # the seeds' order
    for eq in (
        "f_t = σ(W_f·[h_{t-1}, x_t] + b_f)",
        "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t",
        "h_t = o_t ⊙ tanh(c_t)",
    ):
        assert eq in out
    rows = [ln for ln in out.splitlines() if ln.startswith(" ▶ ")]
    assert len(rows) == 4 and all(r.split()[1] == "2" for r in rows)  # the chosen unit, each stage
    # the cell-stage row: f⊙c_{t-1} + i⊙g = c_t, as printed
    fc, ig, c = map(float, rows[2].split()[2:5])
    assert abs(fc + ig - c) < 2e-4


def test_cli_chinese(tmp_path, capsys):
    code, out, err = run_cli(capsys, "--format", "text", "--lang", "zh", "--step", "2")
    assert code == 0, err
    for word in ("遗忘门", "输入门", "细胞状态", "输出门", "候选值", "隐藏状态"):
        assert word in out
    assert "f_t = σ(W_f·[h_{t-1}, x_t] + b_f)" in out  # same equations
    page = tmp_path / "zh.html"
    assert run_cli(capsys, "--lang", "zh", "--out", str(page))[0] == 0
    html = page.read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html and "遗忘门" in html and "细胞状态" in html
    assert "Forget gate" not in html


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--step", "99"], "--step 99 is outside the input: it has 14 time step(s), choose 1…14"),
        (["--step", "0", "--input", "(a)"], "--step 0 is outside the input: it has 3 time step(s)"),
        (["--input", "(x)!"], "--input has character(s) the model never saw: '!x'"),
        (["--unit", "9", "--format", "text"], "--unit 9: the layer has 4 units, choose 0…3"),
        (["--layer", "2", "--format", "text"], "--layer 2: the model has 1 LSTM layer(s)"),
        (["--csv", "x.csv"], "--csv needs a MODEL"),
    ],
)
def test_cli_errors_are_one_line_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cli_bad_model_files(tmp_path, capsys):
    missing = tmp_path / "nope.safetensors"
    code, _, err = run_cli(capsys, str(missing), "--input", "ab")
    assert code == 2 and "no such model file" in err and "Traceback" not in err
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01 this is not a safetensors file" * 3)
    code, _, err = run_cli(capsys, str(junk), "--input", "ab")
    assert code == 2 and str(junk) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------ saved models
def save_job(tmp_path, layers, input_shape, meta, name="run"):
    """A job directory as the apps write it: model.safetensors + model.json."""
    from lstmkit import Sequential
    from lstmkit.apps.shared.modelfiles import save_job_model as save_model

    model = Sequential(layers)
    model.build(input_shape)
    out = tmp_path / name
    out.mkdir()
    save_model(model, str(out), meta)
    return out, model


def test_saved_char_model(tmp_path, capsys):
    chars = "abc "
    out, model = save_job(
        tmp_path,
        [Embedding(4, 3, seed=1), LSTM(5, return_sequences=True, seed=2), Dense(4, seed=3)],
        (None,),
        {"task": "textgen", "chars": chars},
    )
    page = tmp_path / "p.html"
    code, _, err = run_cli(capsys, str(out), "--input", "cab a", "--step", "5", "--out", str(page))
    assert code == 0, err
    d = page_data(page.read_text(encoding="utf-8"))
    check_equations(d)
    ids = np.array([[chars.index(ch) for ch in "cab a"]])
    emb, lstm = model.layers[0], model.layers[1]
    np.testing.assert_allclose(d["h"], lstm.forward(emb.forward(ids))[0], atol=1e-6)
    assert d["tokens"] == list("cab a") and d["source"] == str(out)
    # the model file itself (sidecar found beside it) and a character it never saw
    code, _, err = run_cli(
        capsys, str(out / "model.safetensors"), "--input", "abz", "--format", "text"
    )
    assert code == 2 and "never saw: 'z'" in err and len(err.strip().splitlines()) == 1


def test_saved_forecast_model_reads_the_jobs_window(tmp_path, capsys):
    from lstmkit.apps.forecast import job as fc
    from lstmkit.data.csv import read_table

    meta = {
        "task": "forecast",
        "target": "y",
        "time": "month",
        "covariates": ["u"],
        "lookback": 5,
        "horizon": 2,
        "season": 1,
        "diff_mean": 0.3,
        "diff_std": 1.7,
        "cov_scaler": {"mean": [2.0], "std": [0.5]},
    }
    out, model = save_job(tmp_path, [LSTM(6, seed=4), Dense(2, seed=5)], (None, 2), meta)
    rng = np.random.default_rng(0)
    csv = tmp_path / "recent.csv"
    csv.write_text(
        "month,y,u\n" + "".join(f"m{k},{rng.normal():.4f},{rng.normal():.4f}\n" for k in range(9))
    )
    code, stdout, err = run_cli(
        capsys, str(out), "--csv", str(csv), "--format", "text", "--step", "5"
    )
    assert code == 0, err
    assert "4 · Output gate" in stdout
    d = explain_cli.prepare(
        SimpleNamespace(
            model=str(out), input=None, csv=str(csv), step=5, unit=None, layer=1, lang="en", seed=0
        )
    )
    s = fc.load_series(
        read_table(csv), fc.ForecastConfig(target="y", time="month", covariates=["u"]), "r"
    )
    feats = fc.features(s, 0.3, 1.7, fc.StandardScaler.from_dict(meta["cov_scaler"]))
    want = fc.windows_at(feats, [8], 5)[0]  # what the forecast job feeds
    np.testing.assert_allclose(d["x"], want, atol=1e-6)
    assert d["tokens"] == [f"m{k}" for k in range(4, 9)]
    check_equations(d)
    # a text input for a model of numbers
    code, _, err = run_cli(capsys, str(out), "--input", "abc")
    assert code == 2 and "--csv" in err


def test_saved_model_without_lstm(tmp_path, capsys):
    out, _ = save_job(tmp_path, [Dense(3, seed=0)], (4, 2), {"task": "other"})
    code, _, err = run_cli(capsys, str(out), "--input", "ab")
    assert code == 2 and "expected a model with an LSTM layer, got layers: Dense" in err
    assert "Traceback" not in err


def test_safetensors_that_is_not_an_lstmkit_model(tmp_path, capsys):
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": np.zeros((2, 2), np.float32)}, str(path))
    code, _, err = run_cli(capsys, str(path), "--input", "ab")
    assert code == 2 and str(path) in err and len(err.strip().splitlines()) == 1


def test_lstm_variant_before_the_lstm_is_skipped():
    """Only plain LSTMs are shown (a variant's z is not x·W_x + h·W_h + b); --layer 1 is the
    first plain LSTM even when trace() also reports a variant before it."""
    from lstmkit.layers.variants import PeepholeLSTM

    pe = PeepholeLSTM(5, return_sequences=True, seed=1, dtype="float64")
    ls = LSTM(3, return_sequences=True, seed=2, dtype="float64")
    x = np.random.default_rng(2).normal(size=(1, 6, 2))
    d = explain.explain_data(SimpleNamespace(layers=[pe, ls]), x, list("abcdef"))
    check_equations(d, atol=1e-6)
    assert d["layer"]["units"] == 3 and d["layer"]["of"] == 1
    np.testing.assert_allclose(d["h"], ls.forward(pe.forward(x))[0], atol=1e-6)


def test_non_finite_values_are_reported_not_crashed():
    ls = LSTM(3, return_sequences=True, seed=0)
    x = np.ones((1, 4, 2), np.float32)
    x[0, 2, 1] = np.inf  # e.g. an overflowed CSV value at step 3
    with pytest.raises(explain_cli.UserError, match="NaN or inf from step 3 on"):
        explain.explain_data(SimpleNamespace(layers=[ls]), x, list("abcd"))
