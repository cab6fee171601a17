"""Optimizers on flat buffers vs torch.optim (float64, several steps, same gradients)."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lstmkit import optim  # noqa: E402

SHAPES = [(4, 5), (5,), (3, 2), (7,)]
STEPS = 6

CASES = [
    ("SGD", dict(learning_rate=0.1), dict(lr=0.1)),
    ("SGD", dict(learning_rate=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9)),
    (
        "SGD",
        dict(learning_rate=0.05, momentum=0.8, nesterov=True),
        dict(lr=0.05, momentum=0.8, nesterov=True),
    ),
    (
        "SGD",
        dict(learning_rate=0.05, momentum=0.5, weight_decay=0.01),
        dict(lr=0.05, momentum=0.5, weight_decay=0.01),
    ),
    ("Adam", dict(learning_rate=0.01), dict(lr=0.01, eps=1e-7)),
    (
        "Adam",
        dict(learning_rate=0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-6, amsgrad=True),
        dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, amsgrad=True),
    ),
    ("Adam", dict(learning_rate=0.01, weight_decay=0.1), dict(lr=0.01, eps=1e-7, weight_decay=0.1)),
    (
        "AdamW",
        dict(learning_rate=0.01, weight_decay=0.1),
        dict(lr=0.01, eps=1e-7, weight_decay=0.1),
    ),
    ("RMSprop", dict(learning_rate=0.01), dict(lr=0.01, alpha=0.9, eps=1e-7)),
    (
        "RMSprop",
        dict(learning_rate=0.01, rho=0.8, momentum=0.7, centered=True),
        dict(lr=0.01, alpha=0.8, eps=1e-7, momentum=0.7, centered=True),
    ),
    (
        "RMSprop",
        dict(learning_rate=0.01, weight_decay=0.05),
        dict(lr=0.01, alpha=0.9, eps=1e-7, weight_decay=0.05),
    ),
]
CLIPS = [
    {},
    {"clipvalue": 0.3},
    {"clipnorm": 0.5},
    {"global_clipnorm": 0.8},
    {"clipvalue": 0.5, "global_clipnorm": 1.0},
]
MAX_DIFF = {}


def _torch_clip(grads, clip):
    """Keras' clipping definitions, written with torch ops on the torch side."""
    if "clipvalue" in clip:
        for g in grads:
            g.clamp_(-clip["clipvalue"], clip["clipvalue"])
    if "clipnorm" in clip:
        c = clip["clipnorm"]
        for g in grads:
            g.mul_(c / max(float(g.norm()), c))
    if "global_clipnorm" in clip:
        c = clip["global_clipnorm"]
        norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
        for g in grads:
            g.mul_(c / max(norm, c))


def _run(name, ours_kw, torch_kw, clip, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    tparams = [torch.tensor(a, requires_grad=True) for a in init]
    topt = getattr(torch.optim, name)(tparams, **torch_kw)
    flat = np.concatenate([a.ravel() for a in init])  # our flat buffer
    opt = getattr(optim, name)(**ours_kw, **clip)
    opt.build({"float64": flat}, {"float64": [int(np.prod(s)) for s in SHAPES]})
    for _ in range(STEPS):
        gs = [rng.standard_normal(s) * 2 for s in SHAPES]
        for p, g in zip(tparams, gs, strict=True):
            p.grad = torch.tensor(g)
        _torch_clip([p.grad for p in tparams], clip)
        topt.step()
        opt.step({"float64": flat}, {"float64": np.concatenate([g.ravel() for g in gs])})
    want = np.concatenate([p.detach().numpy().ravel() for p in tparams])
    return flat, want


@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: "+".join(c) or "noclip")
@pytest.mark.parametrize(
    "name,ours_kw,torch_kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_matches_torch(name, ours_kw, torch_kw, clip):
    got, want = _run(name, ours_kw, torch_kw, clip)
    diff = float(np.abs(got - want).max())
    MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), diff)
    assert diff < 1e-12, f"{name} {ours_kw} {clip}: max diff {diff}"
    # the parameters moved (the test can fail if step did nothing)
    assert (
        np.abs(
            got
            - np.concatenate([np.random.default_rng(0).standard_normal(s).ravel() for s in SHAPES])
        ).max()
        > 1e-4
    )


def test_single_array_and_float32():
    p = np.ones(10, np.float32)
    g = np.full(10, 2.0, np.float32)
    opt = optim.SGD(learning_rate=0.5)
    opt.step(p, g.copy())
    assert p.dtype == np.float32 and np.allclose(p, 0.0)


def test_schedules_formulas_and_use():
    e = optim.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    es = optim.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    c = optim.CosineDecay(0.1, decay_steps=20, alpha=0.1)
    s = optim.StepDecay(0.1, step_size=3, gamma=0.5)
    for k in (0, 1, 7, 10, 25, 40):
        assert e(k) == pytest.approx(0.1 * 0.5 ** (k / 10))
        assert es(k) == pytest.approx(0.1 * 0.5 ** (k // 10))
        kk = min(k, 20)
        assert c(k) == pytest.approx(0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * kk / 20)) + 0.1))
        assert s(k) == pytest.approx(0.1 * 0.5 ** (k // 3))
    # StepDecay == torch's StepLR stepped once per update
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal(6)
    tp = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(topt, step_size=3, gamma=0.5)
    flat = w0.copy()
    opt = optim.SGD(learning_rate=optim.StepDecay(0.1, 3, 0.5), momentum=0.9)
    for _ in range(8):
        g = rng.standard_normal(6)
        tp.grad = torch.tensor(g)
        topt.step()
        sched.step()
        opt.step(flat, g.copy())
    assert np.abs(flat - tp.detach().numpy()).max() < 1e-13


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_state_roundtrip_continues_identically(name):
    kw = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(12) for _ in range(6)]
    a = getattr(optim, name)(**kw)
    pa = np.linspace(-1, 1, 12)
    for g in grads[:3]:
        a.step(pa, g.copy())
    state = a.get_state()
    pb = pa.copy()
    b = getattr(optim, name)(**kw)
    b.build(pb)
    b.set_state(state)
    for g in grads[3:]:
        a.step(pa, g.copy())
        b.step(pb, g.copy())
    assert np.array_equal(pa, pb) and b.iterations == 6
    with pytest.raises(ValueError):
        getattr(optim, name)(**kw).set_state({"iterations": 1, "slots": {"nope._": np.zeros(3)}})


def test_config_roundtrip_and_get():
    o = optim.Adam(learning_rate=optim.CosineDecay(0.01, 100), clipnorm=1.0)
    o2 = optim.Adam.from_config(o.get_config())
    assert o2.get_config() == o.get_config()
    assert isinstance(optim.get("adam"), optim.Adam) and isinstance(
        optim.get("RMSprop"), optim.RMSprop
    )
    with pytest.raises(ValueError, match="optimizer must be one of"):
        optim.get("adamm")
    with pytest.raises(ValueError):
        optim.SGD(clipnorm=1.0, global_clipnorm=1.0)


def test_report_max_diffs(capsys):
    """Prints the largest difference seen per optimizer (run with -s to see it)."""
    for name, ours_kw, torch_kw in CASES:
        for clip in CLIPS:
            got, want = _run(name, ours_kw, torch_kw, clip, seed=1)
            MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), float(np.abs(got - want).max()))
    with capsys.disabled():
        print("\nmax |ours - torch| over cases:", {k: f"{v:.1e}" for k, v in MAX_DIFF.items()})
    assert max(MAX_DIFF.values()) < 1e-12
