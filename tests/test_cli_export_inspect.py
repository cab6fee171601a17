"""`lstmkit export` and `lstmkit inspect` in-process: a real export checked in ONNX Runtime,
the inspect report (text and JSON, lstmkit and Keras files), and bad files → exit 2, one line."""

import io
import json
import zipfile

import numpy as np
import pytest

from cli_helpers import assert_user_error, run_cli
from lstmkit import GRU, LSTM, Bidirectional, Dense, Embedding, Sequential
from lstmkit.layers.variants import LSTMP


def _saved(tmp_path, layers, shape, name="model.safetensors"):
    model = Sequential(layers, seed=0)
    model.build(shape)
    path = tmp_path / name
    model.save(path)
    return model, path


def test_export_writes_a_graph_onnxruntime_runs(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    model, path = _saved(
        tmp_path,
        [Bidirectional(LSTM(5, return_sequences=True)), GRU(4), Dense(2, activation="softmax")],
        (None, 3),
    )
    out = tmp_path / "m.onnx"
    rc, stdout, err = run_cli(capsys, "export", path, "--onnx", out, "--verify")
    assert rc == 0, err
    assert "checker passed" in stdout and "x (batch, time, 3)" in stdout
    diff = float(stdout.split("max |onnxruntime − predict| = ")[1])
    assert diff < 1e-5
    x = np.random.default_rng(1).standard_normal((4, 9, 3)).astype(np.float32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.max(np.abs(got - model.predict(x))) < 1e-5


def test_export_masked_text_model_from_its_directory(tmp_path, capsys):
    _saved(tmp_path, [Embedding(20, 4, mask_zero=True), LSTM(3), Dense(1)], (None,))
    rc, stdout, err = run_cli(
        capsys, "export", tmp_path, "--onnx", tmp_path / "t.onnx", "--opset", "18", "--verify"
    )
    assert rc == 0, err
    assert "ids (batch, time)" in stdout and "opset 18" in stdout


def test_inspect_lstmkit_file_text_and_json(tmp_path, capsys):
    model, path = _saved(tmp_path, [LSTM(6, return_sequences=True), LSTM(4), Dense(1)], (None, 2))
    model.compile("adam", "mse")
    model.save(path)
    (tmp_path / "model.json").write_text(
        json.dumps({"lstmkit_task": "forecast", "lookback": 24, "vocab": ["a"] * 500})
    )
    rc, stdout, err = run_cli(capsys, "inspect", path)
    assert rc == 0, err
    assert "lstmkit model file, format version 1" in stdout
    assert "lstm (LSTM)" in stdout and "weight_ih_l0 (24, 2)" in stdout
    assert f"total parameters: {model.count_params():,}" in stdout
    assert (
        '"lstmkit_task": "forecast"' in stdout
        and "compiled with: Adam(learning_rate=0.001), loss MeanSquaredError" in stdout
    )
    rc, stdout, _ = run_cli(capsys, "inspect", tmp_path, "--json")
    d = json.loads(stdout)
    assert d["total_params"] == model.count_params() == sum(row["params"] for row in d["layers"])
    assert [row["output_shape"] for row in d["layers"]] == [[None, None, 6], [None, 4], [None, 1]]
    assert d["origin"]["job"] == {"lstmkit_task": "forecast", "lookback": 24}
    assert len(d["sha256"]) == 64


def _keras_archive(path):
    """A .keras archive in Keras 3's layout, written with h5py (no Keras needed)."""
    h5py = pytest.importorskip("h5py")
    cfg = {
        "class_name": "Sequential",
        "config": {
            "name": "tiny",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": [None, None, 3]}},
                {
                    "class_name": "LSTM",
                    "config": {"name": "lstm", "units": 4, "return_sequences": True},
                },
                {"class_name": "LSTM", "config": {"name": "lstm_b", "units": 2}},
                {
                    "class_name": "Dense",
                    "config": {"name": "out", "units": 1, "activation": "linear"},
                },
            ],
        },
    }
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for key, shapes in (
            ("lstm", [(3, 16), (4, 16), (16,)]),
            ("lstm_1", [(4, 8), (2, 8), (8,)]),
        ):
            for k, s in enumerate(shapes):
                f[f"layers/{key}/cell/vars/{k}"] = rng.standard_normal(s).astype(np.float32)
        f["layers/dense/vars/0"] = rng.standard_normal((2, 1)).astype(np.float32)
        f["layers/dense/vars/1"] = np.zeros(1, np.float32)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(cfg))
        z.writestr("model.weights.h5", buf.getvalue())


def test_inspect_keras_archive(tmp_path, capsys):
    _keras_archive(tmp_path / "tiny.keras")
    rc, stdout, err = run_cli(capsys, "inspect", tmp_path / "tiny.keras")
    assert rc == 0, err
    assert "Keras 3 .keras archive" in stdout and '"keras_version": "3.15.1"' in stdout
    assert "lstm_b (LSTM)" in stdout and "out (Dense)" in stdout
    assert f"total parameters: {(3 + 4 + 1) * 16 + (4 + 2 + 1) * 8 + 3}" in stdout


def test_bad_files_exit_2_with_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    for argv in (
        ["inspect", junk],
        ["export", junk, "--onnx", tmp_path / "o.onnx"],
        ["inspect", tmp_path / "missing.safetensors"],
        ["inspect", tmp_path],  # a directory without a model
        ["export", junk, "--onnx", tmp_path / "no" / "dir" / "o.onnx"],
    ):
        rc, _, err = run_cli(capsys, *argv)
        assert_user_error(rc, err)
    (tmp_path / "bad.keras").write_bytes(b"PK\x03\x04 truncated")
    rc, _, err = run_cli(capsys, "inspect", tmp_path / "bad.keras")
    assert_user_error(rc, err, "not a .keras archive")
    _, path = _saved(
        tmp_path,
        [LSTMP(6, proj_size=3, return_sequences=True), Dense(1)],
        (None, 2),
        name="proj.safetensors",
    )
    rc, _, err = run_cli(capsys, "export", path, "--onnx", tmp_path / "p.onnx")
    assert_user_error(rc, err, "LSTMP", "no ONNX operator")
    assert not (tmp_path / "p.onnx").exists()
