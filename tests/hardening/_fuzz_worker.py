"""Run in a subprocess by test_fuzz_loader.py: feed lstmkit.load_model hostile model files.

    python _fuzz_worker.py WORKDIR SEED OUT.json

After the imports and one warm-up load, the address space is capped (RLIMIT_AS = what is
mapped now + 1 GiB), an audit hook watches for anything that runs code or spawns a
process, and tracemalloc measures each load's peak. Every file is classified:

    refused    ModelFileError (the only acceptable exception)
    harmless   loaded: a valid model (predict works, one output row per input); when
               only the data bytes were touched, the same config as the original
    crashed    any other exception, a MemoryError, or > 0.5 s of CPU for one file (CPU time:
               on a shared machine, wall time measures the neighbours)
"""

from __future__ import annotations

import copy
import json
import os
import resource
import struct
import sys
import time
import tracemalloc

import numpy as np
from _fuzz_harness import JUNK

import lstmkit
from lstmkit import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Sequential
from lstmkit.engine import Model
from lstmkit.errors import ModelFileError
from lstmkit.layers import (
    Add,
    Attention,
    Concatenate,
    GlobalAveragePooling1D,
    Input,
    LayerNormalization,
)

MAX_SECONDS = 0.5
DANGEROUS = (
    "os.system",
    "subprocess.Popen",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "pickle.find_class",
    "marshal.loads",
    "exec",
    "compile",
    "ctypes.dlopen",
    "ctypes.dlsym",
    "socket.connect",
    "urllib.Request",
)


# ----------------------------------------------------------------- base files
def base_models(workdir):
    rng = np.random.default_rng(0)
    out = []
    m = Sequential([LSTM(5, return_sequences=True), Dropout(0.1), LSTM(3), Dense(2)], seed=1)
    m.compile("adam", "mse", metrics=["mae"])
    m.build((4, 3))
    out.append(("lstm", m, rng.standard_normal((2, 4, 3)).astype(np.float32)))
    m = Sequential(
        [Embedding(12, 4, mask_zero=True), GRU(3), Dense(2, activation="softmax")], seed=2
    )
    m.build((6,))
    out.append(("gru", m, rng.integers(0, 12, (2, 6))))
    m = Sequential([Bidirectional(LSTM(3, return_sequences=True)), Dense(1)], seed=3)
    m.compile("rmsprop", "mse")
    m.build((5, 2))
    out.append(("bidir", m, rng.standard_normal((2, 5, 2)).astype(np.float32)))
    # a functional graph: a shared layer, a merge, attention, a concatenation
    a = Input(shape=(5, 3))
    shared = Dense(4)
    s = Add()([shared(a), LSTM(4, return_sequences=True)(a)])
    c = Concatenate()([Attention(use_scale=True)([s, shared(a)]), s])
    m = Model(a, Dense(2)(GlobalAveragePooling1D()(LayerNormalization()(c))))
    out.append(("functional", m, rng.standard_normal((2, 5, 3)).astype(np.float32)))
    files = []
    for name, m, x in out:
        p = os.path.join(workdir, f"base_{name}.safetensors")
        m.save(p)
        files.append((name, p, m, x))
    return files


def split(raw: bytes):
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def pack(header, data: bytes, raw_json: bytes | None = None) -> bytes:
    hb = raw_json if raw_json is not None else json.dumps(header, allow_nan=True).encode()
    return struct.pack("<Q", len(hb)) + hb + data


def set_meta(header, key, value):
    h = copy.deepcopy(header)
    h["__metadata__"][key] = value if isinstance(value, str) else json.dumps(value, allow_nan=True)
    return h


def tensors_of(header):
    return {k: v for k, v in header.items() if k != "__metadata__"}


def relayout(header, data, drop=(), add=None):
    """Rebuild the data part after dropping tensors
    (and adding ``add`` {name: (dtype, shape, bytes)})."""
    h = {"__metadata__": header["__metadata__"]}
    parts, pos = [], 0
    for k, e in sorted(tensors_of(header).items(), key=lambda kv: kv[1]["data_offsets"][0]):
        if k in drop:
            continue
        b, end = e["data_offsets"]
        parts.append(data[b:end])
        h[k] = {**e, "data_offsets": [pos, pos + end - b]}
        pos += end - b
    for k, (dt, shape, blob) in (add or {}).items():
        h[k] = {"dtype": dt, "shape": shape, "data_offsets": [pos, pos + len(blob)]}
        parts.append(blob)
        pos += len(blob)
    return h, b"".join(parts)


