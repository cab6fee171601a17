"""The tensors a config implies (:mod:`lstmkit.io.layout`, what the loader holds a file
against before building anything), checked against built layers of every type."""

from __future__ import annotations

import numpy as np

from lstmkit import LSTM, Bidirectional, Dense, Dropout, Sequential, load_model
from lstmkit.io import layout
from lstmkit.io.format import expected_tensors
from lstmkit.layers import LAYER_TYPES


def _configs(rng, per_type=3):
    """Random small configs of every allow-listed type, and Bidirectional of each cell."""
    for t, cls in LAYER_TYPES.items():
        for _ in range(per_type):
            H = int(rng.integers(2, 7))
            kw = {"units": H} if "units" in cls.__init__.__code__.co_varnames else {}
            if t == "Embedding":
                kw = {"input_dim": int(rng.integers(2, 9)), "output_dim": int(rng.integers(1, 5))}
            elif t == "Dropout":
                kw = {"rate": 0.1}
            elif t == "Activation":
                kw = {"activation": "tanh"}
            elif t == "Dense":
                kw["use_bias"] = bool(rng.integers(2))
            elif t == "LSTMP":
                kw["proj_size"] = int(rng.integers(1, H))
            elif t == "Conv1D":
                kw = {
                    "filters": H,
                    "kernel_size": int(rng.integers(1, 4)),
                    "padding": ["valid", "same", "causal"][int(rng.integers(3))],
                    "use_bias": bool(rng.integers(2)),
                }
                kw["strides" if rng.integers(2) else "dilation_rate"] = int(rng.integers(1, 3))
            elif t == "GaussianNoise":
                kw = {"stddev": 0.1}
            elif t in layout.POOLING:
                kw = {"keepdims": bool(rng.integers(2))}
            if "units" in kw and t not in ("Dense", "AttentionPooling1D"):
                kw["return_sequences"] = bool(rng.integers(2))
            yield t, kw, False
            if t in layout.GATES:
                yield t, kw, True


def test_layout_table_matches_built_layers_of_every_type():
    rng = np.random.default_rng(0)
    n = 0
    for t, kw, bidir in _configs(rng):
        layer = LAYER_TYPES[t](**kw)
        if bidir:
            layer = Bidirectional(layer, merge_mode=["concat", "sum"][n % 2])
        in_shape = (7,) if t == "Embedding" else (5, 3)
        m = Sequential([layer])
        m.build(in_shape)
        cfg = m.get_config()["layers"][0]
        cls = Bidirectional if bidir else LAYER_TYPES[t]
        want = layout.model_file_tensors("f", [(cls, cfg["config"])], in_shape)
        assert want == expected_tensors(m), (t, kw, bidir)
        ps, out = layout.param_shapes("f", cls.type_name, cfg["config"], in_shape)
        assert [
            (nm, tuple(p.shape)) for nm, p in zip(layer.param_names, layer.params, strict=True)
        ] == ps
        assert tuple(out) == tuple(layer.compute_output_shape(in_shape)), (t, kw)
        n += 1
    assert n > 40
    rows = set(layout.GATES) | set(layout.PLAIN) | set(layout.POOLING)
    assert rows | {"Dense", "Embedding", "Conv1D", "AttentionPooling1D"} >= set(LAYER_TYPES)


def test_every_layer_type_still_loads(tmp_path):
    rng = np.random.default_rng(1)
    for k, (t, kw, bidir) in enumerate(_configs(rng, per_type=1)):
        if t == "Embedding":
            layers = [LAYER_TYPES[t](**kw), LSTM(2)]
            shape = (6,)
        else:
            inner = LAYER_TYPES[t](**kw)
            layers = [Bidirectional(inner) if bidir else inner, Dropout(0.1), Dense(2)]
            shape = (6, 3)
        m = Sequential(layers, seed=k)
        m.build(shape)
        p = tmp_path / f"{k}.safetensors"
        m.save(p)
        x = (
            rng.integers(0, kw["input_dim"], (2, 6))
            if t == "Embedding"
            else rng.standard_normal((2, 6, 3))
        )
        np.testing.assert_array_equal(load_model(p).predict(x), m.predict(x))
