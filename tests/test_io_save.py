"""Save → load → predict is bit-identical; forged, truncated or pickled files are refused."""

import json
import pickle

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file
from safetensors.numpy import save as st_save

import lstmkit
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
    load_model,
)
from lstmkit.errors import ModelFileError


@pytest.fixture(autouse=True)
def no_pickle(monkeypatch):
    """Nothing in loading may ever unpickle."""

    def boom(*a, **k):
        raise AssertionError("pickle was called")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, boom)


def _models():
    return {
        "lstm_f32": (
            Sequential(
                [LSTM(6, return_sequences=True), LSTM(4), Dense(3, activation="softmax")], seed=0
            ),
            (5, 3),
            "float",
        ),
        "lstm_f64": (
            Sequential(
                [
                    LSTM(5, dtype="float64", return_sequences=True),
                    Dropout(0.2, dtype="float64"),
                    LSTM(3, dtype="float64"),
                    Dense(2, dtype="float64"),
                    Activation("tanh", dtype="float64"),
                ],
                seed=1,
            ),
            (4, 2),
            "float",
        ),
        "masked_embedding": (
            Sequential([Embedding(12, 4, mask_zero=True), LSTM(5), Dense(2)], seed=2),
            (7,),
            "ids",
        ),
        "bidirectional": (
            Sequential(
                [
                    Bidirectional(LSTM(4, return_sequences=True)),
                    Bidirectional(GRU(3), merge_mode="sum"),
                    Dense(2),
                ],
                seed=3,
            ),
            (6, 3),
            "float",
        ),
        "gru_simple_rnn": (
            Sequential([GRU(4, return_sequences=True), SimpleRNN(3), Dense(1)], seed=4),
            (5, 2),
            "float",
        ),
    }


def _inputs(kind, shape, dtype, rng):
    if kind == "ids":
        ids = rng.integers(1, 12, (6, *shape))
        ids[:, 4:] = 0  # padding
        return ids
    return rng.standard_normal((6, *shape)).astype(dtype)


@pytest.mark.parametrize("key", list(_models()))
def test_roundtrip_bit_identical(tmp_path, key):
    model, shape, kind = _models()[key]
    model.build(shape)
    model.flat_params[...] += 0.1  # not the initial values
    rng = np.random.default_rng(0)
    x = _inputs(kind, shape, model.layers[0].dtype, rng)
    path = tmp_path / "m.safetensors"
    model.save(path)
    back = load_model(path)
    assert np.array_equal(back.predict(x), model.predict(x))
    assert back.get_config()["layers"] == model.get_config()["layers"]
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temp file left
    with safe_open(str(path), framework="np") as f:
        meta = f.metadata()
        names = set(f.keys())
    assert meta["format"] == "lstmkit" and meta["format_version"] == "1"
    assert all(
        isinstance(e["type"], str) and "." not in e["type"] for e in json.loads(meta["config"])
    )
    want = {f"{i}.{n}" for i, layer in enumerate(model.layers) for n in layer.named_tensors()}
    assert names == want


def test_pytorch_names_open_in_torch(tmp_path):
    torch = pytest.importorskip("torch")
    m = Sequential([LSTM(5, dtype="float64"), Dense(2, dtype="float64")], seed=0)
    m.build((4, 3))
    m.flat_params[...] += 0.05
    m.save(tmp_path / "m.safetensors")
    t = load_file(str(tmp_path / "m.safetensors"))
    assert t["0.weight_ih_l0"].shape == (20, 3) and t["0.weight_hh_l0"].shape == (20, 5)
    lstm = torch.nn.LSTM(3, 5, batch_first=True).double()
    lstm.load_state_dict({k[2:]: torch.tensor(v) for k, v in t.items() if k.startswith("0.")})
    x = np.random.default_rng(1).standard_normal((2, 4, 3))
    want = lstm(torch.tensor(x))[0][:, -1].detach().numpy()
    got = m.layers[0].forward(x)
    assert np.abs(got - want).max() < 1e-12