# ----------------------------------------------------------------- mutations


def deep(n, open_="[", close="]"):
    return open_ * n + close * n


def mutations(name, raw, rng):
    """Yield (label, bytes, data_only) for one base file."""
    header, data = split(raw)
    hlen = 8 + struct.unpack("<Q", raw[:8])[0]
    meta = header["__metadata__"]
    cfg = json.loads(meta["config"])
    names = sorted(tensors_of(header))
    # 1. flipped bytes (in the header and in the data)
    for k in range(60):
        b = bytearray(raw)
        lo = 0 if k % 3 else hlen  # two thirds anywhere, one third data only
        for _ in range(int(rng.integers(1, 6))):
            at = int(rng.integers(lo, len(b)))
            b[at] ^= int(rng.integers(1, 256))
        yield f"flip{k}", bytes(b), lo == hlen
    # 2. truncated
    for k in range(20):
        yield f"trunc{k}", raw[: int(rng.integers(0, len(raw)))], False
    yield "empty", b"", False
    yield "seven-bytes", raw[:7], False
    yield "padded", raw + b"\0" * 16, False
    # 3. the header length field
    for n in (0, 1, len(raw), len(raw) - 7, 2**64 - 1, 2**40, hlen - 8 - 1, 17 * 2**20):
        yield f"hlen={n}", struct.pack("<Q", n) + raw[8:], False
    # 4. forged headers
    t0 = names[0]
    e0 = header[t0]
    for shape in (
        [2**28, 2**28],
        [2**31],
        [2**20, 2**20, 2**20],
        [-1, 4],
        [1.5],
        ["3"],
        [1, 1, 1, 1, 1],
        7,
        None,
        [2**63],
    ):
        h = copy.deepcopy(header)
        h[t0]["shape"] = shape
        yield f"shape={str(shape)[:20]}", pack(h, data), False
    for dt in ("F16", "I64", "BOOL", "U8", "F64", "f32", "", None, 32):
        h = copy.deepcopy(header)
        h[t0]["dtype"] = dt
        yield f"dtype={dt}", pack(h, data), False
    for off in ([0, 2**62], [-4, 0], [5, 1], [0], "0-10", [0.0, 4.0], [len(data), len(data) + 4]):
        h = copy.deepcopy(header)
        h[t0]["data_offsets"] = off
        yield f"offsets={off}", pack(h, data), False
    h, d = relayout(header, data, drop=[names[-1]])
    yield "missing-tensor", pack(h, d), False
    h, d = relayout(header, data, add={"9.evil": ("F32", [2], b"\0" * 8)})
    yield "extra-tensor", pack(h, d), False
    h, d = relayout(header, data, add={"../../etc/passwd": ("F32", [1], b"\0" * 4)})
    yield "path-name", pack(h, d), False
    # F64 tensor where the layer is float32 (bytes consistent with the declared dtype)
    b0, b1 = e0["data_offsets"]
    as64 = np.frombuffer(data[b0:b1], np.float32).astype(np.float64).tobytes()
    h, d = relayout(header, data, drop=[t0], add={t0: ("F64", e0["shape"], as64)})
    yield "wrong-dtype-consistent", pack(h, d), False
    # duplicate tensor name (raw JSON text, the dict can't hold it)
    js = json.dumps(header)
    dup = js[:-1] + ", " + json.dumps(t0) + ": " + json.dumps(e0) + "}"
    yield "duplicate-name", pack(None, data, dup.encode()), False
    dupmeta = js.replace('"__metadata__": {', '"__metadata__": {"format": "lstmkit", ', 1)
    yield "duplicate-meta-key", pack(None, data, dupmeta.encode()), False
    # non-UTF-8 bytes in the metadata
    bad = js.replace('"lstmkit"', '"lstm\xffkit"').encode("latin-1", "replace")
    yield "non-utf8-meta", pack(None, data, bad), False
    yield "non-utf8-raw", pack(None, data, js.encode()[:-2] + b"\xc3\x28}"), False
    # headers that are not an object, or deeply nested
    for body in (
        b"[]",
        b"null",
        b"1",
        b'"s"',
        deep(100000).encode(),
        b"{" + b'"a":' * 50000 + b"1" + b"}" * 50000,
        b"\x00" * 64,
        b"{}",
        b'{"__metadata__": 5}',
    ):
        yield f"header={body[:8]!r}", pack(None, data, body), False
    # metadata
    for key, val in [
        ("format", "pickle"),
        ("format_version", "2"),
        ("format_version", "-1"),
        ("format_version", "1e3"),
        ("format_version", "٣"),
        ("kind", "weights"),
        ("config", deep(200000)),
        ("config", "[NaN]"),
        ("config", "not json"),
        ("config", "[]"),
        ("config", json.dumps([cfg[0]] * 300)),
        ("input_shape", "[]"),
        ("input_shape", "[0]"),
        ("input_shape", "[-1]"),
        ("input_shape", "[1.5]"),
        ("input_shape", "[1,2,3,4]"),
        ("input_shape", "[1e999]"),
        ("input_shape", '"abc"'),
        ("input_shape", json.dumps([2**40, 3])),
        ("training_config", "{}"),
        ("training_config", deep(100000, '{"a":', "}")),
    ]:
        yield f"meta-{key}={val[:12]}", pack(set_meta(header, key, val), data), False
    h = copy.deepcopy(header)
    h["__metadata__"]["config"] = 5
    yield "meta-not-string", pack(h, data), False
    h = copy.deepcopy(header)
    del h["__metadata__"]
    yield "no-metadata", pack(h, data), False
    # configs naming unknown or dangerous types, keys and values
    for t in (
        "Lambda",
        "os.system",
        "builtins.eval",
        "__import__",
        "Sequential",
        "Layer",
        "Recurrent",
        "TimeDistributed",
        "subprocess.Popen",
        "",
        None,
        5,
        ["LSTM"],
    ):
        c = copy.deepcopy(cfg)
        c[0]["type"] = t
        yield f"type={t}", pack(set_meta(header, "config", c), data), False
    for key, val in [
        ("units", 10**30),
        ("units", -3),
        ("units", 2.5),
        ("units", "7"),
        ("units", 65536),
        ("units", float("nan")),
        ("units", None),
        ("activation", "lambda x: __import__('os').system('true')"),
        ("activation", "os.system"),
        ("activation", {"class_name": "Lambda"}),
        ("recurrent_activation", "exec"),
        ("dropout", float("nan")),
        ("dropout", float("inf")),
        ("dropout", 1e300),
        ("dropout", 1.0),
        ("dropout", -0.5),
        ("seed", -1),
        ("seed", 2**70),
        ("dtype", "object"),
        ("dtype", "float16"),
        ("__class__", "os.system"),
        ("function", "eval"),
        ("name", "x" * 10000),
        ("return_state", True),
        ("input_dim", 2**40),
        ("output_dim", 2**20),
        ("mask_zero", "yes"),
        ("config", cfg),
    ]:
        for i in range(len(cfg)):
            c = copy.deepcopy(cfg)
            c[i]["config"][key] = val
            yield (
                f"cfg[{i}].{key}={str(val)[:16]}",
                pack(set_meta(header, "config", c), data),
                False,
            )
    if cfg[0]["type"] == "Bidirectional":
        for inner in (
            {"type": "Bidirectional", "config": cfg[0]["config"]},
            {"type": "Dense", "config": {"units": 2}},
            {"type": "os.system"},
            5,
            {"type": "LSTM", "config": {"units": 3, "evil": 1}},
        ):
            c = copy.deepcopy(cfg)
            c[0]["config"]["layer"] = inner
            yield f"bidir-inner={str(inner)[:20]}", pack(set_meta(header, "config", c), data), False
    # training_config
    if "training_config" in meta:
        tc = json.loads(meta["training_config"])
        for path, val in [
            (("optimizer", "type"), "os.system"),
            (("loss", "type"), "eval"),
            (("optimizer", "config", "learning_rate"), {"type": "Lambda", "config": {}}),
            (
                ("optimizer", "config", "learning_rate"),
                {"type": "ExponentialDecay", "config": [1, 2]},
            ),
            (
                ("optimizer", "config", "learning_rate"),
                {
                    "type": "ExponentialDecay",
                    "config": {"initial_learning_rate": 0.1, "decay_steps": "x", "decay_rate": 0.5},
                },
            ),
            (("optimizer", "config", "learning_rate"), float("nan")),
            (("optimizer", "config", "beta_1"), "0.9"),
            (("optimizer", "config", "evil"), 1),
            (("optimizer", "config"), [1]),
            (("optimizer",), "adam"),
            (("loss", "config"), {"reduction": "x"}),
            (("metrics",), ["m"] * 1000),
            (("metrics",), [5]),
            (("metrics",), ["os.system"]),
        ]:
            t = copy.deepcopy(tc)
            d = t
            for p in path[:-1]:
                d = d[p]
            d[path[-1]] = val
            yield (
                f"tc.{'.'.join(path)}={str(val)[:16]}",
                pack(set_meta(header, "training_config", t), data),
                False,
            )

    # 5. random JSON surgery: one value anywhere in the header replaced by junk
    def paths(o, pre=()):
        yield pre
        if isinstance(o, dict):
            for k, v in o.items():
                yield from paths(v, pre + (k,))
        elif isinstance(o, list):
            for k, v in enumerate(o):
                yield from paths(v, pre + (k,))

    full = copy.deepcopy(header)
    full["__metadata__"] = {
        k: (json.loads(v) if k in ("config", "input_shape", "training_config", "graph") else v)
        for k, v in meta.items()
    }
    all_paths = [p for p in paths(full) if p]
    for k in range(80):
        p = all_paths[int(rng.integers(len(all_paths)))]
        val = JUNK[int(rng.integers(len(JUNK)))]
        h = copy.deepcopy(full)
        d = h
        for q in p[:-1]:
            d = d[q]
        d[p[-1]] = val
        if isinstance(h.get("__metadata__"), dict):
            h["__metadata__"] = {
                kk: (
                    vv
                    if isinstance(vv, str)
                    or kk not in ("config", "input_shape", "training_config", "graph")
                    else json.dumps(vv, allow_nan=True)
                )
                for kk, vv in h["__metadata__"].items()
            }
        yield f"json{k}:{'.'.join(map(str, p))[:40]}", pack(h, data), False


