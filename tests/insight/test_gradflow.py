"""gradient_flow's per-step ∂L/∂h_t, ∂L/∂c_t equal PyTorch autograd's h_t.grad / c_t.grad."""

import numpy as np
import pytest
import torch

from lstmkit.inspect import gradient_flow
from lstmkit.layers import GRU, LSTM, Dense, SimpleRNN


def _torch_steps(kind, layer, x, mask, go_backwards):
    """Manual torch loop with the layer's weights; returns outputs list, h list, c list."""
    W_x, W_h, b = (torch.tensor(p, requires_grad=True) for p in layer.params[:3])
    H = layer.units
    B, T, _ = x.shape
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    h = torch.zeros(B, H, dtype=torch.float64)
    c = torch.zeros(B, H, dtype=torch.float64)
    hs, cs = {}, {}
    for t in order:
        xt = torch.tensor(x[:, t])
        m = torch.tensor(mask[:, t])[:, None] if mask is not None else 1.0
        if kind == "LSTM":
            z = xt @ W_x + h @ W_h + b
            i, f = torch.sigmoid(z[:, :H]), torch.sigmoid(z[:, H : 2 * H])
            g, o = torch.tanh(z[:, 2 * H : 3 * H]), torch.sigmoid(z[:, 3 * H :])
            c = m * (f * c + i * g) + (1 - m) * c  # masked rows carry c
            c.retain_grad()
            h_new = o * torch.tanh(c)
            cs[t] = c
        elif kind == "GRU":
            a, u = xt @ W_x + b[0], h @ W_h + b[1]
            zg = torch.sigmoid(a[:, :H] + u[:, :H])
            r = torch.sigmoid(a[:, H : 2 * H] + u[:, H : 2 * H])
            n = torch.tanh(a[:, 2 * H :] + r * u[:, 2 * H :])
            h_new = (1 - zg) * n + zg * h
        else:
            h_new = torch.tanh(xt @ W_x + h @ W_h + b)
        h = m * h_new + (1 - m) * h
        h.retain_grad()
        hs[t] = h
    return hs, cs


@pytest.mark.parametrize("kind,cls", [("LSTM", LSTM), ("GRU", GRU), ("SimpleRNN", SimpleRNN)])
@pytest.mark.parametrize("seq,go_backwards,masked", [(False, False, False), (True, True, True)])
def test_state_grads_match_torch_retain_grad(kind, cls, seq, go_backwards, masked):
    rng = np.random.default_rng(0)
    B, T, D, H = 3, 6, 2, 4
    x = rng.standard_normal((B, T, D))
    mask = None
    if masked:
        mask = np.ones((B, T))
        mask[0, 4:] = 0
        mask[2, 0] = 0
    layer = cls(H, return_sequences=seq, go_backwards=go_backwards, dtype="float64", seed=1)
    layer.build((T, D))
    layer.params[2][...] = rng.standard_normal(layer.params[2].shape)
    y = rng.standard_normal((B, T, H) if seq else (B, H))
    gf = gradient_flow(layer, x, y, loss="mse", mask=mask, keep_full=True)

    hs, cs = _torch_steps(kind, layer, x, mask, go_backwards)
    order = sorted(hs, reverse=go_backwards)  # processing order
    out = torch.stack([hs[t] for t in order], 1) if seq else hs[order[-1]]
    loss = ((out - torch.tensor(y)) ** 2).mean()
    loss.backward()
    want_h = np.stack([hs[t].grad.numpy() for t in range(T)], 1)  # input order
    np.testing.assert_allclose(gf.dh_full, want_h, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(gf.dh, np.linalg.norm(want_h, axis=(0, 2)), rtol=1e-10)
    assert gf.loss == pytest.approx(loss.item(), rel=1e-12)
    if kind == "LSTM":
        want_c = np.stack([cs[t].grad.numpy() for t in range(T)], 1)
        np.testing.assert_allclose(gf.dc_full, want_c, rtol=1e-10, atol=1e-13)
    else:
        assert gf.dc is None


class _Model:
    def __init__(self, layers):
        self.layers = layers


def test_model_gradient_flow_leaves_grads_and_matches_layer_backward():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 10, 2))
    y = rng.standard_normal((4, 1))
    lstm = LSTM(5, dtype="float64", seed=0)
    dense = Dense(1, dtype="float64", seed=1)
    model = _Model([lstm, dense])
    lstm.forward(x), dense.forward(lstm.forward(x))
    before = [g.copy() for g in lstm.grads]
    flows = gradient_flow(model, x, y)
    assert list(flows) == ["lstm"] and flows["lstm"].dh.shape == (10,)
    for g, b in zip(lstm.grads, before, strict=True):
        np.testing.assert_array_equal(g, b)
    # loss only at the last step: dL/dh_T is the Dense gradient, and ∂L/∂h_0 is smaller
    assert flows["lstm"].dh[-1] > flows["lstm"].dh[0] > 0
    assert flows["lstm"].dc[0] > 0


def test_gradient_flow_errors():
    with pytest.raises(TypeError, match="recurrent layer"):
        gradient_flow(Dense(2), np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="loss must be"):
        gradient_flow(LSTM(2), np.zeros((1, 3, 2)), np.zeros((1, 2)), loss="hinge")


@pytest.mark.parametrize("variant", ["PeepholeLSTM", "ZoneoutLSTM"])
def test_variant_state_grads_equal_lstm_when_the_variant_reduces_to_it(variant):
    """Peephole weights 0 / zoneout rates 0 make the variant an LSTM: its recorded
    ∂L/∂h_t, ∂L/∂c_t (variant walk) must equal the LSTM's (checked above against torch)."""
    from lstmkit.layers import variants

    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 8, 2))
    y = rng.standard_normal((3, 8, 4))
    lstm = LSTM(4, return_sequences=True, dtype="float64", seed=0)
    kw = {"zoneout_cell": 0.0, "zoneout_hidden": 0.0} if variant == "ZoneoutLSTM" else {}
    var = getattr(variants, variant)(4, return_sequences=True, dtype="float64", seed=0, **kw)
    lstm.build((8, 2))
    var.build((8, 2))
    for p, q in zip(lstm.params, var.params, strict=False):
        p[...] = rng.standard_normal(p.shape)
        q[...] = p
    a = gradient_flow(lstm, x, y, keep_full=True)
    b = gradient_flow(var, x, y, keep_full=True)
    np.testing.assert_allclose(b.dh_full, a.dh_full, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(b.dc_full, a.dc_full, rtol=1e-10, atol=1e-14)


def test_plots_are_written(tmp_path):
    from lstmkit.inspect import plot_gates, plot_gradient_flow, plot_saturation, trace

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 12, 3))
    layer = LSTM(5, return_sequences=True, dtype="float64", seed=0)
    tr = trace(layer, x)
    sat = tr.saturation(0.1)
    assert set(sat) == {"i", "f", "o"} and all(
        0 <= lo <= 1 and 0 <= hi <= 1 for lo, hi in sat.values()
    )
    assert sat["f"][0] == pytest.approx(float(np.mean(tr.f < 0.1)))
    flows = {
        "lstm": gradient_flow(layer, x, rng.standard_normal((2, 12, 5))),
        "rnn": gradient_flow(
            SimpleRNN(5, return_sequences=True, seed=0), x, rng.standard_normal((2, 12, 5))
        ),
    }
    for fn, arg, name in (
        (plot_gates, tr, "g.png"),
        (plot_saturation, tr, "s.png"),
        (plot_gradient_flow, flows, "f.png"),
    ):
        p = fn(arg, tmp_path / name)
        assert p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size > 2000
