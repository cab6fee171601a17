"""The long-memory experiments: seeded, reproducible, and LSTM beats SimpleRNN on adding."""

import json

import numpy as np
import pytest

from lstmkit.apps.longmemory.job import train_one
from lstmkit.cli import main
from lstmkit.data import synthetic


def test_tasks_are_seeded_and_well_formed():
    x, y = synthetic.adding_problem(50, 30, seed=1)
    x2, y2 = synthetic.adding_problem(50, 30, seed=1)
    np.testing.assert_array_equal(x, x2)
    assert x.shape == (50, 30, 2) and y.shape == (50, 1)
    assert np.all(x[:, :, 1].sum(1) == 2)
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(1), rtol=1e-6)
    xc, yc = synthetic.copy_task(4, 10, n_symbols=6, n_copy=3, seed=0)
    assert xc.shape == (4, 16, 8) and yc.shape == (4, 16)
    np.testing.assert_array_equal(yc[:, -3:], xc[:, :3].argmax(-1))
    assert np.all(yc[:, :-3] == 0)
    xo, yo = synthetic.temporal_order(100, 40, seed=0)
    ids = xo.argmax(-1)
    rel = [row[(row == 4) | (row == 5)] - 4 for row in ids]
    assert all(len(r) == 2 for r in rel)
    np.testing.assert_array_equal(yo, [2 * r[0] + r[1] for r in rel])
    assert (
        synthetic.adding_solved(y[:, 0] + 0.01, y)[0]
        and not synthetic.adding_solved(np.ones_like(y), y)[0]
    )


def test_lstm_solves_adding_where_simple_rnn_does_not_and_is_reproducible():
    kw = dict(steps=400, seed=0, units=16, batch_size=32, eval_every=25, n_test=256)
    lstm = train_one("adding", 20, "lstm", **kw)
    rnn = train_one("adding", 20, "rnn", **kw)
    assert lstm["solved"] and lstm["final_error"] < 0.01
    assert not rnn["solved"] and rnn["final_error"] > 5 * lstm["final_error"]
    again = train_one("adding", 20, "lstm", **kw)
    assert again["curve"] == lstm["curve"] and again["steps_to_solve"] == lstm["steps_to_solve"]


def test_cli_runs_in_process_and_writes_json_and_plots(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(
        [
            "longmemory",
            "adding",
            "--length",
            "8",
            "--model",
            "lstm,rnn,slstm",
            "--steps",
            "40",
            "--units",
            "8",
            "--batch-size",
            "16",
            "--eval-every",
            "20",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    rep = json.loads((out / "longmemory.json").read_text())
    assert set(rep["models"]) == {"lstm", "rnn", "slstm"} and rep["length"] == 8
    for r in rep["models"].values():
        assert r["curve"]["step"] == [20, 40] and np.isfinite(r["final_error"])
    assert set(rep["gradient_flow"]) == {"lstm", "rnn", "slstm"}
    assert (out / "longmemory.png").stat().st_size > 1000
    assert (out / "gradient_flow.png").stat().st_size > 1000
    assert (out / "gradient_flow_init.png").stat().st_size > 1000
    assert (out / "gates_lstm.png").exists() and (out / "gates_slstm.png").exists()
    assert not (out / "gates_rnn.png").exists()
    assert set(rep["gradient_flow_at_init"]) == {"lstm", "rnn", "slstm"}
    assert "lstm" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["adding", "--length", "1"], "--length expected"),
        (["adding", "--model", "transformer"], "--model expected"),
        (["order", "--length", "10"], "--length expected"),
        (["adding", "--steps", "0"], "--steps expected"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(argv, msg, tmp_path, capsys):
    assert main(["longmemory", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["lstm", "peephole", "zoneout", "lstmp", "slstm", "cifg"])
def test_forget_bias_switch_reaches_every_lstm_like_cell(kind):
    from lstmkit.apps.longmemory.job import build_model

    H = 8
    for on in (True, False):
        model = build_model("adding", 10, kind, H, 0, unit_forget_bias=on)
        model.build((10, 2))
        b = model.layers[0].params[2]
        block = b[:H] if kind == "cifg" else b[H : 2 * H]  # CIFG: f = 1 − i, so b_i = −1
        want = (-1.0 if kind == "cifg" else 1.0) if on else 0.0
        np.testing.assert_array_equal(block, want)
