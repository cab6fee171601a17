"""Fuzz worker: tampered Keras 3 ``.keras`` archives for ``lstmkit.io.load_keras``.

    python _fuzz_keras.py WORKDIR SEED OUT.json

Base archives: data/float.keras and data/masked.keras, saved by Keras 3 itself (torch
backend; :func:`make_bases` remakes them). Cases: every
value of config.json replaced by junk or deleted (a sample of them), targeted configs
(huge / negative / non-integer units, a Bidirectional without its layer, unknown
classes, deep nesting), weights datasets of the wrong shape or dtype, compressed,
chunked, declared far larger than stored (unallocated), missing or extra; zip damage:
flipped and truncated bytes, members missing, a deflate bomb, sizes in the directory
that lie; and a FIFO, a directory, /dev/zero. Accepted archives must predict finite
values of the right shape.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile

import numpy as np
from _fuzz_harness import JUNK, json_paths, replaced, run, special, write

from lstmkit.io.keras_interop import load_keras

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def make_bases(workdir):
    """Save the base archives with Keras (slow: Keras + torch start in ~20 s); their
    copies are kept in data/ (float.keras, masked.keras), which the fuzzing reads."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    L = keras.layers
    specs = {
        "float": [
            keras.Input((None, 3)),
            L.LSTM(4, return_sequences=True),
            L.Bidirectional(L.GRU(3)),
            L.Dense(2),
        ],
        "masked": [
            keras.Input((None,), dtype="int32"),
            L.Embedding(11, 4, mask_zero=True),
            L.SimpleRNN(3, return_sequences=True),
            L.LSTM(2, use_bias=False),
            L.Dense(2, activation="softmax"),
        ],
    }
    for name, layers in specs.items():
        keras.Sequential(layers).save(os.path.join(workdir, f"{name}.keras"))


def bases(workdir):
    rng = np.random.default_rng(0)
    return [
        (name, os.path.join(DATA, f"{name}.keras"), x)
        for name, x in (
            ("float", rng.standard_normal((2, 5, 3))),
            ("masked", rng.integers(1, 11, (2, 5))),
        )
    ]


