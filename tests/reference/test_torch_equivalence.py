"""lstmkit == PyTorch, in float64, to 1e-10: outputs, final states and every gradient.

Each case draws random shapes (T, B, D, H small, T=1 and B=1 included), random
weights and random non-zero biases in a ``torch.nn.LSTM`` / ``GRU`` / ``RNN(tanh)``,
copies them into our layer with ``load_named_tensors`` and checks, besides the
numbers, that the Keras-layout weights are PyTorch's by the documented mapping
(kernel = weight_ihᵀ, recurrent_kernel = weight_hhᵀ, bias = bias_ih + bias_hh for
LSTM/SimpleRNN; GRU: blocks r, z, n → z, r, n and bias = [bias_ih; bias_hh]).
The loss is Σ y⊙gy + Σ h_T⊙gh + Σ c_T⊙gc with random gy, gh, gc, so the
gradients through the output sequence and through the returned states are both checked.

Run with ``-s`` to see the largest error met per quantity.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lstmkit import GRU, LSTM, Bidirectional, SimpleRNN  # noqa: E402

TOL = 1e-10
MAX_ERR: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _torch_threads():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
    if MAX_ERR:
        print("\nlargest |lstmkit − torch| per quantity (float64):")
        for k in sorted(MAX_ERR):
            print(f"  {k:28s} {MAX_ERR[k]:.3e}")


def close(what, ours, theirs, kind=""):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    err = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
    key = f"{kind} {what}".strip()
    MAX_ERR[key] = max(MAX_ERR.get(key, 0.0), err)
    assert err <= TOL, f"{key}: max |ours − torch| = {err:.3e} > {TOL}"


# -------------------------------------------------------------- the three cells
def _rnn_tanh(*a, **k):
    return torch.nn.RNN(*a, nonlinearity="tanh", **k)


KINDS = {  # our class, torch class, number of states
    "lstm": (LSTM, torch.nn.LSTM, 2),
    "gru": (GRU, torch.nn.GRU, 1),
    "rnn": (SimpleRNN, _rnn_tanh, 1),
}


def _zrn(w, H):
    """PyTorch's GRU blocks r, z, n (last axis) → our z, r, n."""
    return np.concatenate([w[..., H : 2 * H], w[..., :H], w[..., 2 * H :]], axis=-1)


def keras_layout(kind, W_ih, W_hh, b_ih, b_hh, H, grads=False):
    """PyTorch tensors (or their gradients) → [kernel, recurrent_kernel, bias] as in Keras."""
    if kind == "gru":
        return [_zrn(W_ih.T, H), _zrn(W_hh.T, H), np.stack([_zrn(b_ih, H), _zrn(b_hh, H)])]
    # one summed bias: its gradient is the gradient of either torch bias
    return [W_ih.T, W_hh.T, b_ih if grads else b_ih + b_hh]


def torch_module(kind, D, H, rng, num_layers=1, bidirectional=False):
    mod = KINDS[kind][1](
        D,
        H,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=True,
        dtype=torch.float64,
    )
    with torch.no_grad():
        for p in mod.parameters():  # weights and non-zero biases
            p.copy_(torch.from_numpy(rng.uniform(-0.7, 0.7, tuple(p.shape))))
    return mod


def state_dict_np(mod):
    return {k: v.detach().numpy().copy() for k, v in mod.state_dict().items()}


def run_torch(kind, mod, x, init, gy, gfinal):
    """Forward + backward in torch. init: list of (L·dirs, B, H) arrays (h0[, c0]);
    gfinal likewise for the final states. Returns y, finals, dx, d_init."""
    xt = torch.from_numpy(np.array(x)).requires_grad_()  # a copy: no negative strides
    it = [torch.from_numpy(s).requires_grad_() for s in init]
    y, fin = mod(xt, tuple(it) if kind == "lstm" else it[0])
    fin = list(fin) if kind == "lstm" else [fin]
    loss = (y * torch.from_numpy(gy)).sum()
    for f, g in zip(fin, gfinal, strict=True):
        loss = loss + (f * torch.from_numpy(g)).sum()
    loss.backward()
    return y, fin, xt.grad, [s.grad for s in it]


