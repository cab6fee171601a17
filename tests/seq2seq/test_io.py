"""Seq2Seq files: save / load round trips (model and checkpoint), and files that are refused
(wrong kind, forged config, mismatched or missing tensors, truncation) — never a crash."""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from lstmkit.errors import ModelFileError
from lstmkit.optim import Adam
from lstmkit.seq2seq import BOS, Seq2Seq, Seq2SeqConfig
from lstmkit.seq2seq.io import (
    describe,
    load_checkpoint,
    load_seq2seq,
    param_count,
    save_checkpoint,
    save_seq2seq,
)

SRC = np.array([[1, 2, 3], [4, 5, 0]])
TIN = np.array([[BOS, 3, 4], [BOS, 5, 0]])
TOUT = np.array([[3, 4, 2], [5, 2, 0]])


@pytest.fixture(params=["luong", "bahdanau"])
def model(request):
    m = Seq2Seq(
        Seq2SeqConfig(
            10,
            8,
            embed_dim=4,
            units=8,
            encoder_layers=2,
            attention=request.param,
            attention_units=6,
            dropout=0.25,
            seed=3,
        )
    )
    m.flat_params[:] = np.random.default_rng(0).standard_normal(m.flat_params.size) * 0.3
    return m


def test_model_round_trip_and_parameter_count(tmp_path, model):
    assert param_count(model.config) == model.count_params()
    p = tmp_path / "m.safetensors"
    save_seq2seq(model, p)
    back = load_seq2seq(p)
    assert back.get_config() == model.get_config()
    np.testing.assert_array_equal(back.flat_params, model.flat_params)
    np.testing.assert_array_equal(back.forward(SRC, TIN), model.forward(SRC, TIN))
    d = describe(p)
    assert d["total_params"] == model.count_params()
    assert [layer["name"] for layer in d["layers"]][:3] == [
        "src_embedding",
        "encoder_0",
        "encoder_1",
    ]


def test_checkpoint_restores_the_optimizer(tmp_path, model):
    model.compile(Adam(1e-2, global_clipnorm=1.0))
    for _ in range(3):
        model.train_on_batch(SRC, TIN, TOUT)
    p = tmp_path / "c.safetensors"
    save_checkpoint(model, p, {"epoch": 2, "note": "x"})
    back, state = load_checkpoint(p)
    assert state == {"epoch": 2, "note": "x"}
    assert back.optimizer.iterations == 3
    # the next step is the same on both
    model.train_on_batch(SRC, TIN, TOUT)
    back.train_on_batch(SRC, TIN, TOUT)
    np.testing.assert_array_equal(back.flat_params, model.flat_params)
    with pytest.raises(ModelFileError, match="checkpoint"):  # a model file is not a checkpoint
        save_seq2seq(model, tmp_path / "m.safetensors")
        load_checkpoint(tmp_path / "m.safetensors")


def _forge(tmp_path, model, change_meta=None, change_tensors=None):
    src = tmp_path / "ok.safetensors"
    save_seq2seq(model, src)
    tensors = load_file(src)
    from safetensors import safe_open

    with safe_open(src, framework="np") as f:
        meta = dict(f.metadata())
    if change_meta:
        change_meta(meta)
    if change_tensors:
        change_tensors(tensors)
    out = tmp_path / "forged.safetensors"
    save_file(tensors, out, metadata=meta)
    return out


def _config(**kw):
    def change(meta):
        cfg = json.loads(meta["config"])
        cfg.update(kw)
        meta["config"] = json.dumps(cfg)

    return change


@pytest.mark.parametrize(
    "change_meta,change_tensors,needle",
    [
        (lambda m: m.update(kind="model"), None, "file kind"),
        (_config(units=65536), None, "asks for"),
        (_config(units=2**40), None, "config.units"),
        (_config(attention="eval('1')"), None, "config.attention"),
        (_config(units=True), None, "config.units"),
        (_config(extra=1), None, "config expected keys"),
        (lambda m: m.update(config="[1, 2"), None, "not valid JSON"),
        (None, lambda t: t.pop("output.bias"), "missing"),
        (None, lambda t: t.update({"output.extra": np.zeros(2, np.float32)}), "unexpected"),
        (None, lambda t: t.update({"output.bias": np.zeros(9, np.float32)}), "output.bias"),
        (None, lambda t: t.update({"optimizer.m._": np.zeros(2, np.float32)}), "optimizer"),
    ],
)
def test_forged_files_are_refused(tmp_path, model, change_meta, change_tensors, needle):
    with pytest.raises(ModelFileError, match=needle):
        load_seq2seq(_forge(tmp_path, model, change_meta, change_tensors))


def test_truncated_file_is_refused(tmp_path, model):
    p = tmp_path / "m.safetensors"
    save_seq2seq(model, p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_seq2seq(p)