# ----------------------------------------------------------------- running
def classify(path, x, data_only, expect_cfg):
    try:
        m = lstmkit.load_model(path)
    except ModelFileError:
        return "refused", None
    except BaseException as e:  # noqa: BLE001 — that is the point
        return "crashed", f"{type(e).__name__}: {str(e)[:200]}"
    try:
        with np.errstate(all="ignore"):  # flipped weight bytes may be huge
            y = m.predict(x)
        if not isinstance(y, np.ndarray) or y.shape[0] != len(x):
            return "crashed", f"loaded a model whose predict gave {type(y).__name__}"
        if data_only and m.get_config()["layers"] != expect_cfg:
            return "crashed", "data-only mutation changed the config"
    except BaseException as e:  # noqa: BLE001
        return "crashed", f"loaded, then {type(e).__name__}: {str(e)[:200]}"
    return "harmless", None


def main():
    workdir, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = np.random.default_rng(seed)
    bases = base_models(workdir)
    for _, p, m, x in bases:  # warm-up: every lazy import happens now
        assert np.array_equal(lstmkit.load_model(p).predict(x), m.predict(x))
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    cap = vm + 2**30
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    events, before = [], set(sys.modules)
    sys.addaudithook(lambda ev, args: events.append(ev) if ev.startswith(DANGEROUS) else None)
    tracemalloc.start()
    res = {
        "tried": 0,
        "refused": 0,
        "harmless": 0,
        "crashed": 0,
        "failures": [],
        "max_seconds": 0.0,
        "max_peak_bytes": 0,
        "rlimit_as": cap,
    }
    path = os.path.join(workdir, "mutant.safetensors")
    for name, p, m, x in bases:
        raw = open(p, "rb").read()
        cfg = m.get_config()["layers"]
        for label, blob, data_only in mutations(name, raw, rng):
            with open(path, "wb") as f:
                f.write(blob)
            tracemalloc.reset_peak()
            t = time.process_time()
            kind, why = classify(path, x, data_only, cfg)
            dt = time.process_time() - t
            peak = tracemalloc.get_traced_memory()[1]
            if dt > MAX_SECONDS:
                kind, why = "crashed", f"took {dt:.2f} s"
            res["tried"] += 1
            res[kind] += 1
            res["max_seconds"] = max(res["max_seconds"], dt)
            res["max_peak_bytes"] = max(res["max_peak_bytes"], peak)
            if kind == "crashed":
                res["failures"].append(f"{name}/{label}: {why}")
    tracemalloc.stop()
    res["dangerous_events"] = sorted(set(events))
    res["new_modules"] = sorted(set(sys.modules) - before)
    with open(out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