def shapes(seed):
    rng = np.random.default_rng(seed)
    T, B, D, H = (
        int(rng.integers(1, 8)),
        int(rng.integers(1, 5)),
        int(rng.integers(1, 6)),
        int(rng.integers(1, 7)),
    )
    if seed % 5 == 0:
        T = B = 1  # the edge case, always covered
    if seed % 11 == 10:  # and a larger one: long BLAS sums
        T, B, D, H = 25, 7, 19, 33
    return rng, T, B, D, H


CASES = [(kind, seed) for kind in KINDS for seed in range(20)]


# ------------------------------------------------------------------ one layer
@pytest.mark.parametrize("kind,seed", CASES)
def test_single_layer_matches_torch(kind, seed):
    rng, T, B, D, H = shapes(seed)
    Ours, _, S = KINDS[kind]
    return_sequences = seed % 2 == 0
    mod = torch_module(kind, D, H, rng)
    sd = state_dict_np(mod)
    layer = Ours(H, return_sequences=return_sequences, return_state=True, dtype="float64")
    layer.build((T, D))
    layer.load_named_tensors(sd)
    want = keras_layout(
        kind, *(sd[f"{n}_l0"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")), H
    )
    for w, v in zip(layer.get_weights(), want, strict=True):  # the documented weight mapping
        np.testing.assert_array_equal(w, v)

    x = rng.standard_normal((B, T, D))
    init = [rng.standard_normal((1, B, H)) for _ in range(S)]
    g_final = [rng.standard_normal((1, B, H)) for _ in range(S)]
    y, *finals = layer.forward(x, training=True, initial_state=[s[0] for s in init])
    gy = rng.standard_normal(y.shape)
    dx = layer.backward((gy, *(g[0] for g in g_final)))

    # torch: without return_sequences our y is h_T, i.e. torch's y[:, -1]
    gy_t = gy if return_sequences else np.zeros((B, T, H))
    if not return_sequences:
        gy_t[:, -1] = gy
    y_t, fin_t, dx_t, dinit_t = run_torch(kind, mod, x, init, gy_t, g_final)
    close("y", y, y_t if return_sequences else y_t[:, -1], kind)
    for k in range(S):
        close(f"state{k}_T", finals[k], fin_t[k][0], kind)
        close(f"d_state{k}_0", layer.initial_state_grads[k], dinit_t[k][0], kind)
    close("dx", dx, dx_t, kind)
    tg = keras_layout(
        kind,
        *(
            getattr(mod, f"{n}_l0").grad.numpy()
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ),
        H,
        grads=True,
    )
    for name, ours, theirs in zip(("dW_x", "dW_h", "db"), layer.grads, tg, strict=True):
        close(name, ours, theirs, kind)


@pytest.mark.parametrize("kind,seed", [(k, s) for k in KINDS for s in range(3)])
def test_go_backwards_matches_torch_on_flipped_input(kind, seed):
    rng, T, B, D, H = shapes(100 + seed)
    Ours, _, S = KINDS[kind]
    mod = torch_module(kind, D, H, rng)
    layer = Ours(H, return_sequences=True, return_state=True, go_backwards=True, dtype="float64")
    layer.build((T, D))
    layer.load_named_tensors(state_dict_np(mod))
    x = rng.standard_normal((B, T, D))
    y, *finals = layer.forward(x, training=True)
    gy = rng.standard_normal(y.shape)
    g_final = [rng.standard_normal((1, B, H)) for _ in range(S)]
    dx = layer.backward((gy, *(g[0] for g in g_final)))
    init = [np.zeros((1, B, H)) for _ in range(S)]
    y_t, fin_t, dx_t, _ = run_torch(kind, mod, x[:, ::-1], init, gy, g_final)
    close("go_backwards y", y, y_t, kind)  # processing order, as in Keras
    for k in range(S):
        close(f"go_backwards state{k}_T", finals[k], fin_t[k][0], kind)
    close("go_backwards dx", dx, dx_t.numpy()[:, ::-1], kind)


# ------------------------------------------------ two layers, and bidirectional
def _two_layers(kind, H, T, D, bidirectional):
    Ours, _, _ = KINDS[kind]
    layers = []
    for level in range(2):
        cell = Ours(H, return_sequences=True, return_state=True, dtype="float64")
        if bidirectional:
            lay = Bidirectional(cell)
            lay.forward_layer.torch_suffix = f"_l{level}"
            lay.backward_layer.torch_suffix = f"_l{level}_reverse"
        else:
            lay = cell
            lay.torch_suffix = f"_l{level}"
        lay.build((T, D if level == 0 else H * (2 if bidirectional else 1)))
        layers.append(lay)
    return layers


@pytest.mark.parametrize("bidirectional", [False, True], ids=["stacked", "bidirectional"])
@pytest.mark.parametrize("kind,seed", [(k, s) for k in KINDS for s in range(3)])
def test_two_layers_match_torch_num_layers_2(kind, seed, bidirectional):
    rng, T, B, D, H = shapes(200 + seed)
    _, _, S = KINDS[kind]
    tag = "bidirectional" if bidirectional else "stacked"
    dirs = 2 if bidirectional else 1
    mod = torch_module(kind, D, H, rng, num_layers=2, bidirectional=bidirectional)
    layers = _two_layers(kind, H, T, D, bidirectional)
    sd = state_dict_np(mod)
    for lay in layers:
        lay.load_named_tensors(sd)
    x = rng.standard_normal((B, T, D))
    # torch's h0 (2·dirs, B, H) is ordered layer-major: l0 fwd, l0 bwd, l1 fwd, l1 bwd
    init = [rng.standard_normal((2 * dirs, B, H)) for _ in range(S)]
    g_final = [rng.standard_normal((2 * dirs, B, H)) for _ in range(S)]

    def ours_states(arrs, level):  # torch layout → our list for one level
        return [a[level * dirs + d] for d in range(dirs) for a in arrs]

    y0, *f0 = layers[0].forward(x, training=True, initial_state=ours_states(init, 0))
    y1, *f1 = layers[1].forward(y0, training=True, initial_state=ours_states(init, 1))
    gy = rng.standard_normal(y1.shape)
    dy0 = layers[1].backward((gy, *ours_states(g_final, 1)))
    dx = layers[0].backward((dy0, *ours_states(g_final, 0)))

    y_t, fin_t, dx_t, dinit_t = run_torch(kind, mod, x, init, gy, g_final)
    close(f"{tag} y", y1, y_t, kind)
    close(f"{tag} dx", dx, dx_t, kind)
    for level, (fin, lay) in enumerate(zip((f0, f1), layers, strict=True)):
        for ours, theirs in zip(
            fin, ours_states([t.detach().numpy() for t in fin_t], level), strict=True
        ):
            close(f"{tag} final states", ours, theirs, kind)
        d_init = ours_states([t.numpy() for t in dinit_t], level)
        for ours, theirs in zip(lay.initial_state_grads, d_init, strict=True):
            close(f"{tag} d initial states", ours, theirs, kind)
        halves = [lay.forward_layer, lay.backward_layer] if bidirectional else [lay]
        for half in halves:
            s = half.torch_suffix
            tg = keras_layout(
                kind,
                *(
                    getattr(mod, f"{n}{s}").grad.numpy()
                    for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                ),
                H,
                grads=True,
            )
            for ours, theirs in zip(half.grads, tg, strict=True):
                close(f"{tag} weight grads", ours, theirs, kind)


def test_named_tensors_open_in_torch():
    """The export direction: our tensors load into torch modules and give the same output."""
    rng = np.random.default_rng(7)
    T, B, D, H = 4, 2, 3, 5
    x = rng.standard_normal((B, T, D))
    for kind, (Ours, Theirs, _) in KINDS.items():
        layer = Ours(H, return_sequences=True, dtype="float64", seed=1)
        layer.build((T, D))
        layer.set_weights([w + rng.uniform(-0.3, 0.3, w.shape) for w in layer.get_weights()])
        mod = Theirs(D, H, batch_first=True, dtype=torch.float64)
        mod.load_state_dict(
            {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in layer.named_tensors().items()}
        )
        close("export y", layer.forward(x), mod(torch.from_numpy(x))[0], kind)
