"""The tensors a config implies (:mod:`lstmkit.io.layout`, what the loader holds a file
against before building anything), checked against built layers of every type: every
type of ``layers.LAYER_TYPES`` and both wrappers, Keras cell arguments that change the
tensor list (``use_bias=False``, GRU ``reset_after``), Sequential models and functional
graphs (merges, attention, shared layers, ``return_state``)."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
import safetensors.numpy

from lstmkit import LSTM, Activation, Bidirectional, Dense, Dropout, Sequential, load_model
from lstmkit.engine import Model
from lstmkit.errors import ModelFileError
from lstmkit.io import layout, safefile
from lstmkit.io.format import expected_tensors
from lstmkit.layers import (
    GRU,
    LAYER_TYPES,
    WRAPPER_TYPES,
    AdditiveAttention,
    Attention,
    Concatenate,
    Conv1D,
    GlobalAveragePooling1D,
    Input,
    LayerNormalization,
    SimpleRNN,
    TimeDistributed,
)

#: layers called on a list of tensors: checked in functional graphs below
MULTI = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
MULTI += ("Attention", "AdditiveAttention")
KERAS_CELLS = ("LSTM", "GRU", "SimpleRNN")


def _kw(t, cls, rng):
    """A random small config of type ``t`` for inputs (5, 3) — (5,) for Embedding."""
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
    elif t in KERAS_CELLS:
        kw["use_bias"] = bool(rng.integers(2))
        if t == "GRU":
            kw["reset_after"] = bool(rng.integers(2))
    elif t == "Conv1D":
        kw = {
            "filters": 3 * H,
            "kernel_size": int(rng.integers(1, 4)),
            "padding": ["valid", "same", "causal"][int(rng.integers(3))],
            "use_bias": bool(rng.integers(2)),
            "groups": [1, 3][int(rng.integers(2))],
        }
        kw["strides" if rng.integers(2) else "dilation_rate"] = int(rng.integers(1, 3))
    elif t == "GaussianNoise":
        kw = {"stddev": 0.1}
    elif t in layout.POOLING:
        kw = {"keepdims": bool(rng.integers(2))}
    elif t in ("MaxPooling1D", "AveragePooling1D"):
        kw = {"pool_size": int(rng.integers(1, 3)), "padding": ["valid", "same"][H % 2]}
    elif t == "RepeatVector":
        kw = {"n": H}
    elif t == "Reshape":
        kw = {"target_shape": [(15,), (3, 5), (-1, 1)][H % 3]}
    elif t == "Permute":
        kw = {"dims": (2, 1)}
    elif t == "InputLayer":
        kw = {"shape": (5, 3)}
    elif t == "LayerNormalization":
        kw = {
            "axis": [-1, 1, [1, 2]][H % 3],
            "center": bool(rng.integers(2)),
            "scale": bool(rng.integers(2)),
            "rms_scaling": bool(rng.integers(2)),
        }
    if "units" in kw and t not in ("Dense", "AttentionPooling1D"):
        kw["return_sequences"] = bool(rng.integers(2))
    return kw


def _configs(rng, per_type=3):
    """(layer, input shape) of every single-input allow-listed type, Bidirectional of each
    cell (Keras cells also with another backward layer) and TimeDistributed of several."""
    for t, cls in LAYER_TYPES.items():
        if t in MULTI:
            continue
        for _ in range(per_type):
            kw = _kw(t, cls, rng)
            if t == "RepeatVector":
                yield cls(**kw), (3,)
                continue
            yield cls(**kw), ((5,) if t == "Embedding" else (5, 3))
            if t in layout.GATES:
                merge = ["concat", "sum", "mul", "ave"][int(rng.integers(4))]
                back = None
                if t in KERAS_CELLS and rng.integers(2):
                    back = cls(**{**_kw(t, cls, rng), "go_backwards": True})
                    back = back if merge == "concat" else None
                yield Bidirectional(cls(**kw), merge_mode=merge, backward_layer=back), (5, 3)
            if t in ("Dense", "Conv1D", "LSTM", "GRU", "LayerNormalization", "Embedding"):
                yield TimeDistributed(cls(**kw)), ((4, 5) if t == "Embedding" else (4, 5, 3))


def _where(layer):
    return type(layer).__name__, layer.get_config()


def test_layout_table_matches_built_layers_of_every_type():
    rng = np.random.default_rng(0)
    n, kinds = 0, set()
    for layer, in_shape in _configs(rng):
        t = type(layer).type_name
        m = Sequential([layer, Activation("linear")])
        m.build((None, *in_shape))
        cfgs = m.get_config()["layers"]
        entries = [({**LAYER_TYPES, **WRAPPER_TYPES}[c["type"]], c["config"]) for c in cfgs]
        want = layout.model_file_tensors("f", entries, in_shape)
        assert want == expected_tensors(m), _where(layer)
        # a Sequential keeps an InputLayer as its input shape only
        cfg = cfgs[0] if t != "InputLayer" else {"config": layer.get_config()}
        ps, out = layout.param_shapes("f", t, cfg["config"], in_shape)
        assert [
            (nm, tuple(p.shape)) for nm, p in zip(layer.param_names, layer.params, strict=True)
        ] == ps, _where(layer)
        assert (None, *out) == tuple(layer.compute_output_shape((None, *in_shape))), _where(layer)
        kinds.add(t)
        n += 1
    assert n > 100
    # every type has its row: a type without one could not be loaded at all
    rows = set(layout.GATES) | set(layout.PLAIN) | set(layout.POOLING) | set(layout.SHAPING)
    assert rows | set(layout.WEIGHTED) >= set(LAYER_TYPES) | set(WRAPPER_TYPES)
    assert kinds >= (set(LAYER_TYPES) - set(MULTI)) | set(WRAPPER_TYPES)


def test_cell_arguments_change_the_tensor_list():
    for cls in (LSTM, GRU, SimpleRNN):
        for use_bias in (True, False):
            m = Sequential([cls(3, use_bias=use_bias)])
            m.build((None, 4, 2))
            cfg = m.get_config()["layers"][0]
            want = layout.model_file_tensors("f", [(cls, cfg["config"])], (4, 2))
            assert want == expected_tensors(m)
            assert ("0.bias_ih_l0" in want) is use_bias


def _functional():
    """A graph with every multi-input layer, a shared layer and return_state."""
    a, b = Input(shape=(5, 3)), Input(shape=(5, 3))
    shared = Dense(4)
    qa, qb = shared(a), shared(b)
    merged = [LAYER_TYPES[t]()([qa, qb]) for t in MULTI[:-3]]
    cat = Concatenate(axis=-1)(merged)  # (5, 24)
    seq, h, c = LSTM(4, return_sequences=True, return_state=True)(cat)
    att = Attention(use_scale=True, score_mode="concat")([seq, qa])
    add = AdditiveAttention()([att, qb, seq])
    y = GRU(4, use_bias=False)(LayerNormalization()(add), initial_state=[h])
    z = Dense(2)(Concatenate()([y, h, c]))
    w = GlobalAveragePooling1D()(Conv1D(2, 3, padding="same")(TimeDistributed(Dense(3))(seq)))
    return Model([a, b], [z, w])


def test_functional_graph_layout_matches_the_built_model(tmp_path):
    m = _functional()
    p = tmp_path / "f.safetensors"
    m.save(p)
    cfg = m.get_config()
    entries = [({**LAYER_TYPES, **WRAPPER_TYPES}[e["type"]], e["config"]) for e in cfg["layers"]]
    assert layout.graph_file_tensors("f", entries, cfg["graph"]) == expected_tensors(m)
    rng = np.random.default_rng(2)
    x = [rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 3))]
    for got, ref in zip(load_model(p).predict(x), m.predict(x), strict=True):
        np.testing.assert_array_equal(got, ref)


def test_functional_graph_node_with_wrong_width_refused_before_building():
    m = _functional()
    cfg = m.get_config()
    entries = [({**LAYER_TYPES, **WRAPPER_TYPES}[e["type"]], e["config"]) for e in cfg["layers"]]
    inputs = [k for k, e in enumerate(cfg["layers"]) if e["type"] == "InputLayer"]
    for i in inputs:
        entries[i] = (entries[i][0], {**entries[i][1], "shape": "5 4000"})
    want = layout.graph_file_tensors("f", entries, cfg["graph"])
    assert want["2.kernel"][1] == (4000, 4)  # the shared Dense now reads 4000 features
    i = inputs[0]
    entries[i] = (entries[i][0], {**entries[i][1], "shape": "5 3"})
    with pytest.raises(ModelFileError, match="shared layer"):  # its two calls disagree
        layout.graph_file_tensors("f", entries, cfg["graph"])
    entries[i] = (entries[i][0], {**entries[i][1], "shape": "5 x"})
    with pytest.raises(ModelFileError):
        layout.graph_file_tensors("f", entries, cfg["graph"])


def test_every_layer_type_still_loads(tmp_path):
    rng = np.random.default_rng(1)
    for k, (layer, in_shape) in enumerate(_configs(rng, per_type=1)):
        t = type(layer).type_name
        if t == "Embedding" and len(in_shape) == 1:
            layers = [layer, LSTM(2)]
        elif t == "InputLayer":
            layers = [layer, Dense(2)]
        else:
            layers = [layer, Dropout(0.1), Dense(2)]
        m = Sequential(layers, seed=k)
        m.build((None, *in_shape))
        p = tmp_path / f"{k}.safetensors"
        m.save(p)
        x = (
            rng.integers(0, layer.get_config().get("input_dim", 2), (2, *in_shape))
            if "Embedding" in (t, layer.get_config().get("layer", {}).get("type"))
            else rng.standard_normal((2, *in_shape))
        )
        np.testing.assert_array_equal(load_model(p).predict(x), m.predict(x), err_msg=t)


def test_functional_file_declaring_a_huge_layer_refused_before_building(tmp_path):
    """A functional graph's file whose config asks for LSTM(units=4096) (and 64 MB of
    weights) but holds the small model's tensors: refused from the layouts, small peak."""
    a = Input(shape=(5, 3))
    m = Model(a, Dense(1)(LSTM(4)(a)))
    p, q = tmp_path / "m.safetensors", tmp_path / "big.safetensors"
    m.save(p)
    _, meta, _ = safefile.read_header(str(p))
    cfg = json.loads(meta["config"])
    k = next(i for i, e in enumerate(cfg) if e["type"] == "LSTM")
    cfg[k]["config"]["units"] = 4096
    q.write_bytes(
        safetensors.numpy.save(
            safetensors.numpy.load_file(str(p)), {**meta, "config": json.dumps(cfg)}
        )
    )
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="asks for at least|do not match"):
        load_model(q)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 2**20, peak