def members(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def archive(parts: dict, method=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return buf.getvalue()


def h5_variant(weights: bytes, edit) -> bytes:
    """The weights file rewritten by h5py with ``edit(f)`` applied."""
    import h5py

    src = io.BytesIO(weights)
    dst = io.BytesIO()
    with h5py.File(src, "r") as a, h5py.File(dst, "w") as b:
        for k in a:
            a.copy(a[k], b, name=k)
        for k, v in a.attrs.items():
            b.attrs[k] = v
        edit(b)
    return dst.getvalue()


def datasets(weights: bytes) -> list[str]:
    import h5py

    names = []
    with h5py.File(io.BytesIO(weights), "r") as f:
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return sorted(names)


def main():
    workdir, seed, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = np.random.default_rng(seed)
    base = bases(workdir)
    case = os.path.join(workdir, "case.keras")
    xs = {name: x for name, _, x in base}

    def trial(name):
        m = load_keras(case)
        with np.errstate(all="ignore"):
            y = m.predict(xs[name])
        return "harmless" if y.shape[0] == 2 and np.isfinite(y).all() else "crashed"

    for name, p, _ in base:  # warm-up
        write(case, open(p, "rb").read())
        assert trial(name) == "harmless"

    def put(blob, name):
        return lambda: (write(case, blob), name)[1]

    bombs = {}  # made before the address space is capped: 64 MiB of zeros, deflated
    for name, p, _ in base:
        parts = members(p)
        big = {**parts, "model.weights.h5": parts["model.weights.h5"] + b"\0" * (64 * 2**20)}
        bombs[name] = archive(big, zipfile.ZIP_DEFLATED)

    def cases():
        for name, p, _ in base:
            parts = members(p)
            cfg = json.loads(parts["config.json"])
            W = parts["model.weights.h5"]

            def with_cfg(c, name=name, parts=parts):
                return put(archive({**parts, "config.json": json.dumps(c, allow_nan=True)}), name)

            # config.json: a sample of every path × junk, and deletions
            paths = list(json_paths(cfg))
            picks = [
                paths[int(i)] for i in rng.choice(len(paths), min(len(paths), 8), replace=False)
            ]
            layer_cfgs = [
                ("config", "layers", k, "config") for k in range(len(cfg["config"]["layers"]))
            ]
            for q in layer_cfgs:  # the keys lstmkit reads, in every layer
                for key in (
                    "units",
                    "input_dim",
                    "output_dim",
                    "return_sequences",
                    "activation",
                    "dropout",
                    "name",
                    "batch_shape",
                    "layer",
                    "merge_mode",
                    "use_bias",
                ):
                    picks.append(q + (key,))
            few = [None, -1, 0, 2**63, float("nan"), "x" * 5000, [], {}, True, 1.5, ...]
            for q in picks:
                for v in [*JUNK, ...] if len(q) < 5 else few:
                    try:
                        c = replaced(cfg, q, v)
                    except (KeyError, IndexError, TypeError):
                        continue
                    yield f"{name}:cfg.{'.'.join(map(str, q[-3:]))}={str(v)[:10]}", with_cfg(c)
            for units in (30000, 65536, 65537, 2**40, -3, 0, 2.5, "7"):
                for k in range(1, len(cfg["config"]["layers"])):
                    c = json.loads(json.dumps(cfg))
                    lc = c["config"]["layers"][k]["config"]
                    (lc.get("layer", {}).get("config") or lc)["units"] = units
                    yield f"{name}:units[{k}]={units}", with_cfg(c)
            for raw in (
                b"[" * 100_000 + b"]" * 100_000,
                b"not json",
                b"",
                b"null",
                '{"a": "\xff"}'.encode("latin-1"),
            ):
                yield f"{name}:cfgraw{len(raw)}", put(archive({**parts, "config.json": raw}), name)
            c = json.loads(json.dumps(cfg))
            for layer in c["config"]["layers"]:
                if layer["class_name"] == "Bidirectional":
                    for v in (
                        None,
                        [],
                        {},
                        {"class_name": "GRU"},
                        {"class_name": "Dense", "config": {"units": 2}},
                    ):
                        layer["config"]["layer"] = v
                        yield (
                            f"{name}:bidir-layer={str(v)[:20]}",
                            with_cfg(json.loads(json.dumps(c))),
                        )
            # weights datasets
            for ds in datasets(W):

                def reshape(f, ds=ds):
                    a = f[ds][()]
                    del f[ds]
                    f[ds] = np.zeros((a.shape[0] + 1,) + a.shape[1:], a.dtype)

                def retype(f, ds=ds):
                    a = f[ds][()]
                    del f[ds]
                    f[ds] = a.astype(np.int64)

                def compress(f, ds=ds):
                    a = f[ds][()]
                    del f[ds]
                    f.create_dataset(ds, data=a, compression="gzip")

                def sparse(f, ds=ds):  # declared huge, never written: reads as zeros
                    a = f[ds][()]
                    del f[ds]
                    f.create_dataset(ds, shape=tuple(30000 * s for s in a.shape), dtype=a.dtype)

                def nan(f, ds=ds):
                    a = f[ds][()].astype(np.float64)
                    a.flat[0] = np.nan
                    del f[ds]
                    f[ds] = a

                def drop(f, ds=ds):
                    del f[ds]

                for label, ed in (
                    ("reshape", reshape),
                    ("retype", retype),
                    ("gzip", compress),
                    ("sparse", sparse),
                    ("nan", nan),
                    ("drop", drop),
                ):
                    yield (
                        f"{name}:{label}:{ds[-30:]}",
                        put(archive({**parts, "model.weights.h5": h5_variant(W, ed)}), name),
                    )
            yield (
                f"{name}:extra-ds",
                put(
                    archive(
                        {
                            **parts,
                            "model.weights.h5": h5_variant(
                                W, lambda f: f.create_dataset("layers/zz/vars/0", data=np.zeros(3))
                            ),
                        }
                    ),
                    name,
                ),
            )
            # the zip itself
            blob = open(p, "rb").read()
            for k in range(30):
                b = bytearray(blob)
                for _ in range(int(rng.integers(1, 5))):
                    b[int(rng.integers(len(b)))] ^= int(rng.integers(1, 256))
                yield f"{name}:flip{k}", put(bytes(b), name)
            for k in range(10):
                yield f"{name}:trunc{k}", put(blob[: int(rng.integers(len(blob)))], name)
            yield (
                f"{name}:no-config",
                put(archive({k: v for k, v in parts.items() if k != "config.json"}), name),
            )
            yield (
                f"{name}:no-weights",
                put(archive({k: v for k, v in parts.items() if k != "model.weights.h5"}), name),
            )
            yield f"{name}:deflate-bomb", put(bombs[name], name)
            big_cfg = {**parts, "config.json": b" " * (20 * 2**20) + parts["config.json"]}
            yield f"{name}:big-config", put(archive(big_cfg, zipfile.ZIP_DEFLATED), name)
            lie = bytearray(archive(parts))  # the central directory says a tiny file_size
            at = lie.rfind(b"model.weights.h5")
            yield (
                f"{name}:lying-size",
                put(bytes(lie[: at - 22]) + b"\1\0\0\0" + bytes(lie[at - 18 :]), name),
            )
            for what in ("fifo", "dir", "devzero", "dangling"):
                yield (
                    f"{name}:{what}",
                    (lambda what=what, name=name: (special(case, what), name)[1]),
                )

    run(cases(), trial, out_path)


if __name__ == "__main__":
    main()