def test_compiled_model_keeps_training_config(tmp_path):
    m = Sequential([LSTM(3), Dense(2)])
    m.compile(
        lstmkit.optim.Adam(
            learning_rate=lstmkit.optim.ExponentialDecay(0.01, 10, 0.5), clipnorm=1.0
        ),
        "huber",
        metrics=["mae"],
    )
    m.build((4, 2))
    m.save(tmp_path / "m.safetensors")
    back = load_model(tmp_path / "m.safetensors")
    assert type(back.optimizer) is lstmkit.optim.Adam
    assert back.optimizer.get_config() == m.optimizer.get_config()
    assert type(back.loss) is lstmkit.losses.Huber and [x.name for x in back.metrics] == ["mae"]


# ------------------------------------------------------------------ refusals
def _valid(tmp_path):
    m = Sequential([LSTM(4, return_sequences=True), LSTM(3), Dense(2)], seed=0)
    m.build((5, 3))
    path = tmp_path / "ok.safetensors"
    m.save(path)
    with safe_open(str(path), framework="np") as f:
        meta = dict(f.metadata())
    return load_file(str(path)), meta, path


def _write(tmp_path, tensors, meta, name="bad.safetensors"):
    p = tmp_path / name
    p.write_bytes(st_save(tensors, metadata=meta))
    return p


def test_pickle_file_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    data = pickle.dumps(Evil())
    for name in ("model.safetensors", "model.pkl"):
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(ModelFileError, match="header length|too short|not valid JSON"):
            load_model(p)
    assert not marker.exists()


@pytest.mark.parametrize(
    "forge,match",
    [
        (lambda c: c[0].update(type="Conv2D"), "not on the allow-list"),
        (lambda c: c[0].update(type="os.system"), "not on the allow-list"),
        (lambda c: c[0].update(type="lstmkit.layers.recurrent.LSTM"), "not on the allow-list"),
        (lambda c: c[0]["config"].update(units=10**12), "outside 0..65536"),
        (lambda c: c[1]["config"].update(units=60000), "asks for at least"),
        (lambda c: c[2]["config"].update(__class__="os.system"), "unknown config keys"),
        (
            lambda c: c[2]["config"].update(activation={"class_name": "Lambda", "code": "x"}),
            "expected a number, string",
        ),
        (lambda c: c[2]["config"].update(activation="os.system"), "not describe a valid model"),
        (lambda c: c[0]["config"].update(dtype="object"), "dtype must be"),
        (
            lambda c: c.append(
                {
                    "type": "Bidirectional",
                    "config": {"layer": {"type": "Dense", "config": {"units": 2}}},
                }
            ),
            "needs a recurrent layer",
        ),
        (lambda c: c[0].update(extra=1), "keys 'type' and 'config'"),
    ],
    ids=[
        "unknown",
        "os.system",
        "class-path",
        "absurd-units",
        "big-units-small-file",
        "extra-key",
        "nested-object",
        "bad-activation",
        "bad-dtype",
        "bidir-dense",
        "entry-keys",
    ],
)
def test_forged_config_refused_before_building(tmp_path, monkeypatch, forge, match):
    tensors, meta, _ = _valid(tmp_path)
    cfg = json.loads(meta["config"])
    forge(cfg)
    meta["config"] = json.dumps(cfg)
    p = _write(tmp_path, tensors, meta)
    if match != "not describe a valid model":

        def no_build(*a, **k):
            raise AssertionError("a layer was built from a forged config")

        monkeypatch.setattr(Sequential, "build", no_build)
    with pytest.raises(ModelFileError, match=match):
        load_model(p)


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda t, m: t.pop("1.weight_hh_l0"), "missing"),
        (lambda t, m: t.update({"7.weight": np.zeros(3, np.float32)}), "unexpected"),
        (
            lambda t, m: t.update({"2.kernel": np.zeros((2, 3), np.float32)}),
            r"expected F32 \(3, 2\)",
        ),
        (lambda t, m: t.update({"2.bias": np.zeros(2, np.float64)}), "expected F32"),
        (lambda t, m: t.update({"2.bias": np.zeros(2, np.float16)}), "dtype 'F16'"),
        (lambda t, m: t.update({"2.bias": np.zeros(2, np.int32)}), "dtype 'I32'"),
        (lambda t, m: m.update(format="pytorch"), "format is 'pytorch'"),
        (lambda t, m: m.update(format_version="99"), "not supported"),
        (lambda t, m: m.update(config="{not json"), "not valid JSON"),
        (lambda t, m: m.pop("config"), "no 'config'"),
        (lambda t, m: m.update(input_shape="[1e9]"), "input_shape"),
        (lambda t, m: m.update(kind="script"), "unknown file kind"),
    ],
    ids=[
        "missing",
        "extra",
        "shape",
        "dtype-mismatch",
        "f16",
        "i32",
        "format",
        "version",
        "config-json",
        "no-config",
        "input-shape",
        "kind",
    ],
)
def test_bad_tensors_and_metadata_refused(tmp_path, change, match):
    tensors, meta, _ = _valid(tmp_path)
    change(tensors, meta)
    with pytest.raises(ModelFileError, match=match):
        load_model(_write(tmp_path, tensors, meta))


