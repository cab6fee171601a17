"""torch.nn.LSTM / GRU / RNN → lstmkit → torch: equal outputs to 1e-10 in float64, and a
clear error (never a wrong model) for every option lstmkit cannot compute."""

import itertools

import numpy as np
import pytest
from tests.io._errors import record

torch = pytest.importorskip("torch")

from lstmkit.errors import UserError  # noqa: E402
from lstmkit.io.torch_interop import (
    TimeMajorModel,
    from_torch,
    to_torch,  # noqa: E402
    to_torch_module,
)
from lstmkit.model import Sequential  # noqa: E402

D, H, B, T = 3, 5, 4, 7


def _module(kind, **kw):
    torch.manual_seed(hash((kind, tuple(sorted(kw.items())))) % 2**31)
    m = getattr(torch.nn, kind)(D, H, **kw).double().eval()
    with torch.no_grad():  # random non-zero biases everywhere
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    return m


def _x(batch_first, seed=0):
    x = np.random.default_rng(seed).standard_normal((B, T, D))
    return x if batch_first else x.transpose(1, 0, 2).copy()


def _check(m, model, batch_first):
    x = _x(batch_first)
    with torch.no_grad():
        want = m(torch.from_numpy(x))[0].numpy()
    got = model.predict(x)
    assert got.shape == want.shape
    err = np.max(np.abs(got - want))
    record("lstmkit − torch", err)
    assert err < 1e-10, err
    back = to_torch_module(model)  # lstmkit → torch
    with torch.no_grad():
        again = back(torch.from_numpy(x))[0].numpy()
    err2 = np.max(np.abs(again - want))
    record("lstmkit − torch", err2)
    assert err2 < 1e-10, err2


@pytest.mark.parametrize(
    "kind,num_layers,bidirectional,batch_first,bias",
    [
        c
        for c in itertools.product(
            ("LSTM", "GRU", "RNN"), (1, 2, 3), (False, True), (True, False), (True, False)
        )
    ],
)
def test_round_trip(kind, num_layers, bidirectional, batch_first, bias):
    m = _module(
        kind, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias
    )
    model = from_torch(m)
    assert isinstance(model, Sequential if batch_first else TimeMajorModel)
    assert model.layers[0].dtype == np.float64
    _check(m, model, batch_first)


@pytest.mark.parametrize(
    "num_layers,bidirectional,batch_first",
    [(1, False, True), (2, True, True), (3, False, False), (2, True, False)],
)
def test_round_trip_proj_size(num_layers, bidirectional, batch_first):
    m = _module(
        "LSTM",
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        proj_size=2,
    )
    model = from_torch(m)
    assert type(model.layers[-1]).__name__ in ("LSTMP", "Bidirectional")
    _check(m, model, batch_first)


def test_state_dict_of_numpy_arrays_and_time_major_false():
    m = _module("GRU", num_layers=2, bidirectional=True)  # batch_first=False
    sd = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    model = from_torch(
        sd, mode="GRU", hidden_size=H, num_layers=2, bidirectional=True, time_major=False
    )
    assert isinstance(model, Sequential)
    x = _x(True)
    with torch.no_grad():
        want = m(torch.from_numpy(x.transpose(1, 0, 2).copy()))[0].numpy().transpose(1, 0, 2)
    assert np.max(np.abs(model.predict(x) - want)) < 1e-10


def test_to_torch_state_dict_loads_into_plain_module_and_float32():
    m = _module("LSTM", num_layers=2, batch_first=True).float()
    model = from_torch(m)
    assert model.layers[0].dtype == np.float32
    sd, hp = to_torch(model)
    assert hp == {
        "type": "LSTM",
        "input_size": D,
        "hidden_size": H,
        "num_layers": 2,
        "bias": True,
        "batch_first": True,
        "bidirectional": False,
    }
    fresh = torch.nn.LSTM(**{k: v for k, v in hp.items() if k != "type"})
    fresh.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})  # strict
    x = torch.from_numpy(_x(True).astype(np.float32))
    with torch.no_grad():
        assert torch.allclose(fresh(x)[0], m(x)[0], atol=1e-6)


def test_last_layer_without_sequences_is_h_n():
    from lstmkit.layers import LSTM, Bidirectional

    model = Sequential(
        [
            Bidirectional(LSTM(H, return_sequences=True, dtype="float64")),
            Bidirectional(LSTM(H, dtype="float64")),
        ]
    )
    x = _x(True)
    y = model.predict(x)  # (B, 2H)
    m = to_torch_module(model)
    with torch.no_grad():
        _, (h_n, _) = m(torch.from_numpy(x))
    want = torch.cat([h_n[-2], h_n[-1]], dim=-1).numpy()
    assert np.max(np.abs(y - want)) < 1e-10


def test_unsupported_torch_options_are_refused():
    with pytest.raises(UserError, match="nonlinearity='relu'"):
        from_torch(torch.nn.RNN(D, H, nonlinearity="relu"))
    with pytest.raises(UserError, match="expected a torch.nn.LSTM, GRU or RNN"):
        from_torch(torch.nn.Linear(D, H))

    class MyLSTM(torch.nn.LSTM):
        pass

    with pytest.raises(UserError, match="MyLSTM"):
        from_torch(MyLSTM(D, H))
    m = torch.nn.LSTM(D, H).half()
    with pytest.raises(UserError, match="float32 or float64"):
        from_torch(m)
    sd = torch.nn.LSTM(D, H, num_layers=2).state_dict()
    with pytest.raises(UserError, match="missing.*weight_ih_l1"):
        from_torch(
            {k: v for k, v in sd.items() if not k.endswith("l1")},
            mode="LSTM",
            hidden_size=H,
            num_layers=2,
        )
    with pytest.raises(UserError, match="unexpected.*l1"):
        from_torch(sd, mode="LSTM", hidden_size=H)  # num_layers=1
    with pytest.raises(UserError, match=r"weight_ih_l0.*expected shape \(24, 3\), got \(20, 3\)"):
        from_torch(torch.nn.LSTM(D, H).state_dict(), mode="LSTM", hidden_size=6)
    with pytest.raises(UserError, match="needs mode="):
        from_torch(sd)
    with pytest.raises(UserError, match="proj_size is an LSTM option"):
        from_torch(torch.nn.GRU(D, H).state_dict(), mode="GRU", hidden_size=H, proj_size=2)


def test_unsupported_lstmkit_models_are_refused_by_to_torch():
    from lstmkit.layers import GRU, LSTM, Bidirectional, Dense

    cases = [
        ([LSTM(4, return_sequences=True), Dense(2)], "Dense"),
        ([LSTM(4, return_sequences=True), GRU(4)], "same cell"),
        ([LSTM(4, return_sequences=True), LSTM(5)], "same cell"),
        ([LSTM(4, go_backwards=True)], "go_backwards"),
        ([Bidirectional(LSTM(4), merge_mode="sum")], "merge_mode='sum'"),
    ]
    for layers, needle in cases:
        model = Sequential(layers)
        model.build((None, D))
        with pytest.raises(UserError, match=needle):
            to_torch(model)
