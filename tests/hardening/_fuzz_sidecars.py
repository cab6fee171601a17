"""Fuzz worker: tampered ``model.json`` sidecars of the forecast, classify and textgen jobs.

    python _fuzz_sidecars.py WORKDIR SEED OUT.json

Each case is one sidecar beside an unchanged model: every JSON value replaced by junk or
deleted, lists lengthened / shortened / with repeats, raw byte damage, deep nesting,
NaN literals, duplicate keys, non-UTF-8, a sparse 80 MB file, a FIFO, a directory, a
symlink to /dev/zero. The trial is what the job does with it: ``load_job_model`` with the
job's checks, then the job's own use of the values (a forecast from the last window,
classifying the examples, sampling characters). Accepted sidecars must give sane
(finite, well-shaped) results; see _fuzz_harness.py for the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
from _fuzz_harness import JUNK, json_paths, replaced, run, special, write
from _jobs import CLASSIFY, FORECAST, TEXTGEN, cli

from lstmkit.apps.classify import job as cl
from lstmkit.apps.classify import sidecar as cl_side
from lstmkit.apps.classify.config import ClassifyConfig
from lstmkit.apps.forecast import sidecar as fc_side
from lstmkit.apps.forecast.window import input_window
from lstmkit.apps.shared import modelfiles
from lstmkit.apps.textgen import job as tg
from lstmkit.apps.textgen import sidecar as tg_side
from lstmkit.data.csv import read_table
from lstmkit.data.text import CharVocab
from lstmkit.io.save import load_model

CHECKS = {"forecast": fc_side.check, "classify": cl_side.check, "textgen": tg_side.check}


def make_inputs(d):
    t = np.arange(120)
    y = 10 + np.sin(2 * np.pi * t / 12) + 0.01 * t
    series = os.path.join(d, "series.csv")
    with open(series, "w") as f:
        f.write("month,value,temp\n")
        f.writelines(f"{k},{v:.4f},{np.cos(k):.3f}\n" for k, v in enumerate(y))
    rng = np.random.default_rng(0)
    words = {"a": "sun warm bright day light", "b": "rain cold dark night wet"}
    texts = os.path.join(d, "texts.csv")
    with open(texts, "w") as f:
        f.write("text,label\n")
        for k in range(40):
            lab = "ab"[k % 2]
            f.write(" ".join(rng.choice(words[lab].split(), 6)) + f",{lab}\n")
    novel = os.path.join(d, "novel.txt")
    with open(novel, "w") as f:
        f.write(("It is a truth universally acknowledged, that a single man in possession "
                 "of a good fortune, must be in want of a wife. ") * 40)  # fmt: skip
    return series, texts, novel


def bases(d):
    series, texts, novel = make_inputs(d)
    runs = {
        "forecast": ["forecast", series, "--target", "value", "--covariates", "temp", *FORECAST],
        "classify": ["classify", "train", texts, *CLASSIFY],
        "textgen": ["textgen", "train", novel, *TEXTGEN],
    }
    out = {}
    for job, argv in runs.items():
        rc, so, se = cli(*argv, "--out", os.path.join(d, f"base-{job}"))
        assert rc == 0, (job, se[-2000:])
        base = os.path.join(d, f"base-{job}")
        with open(os.path.join(base, "model.json")) as f:
            meta = json.load(f)
        model = load_model(os.path.join(base, "model.safetensors"))
        out[job] = (base, meta, model)
    table = read_table(series)
    cfg = ClassifyConfig(label="label", text="text", kind="text")
    ex = cl.read_examples(texts, cfg)
    return out, {"forecast": table, "classify": ex}


def main():
    workdir, seed, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = np.random.default_rng(seed)
    base, inputs = bases(workdir)
    models = {job: m for job, (_, _, m) in base.items()}
    dirs = {}
    for job, (b, _, _) in base.items():  # one working copy per job: "case-forecast", …
        dirs[job] = os.path.join(workdir, f"case-{job}")
        shutil.copytree(b, dirs[job])

    def trial(arg):
        job = arg
        model, meta = modelfiles.load_job_model(dirs[job], job, CHECKS[job])
        with np.errstate(all="ignore"):
            if job == "forecast":  # the last window → H values of y, as the job reads them
                H = meta["horizon"]
                x, _ = input_window(inputs["forecast"], meta, "s")
                out = model.predict(x)
                v = fc_side.one_series(meta)  # what export --c writes into C
                prep, h = v["prep"], np.arange(1, H + 1)
                y_hist = inputs["forecast"].numeric("value")
                y = prep.y(prep.z(y_hist)[-1] + h * prep.mu + prep.sigma * out[0], len(y_hist) + h)
                ok = out.shape == (1, H) and np.isfinite(out).all() and np.isfinite(y).all()
            elif job == "classify":
                X = cl.encode(inputs["classify"], meta)
                p = model.predict(X, batch_size=64)
                ok = p.shape == (len(X), len(meta["classes"])) and np.isfinite(p).all()
                ok = ok and all(isinstance(meta["classes"][int(k)], str) for k in p.argmax(1))
            else:
                v = CharVocab(meta["chars"])
                prime = v.chars[0]
                txt = tg.sample(model, v, 5, 0.8, prime, np.random.default_rng(0))
                ok = len(txt) == 5 and set(txt) <= set(v.chars)
        return "harmless" if ok else "crashed"

    # the job's own load path, with the (unchanged) weights read once: the working
    # copies are named case-<job>
    modelfiles.load_weights = lambda p: models[os.path.basename(os.path.dirname(p))[5:]]
    for job in base:  # warm-up: every lazy import happens now
        assert trial(job) == "harmless", job

    def cases():
        for job, (_, meta, _) in base.items():
            side = os.path.join(dirs[job], "model.json")
            raw = json.dumps(meta).encode()

            def put(data, side=side, job=job):
                return lambda: (write(side, data), job)[1]

            # every value replaced by junk, or deleted (long lists: their ends only)
            for p in json_paths(meta):
                if isinstance(p[-1], int) and 2 <= p[-1] < len(_at(meta, p[:-1])) - 1:
                    continue
                for v in [*JUNK, ...]:
                    yield (
                        f"{job}:{'.'.join(map(str, p))}={str(v)[:12]}",
                        put(json.dumps(replaced(meta, p, v), allow_nan=True)),
                    )
            # lists and strings: longer, shorter, repeated, reversed
            for p in json_paths(meta):
                v = _at(meta, p)
                if isinstance(v, (list, str)) and v:
                    for w in (v[:-1], v + v[-1:], v[:1] * 3, v[::-1], v * 2, v[: len(v) // 2]):
                        yield (
                            f"{job}:{'.'.join(map(str, p))}~{len(w)}",
                            put(json.dumps(replaced(meta, p, w))),
                        )
            # raw damage
            for k in range(25):
                b = bytearray(raw)
                for _ in range(int(rng.integers(1, 4))):
                    b[int(rng.integers(len(b)))] ^= int(rng.integers(1, 256))
                yield f"{job}:flip{k}", put(bytes(b))
            for k in range(10):
                yield f"{job}:trunc{k}", put(raw[: int(rng.integers(len(raw)))])
            extra = [
                b"",
                b"null",
                b"[]",
                b"[" * 100_000 + b"]" * 100_000,
                b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
                raw.replace(b'"lstmkit_task"', b'"x": NaN, "lstmkit_task"'),
                raw[:-1] + b', "lstmkit_task": "forecast"}',
                b"\xef\xbb\xbf" + raw,
                raw.replace(b'"', b"'"),
                raw + b" trailing",
                '{"lstmkit_task": "caf\xe9"}'.encode("latin-1"),
                json.dumps({**meta, "pad": "x" * 3_000_000}).encode(),
                json.dumps({**meta, "pad": [[]] * 600_000}).encode(),
            ]
            for k, data in enumerate(extra):
                yield f"{job}:raw{k}", put(data)
            for what in ("fifo", "dir", "devzero", "sparse", "dangling"):
                yield (
                    f"{job}:{what}",
                    (lambda side=side, what=what, job=job: (special(side, what), job)[1]),
                )

    run(cases(), trial, out_path)


def _at(o, path):
    for k in path:
        o = o[k]
    return o


if __name__ == "__main__":
    main()