def _raw(path):
    b = path.read_bytes()
    n = int.from_bytes(b[:8], "little")
    return b[8 : 8 + n], b[8 + n :]


def _assemble(header: bytes, data: bytes) -> bytes:
    return len(header).to_bytes(8, "little") + header + data


def test_structural_damage_refused(tmp_path):
    _, _, ok = _valid(tmp_path)
    head, data = _raw(ok)
    cases = {
        "truncated": (ok.read_bytes()[:-10], "cover|outside"),
        "header-longer-than-file": (ok.read_bytes()[: 8 + len(head) // 2], "larger than the file"),
        "tiny": (b"\x01\x02", "too short"),
        "empty": (b"", "too short"),
        "not-json": (_assemble(b"{this is not json}", data), "not valid JSON"),
        "not-object": (_assemble(b"[1, 2, 3]", b""), "JSON object"),
        "trailing-bytes": (ok.read_bytes() + b"\0" * 16, "cover"),
    }
    h = json.loads(head)
    name = next(k for k in h if k != "__metadata__")
    dup = b'{"' + name.encode() + b'": ' + json.dumps(h[name]).encode() + b", " + head[1:]
    cases["duplicate-tensor"] = (_assemble(dup, data), "appears twice")
    h2 = json.loads(head)
    h2[name]["data_offsets"] = [0, 10**12]
    cases["offset-outside"] = (_assemble(json.dumps(h2).encode(), data), "outside")
    h3 = json.loads(head)
    h3[name]["shape"] = [2**20, 2**20, 2**20]
    cases["absurd-shape"] = (_assemble(json.dumps(h3).encode(), data), "elements|sizes")
    for label, (blob, match) in cases.items():
        p = tmp_path / f"{label}.safetensors"
        p.write_bytes(blob)
        with pytest.raises(ModelFileError, match=match):
            load_model(p)
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "does-not-exist.safetensors")


def _recurrent_types():
    from lstmkit.layers import LAYER_TYPES, Recurrent

    return sorted(n for n, c in LAYER_TYPES.items() if issubclass(c, Recurrent))


@pytest.mark.parametrize("name", _recurrent_types())
def test_every_allow_listed_cell_roundtrips(tmp_path, name):
    from lstmkit.layers import LAYER_TYPES

    cls = LAYER_TYPES[name]
    kw = {"proj_size": 2} if name == "LSTMP" else {}
    m = Sequential(
        [cls(5, return_sequences=True, **kw), Bidirectional(cls(3, **kw)), Dense(2)], seed=0
    )
    m.build((4, 3))
    m.flat_params[...] += 0.01
    x = np.random.default_rng(0).standard_normal((3, 4, 3)).astype(np.float32)
    m.save(tmp_path / "m.safetensors")
    assert np.array_equal(load_model(tmp_path / "m.safetensors").predict(x), m.predict(x))
