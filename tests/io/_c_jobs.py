"""The jobs' functions of an exported model (model_forecast, model_classify, model_generate,
…) driven from Python, and the jobs' task metrics computed from the C outputs: the forecast
backtest's MASE, the classifier's test accuracy, textgen's validation bits per character.
Shared by tests/io/test_export_c_jobs.py, test_export_c_quant.py and
benchmarks/export_c_report.py."""

from __future__ import annotations

import math
import os
import subprocess

import numpy as np

from lstmkit.apps.classify import job as cl
from lstmkit.apps.forecast import job as fc
from lstmkit.apps.forecast import metrics as mf
from lstmkit.apps.forecast import net, sidecar
from lstmkit.apps.textgen import job as tg
from lstmkit.data import datasets
from lstmkit.data.csv import read_table, read_text
from lstmkit.data.scaling import StandardScaler
from lstmkit.data.text import CharVocab

from . import _c_harness as H

_DRIVERS = {
    "forecast": r"""
#include <stdio.h>
#include "{p}.h"
/* per window: int64 t, y (L + 1), cov (L × C), fut ((L + H) × F) doubles → int32 rc, H doubles */
#define NC ({P}_LOOKBACK * {P}_COVARIATES)
#define NF (({P}_LOOKBACK + {P}_HORIZON) * {P}_FUTURE_COVARIATES)
int main(void) {{
    static {p}_state s;
    static double y[{P}_LOOKBACK + 1], cov[NC + 1], fut[NF + 1], out[{P}_HORIZON];
    long long t;
    int n, k, h, rc;
    if (fread(&n, sizeof n, 1, stdin) != 1) return 3;
    {p}_init(&s);
    for (k = 0; k < n; ++k) {{
        if (fread(&t, sizeof t, 1, stdin) != 1) return 3;
        if (fread(y, sizeof(double), {P}_LOOKBACK + 1, stdin) != {P}_LOOKBACK + 1) return 3;
        if (fread(cov, sizeof(double), NC, stdin) != NC) return 3;
        if (fread(fut, sizeof(double), NF, stdin) != NF) return 3;
        for (h = 0; h < {P}_HORIZON; ++h) out[h] = -12345.0;
        rc = {p}_forecast(&s, y, (long)t, NC ? cov : 0, NF ? fut : 0, out);
        fwrite(&rc, sizeof rc, 1, stdout);
        fwrite(out, sizeof(double), {P}_HORIZON, stdout);
    }}
    return 0;
}}
""",
    "classify": r"""
#include <stdio.h>
#include <stdlib.h>
#include "{p}.h"
#ifdef {P}_RAW_FEATURES
#define NF {P}_RAW_FEATURES /* a series: raw values per time step */
#else
#define NF {P}_INPUT_SIZE
#endif
int main(void) {{
    static {p}_state s;
    float probs[{P}_OUTPUT_SIZE];
    int n, k, T, c;
#if {P}_INPUT_IDS
    int *x;
#else
    float *x;
#endif
    if (fread(&n, sizeof n, 1, stdin) != 1) return 3;
    {p}_init(&s);
    for (k = 0; k < n; ++k) {{
        if (fread(&T, sizeof T, 1, stdin) != 1) return 3;
        size_t m = (size_t)T * NF;
        x = malloc(sizeof *x * (m + 1));
        if (fread(x, sizeof *x, m, stdin) != m)
            return 3;
        c = {p}_classify(&s, x, T, probs);
        fwrite(probs, sizeof(float), {P}_OUTPUT_SIZE, stdout);
        fwrite(&c, sizeof c, 1, stdout);
        free(x);
    }}
    return 0;
}}
""",
    "textgen": r"""
#include <stdio.h>
#include <stdlib.h>
#include "{p}.h"
/* mode 0: generate (prime, n, temperature, seed → text); 1: sample n ids from p (→ counts);
 * 2: p[target] along streams (each from fresh states) */
int main(void) {{
    static {p}_state s;
    int mode, n, k, len, b, nb;
    float temperature, p[{P}_OUTPUT_SIZE];
    unsigned long seed;
    if (fread(&mode, sizeof mode, 1, stdin) != 1) return 3;
    {p}_init(&s);
    if (mode == 0) {{
        char prime[256], *out;
        int got;
        if (fread(&len, sizeof len, 1, stdin) != 1 || len > 255) return 3;
        if (fread(prime, 1, (size_t)len, stdin) != (size_t)len) return 3;
        prime[len] = 0;
        if (fread(&n, sizeof n, 1, stdin) != 1 || fread(&temperature, 4, 1, stdin) != 1) return 3;
        if (fread(&seed, sizeof seed, 1, stdin) != 1) return 3;
        out = malloc((size_t)n * 4 + 1);
        got = {p}_generate(&s, prime, n, temperature, &seed, out, n * 4 + 1);
        if (got < 0) return 6;
        fputs(out, stdout);
        free(out);
        return 0;
    }}
    if (mode == 1) {{
        int counts[{P}_OUTPUT_SIZE] = {{0}};
        if (fread(p, sizeof(float), {P}_OUTPUT_SIZE, stdin) != {P}_OUTPUT_SIZE) return 3;
        if (fread(&n, sizeof n, 1, stdin) != 1 || fread(&temperature, 4, 1, stdin) != 1) return 3;
        if (fread(&seed, sizeof seed, 1, stdin) != 1) return 3;
        for (k = 0; k < n; ++k) counts[{p}_sample(p, temperature, &seed)]++;
        fwrite(counts, sizeof(int), {P}_OUTPUT_SIZE, stdout);
        return 0;
    }}
    if (fread(&nb, sizeof nb, 1, stdin) != 1 || fread(&len, sizeof len, 1, stdin) != 1) return 3;
    for (b = 0; b < nb; ++b) {{
        {p}_reset(&s);
        for (k = 0; k < len; ++k) {{
            int xy[2];
            if (fread(xy, sizeof(int), 2, stdin) != 2) return 3;
            if ({p}_step(&s, xy[0], p) != 0) return 4;
            fwrite(&p[xy[1]], sizeof(float), 1, stdout);
        }}
    }}
    return 0;
}}
""",
}


def compile_driver(out_dir, job: str, name: str = "model", cc: str = "gcc", extra=()) -> str:
    """The job's driver around ``<name>.c`` (``extra``: more flags, e.g. sanitizers)."""
    src = os.path.join(out_dir, f"{job}_{name}.c")
    with open(src, "w") as f:
        f.write(_DRIVERS[job].format(p=name, P=name.upper()))
    exe = os.path.join(out_dir, f"{job}_{name}_{cc}" + ("_x" if extra else ""))
    cmd = [cc, *H.STRICT, "-O2", *extra, "-I", str(out_dir), src]
    cmd.append(os.path.join(out_dir, f"{name}.c"))
    r = subprocess.run([*cmd, "-o", exe, "-lm"], capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr[-4000:]}"
    return exe


def _call(exe, data: bytes) -> bytes:
    r = subprocess.run([exe], input=data, capture_output=True)
    assert r.returncode == 0, f"{exe} exited {r.returncode}: {r.stderr[-2000:]!r}"
    return r.stdout


def c_forecast_raw(exe, ts, windows, covs=None, futs=None) -> tuple[np.ndarray, np.ndarray]:
    """Origins ts (n,), their windows (n, L+1) of raw values, past covariates (n, L, C) and
    future-known ones (n, L+H, F) (or None) → (return codes (n,), the C forecasts (n, H))."""
    windows = np.asarray(windows, "<f8")
    n = len(windows)
    data = np.int32(n).tobytes()
    for k in range(n):
        data += np.int64(ts[k]).tobytes() + windows[k].tobytes()
        for a in (covs, futs):
            if a is not None:
                data += np.asarray(a[k], "<f8").tobytes()
    raw = np.frombuffer(_call(exe, data), np.uint8).reshape(n, -1)
    return raw[:, :4].copy().view("<i4")[:, 0], raw[:, 4:].copy().view("<f8")


def c_forecast(exe, s, origins, L: int, H: int) -> np.ndarray:
    """The C model_forecast of series ``s`` (a forecast Series: raw y, cov, fut) from each
    origin t: y_{t−L} … y_t, cov rows t−L+1 … t, fut rows t−L+1 … t+H → (n, H)."""
    o = np.asarray(origins, int)
    win = s.y[o[:, None] + np.arange(-L, 1)[None, :]]  # (n, L+1)
    rows = o[:, None] + np.arange(-L + 1, 1)[None, :]  # (n, L)
    covs = s.cov[rows] if s.cov.shape[1] else None
    futs = None
    if s.fut.shape[1]:
        futs = s.fut[o[:, None] + np.arange(-L + 1, H + 1)[None, :]]  # (n, L+H, F)
    rc, out = c_forecast_raw(exe, o, win, covs, futs)
    assert np.all(rc == 0), rc
    return out


def c_classify(exe, seqs, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """seqs: raw (T, F) float rows or (T,) ids → (probs (n, C), class ids (n,))."""
    data = np.int32(len(seqs)).tobytes()
    for s in seqs:
        s = np.asarray(s)
        data += (
            np.int32(len(s)).tobytes()
            + s.astype("<i4" if s.dtype.kind in "iu" else "<f4").tobytes()
        )
    raw = np.frombuffer(_call(exe, data), np.uint8).reshape(len(seqs), 4 * (n_out + 1))
    return raw[:, : 4 * n_out].copy().view("<f4"), raw[:, 4 * n_out :].copy().view("<i4")[:, 0]


def c_generate(exe, prime: str, n: int, temperature: float, seed: int) -> str:
    b = prime.encode()
    data = np.array([0, len(b)], "<i4").tobytes() + b + np.int32(n).tobytes()
    data += np.float32(temperature).tobytes() + np.uint64(seed).tobytes()
    return _call(exe, data).decode("utf-8")


def c_sample_counts(exe, p, n: int, temperature: float, seed: int) -> np.ndarray:
    data = np.int32(1).tobytes() + np.asarray(p, "<f4").tobytes() + np.int32(n).tobytes()
    data += np.float32(temperature).tobytes() + np.uint64(seed).tobytes()
    return np.frombuffer(_call(exe, data), "<i4")


def c_target_probs(exe, x_streams, y_streams) -> np.ndarray:
    """Streams (B, L) of ids and their next ids → p(next) at every step, (B, L)."""
    B, L = x_streams.shape
    xy = np.stack([x_streams, y_streams], axis=-1).astype("<i4")
    data = np.array([2, B, L], "<i4").tobytes() + xy.tobytes()
    return np.frombuffer(_call(exe, data), "<f4").reshape(B, L)


# ------------------------------------------------------------------ the jobs' data and metrics
def co2_series():
    """The bundled CO₂ series as the forecast job reads it."""
    ds = datasets.get("co2", "series")
    table = read_table(ds.path)
    return fc.load_panel(
        table, ds.columns["target"], ds.columns["time"], [], [], None, None, 1.0, ds.name
    )[0]


def run_job(series, **kw):
    """The forecast job on ``series`` (quiet; by default 3 epochs of 8 units, no backtest,
    naive as the only other candidate) → its ForecastResult (res.model, res.meta)."""
    opts = {"target": "y", "epochs": 3, "units": 8, "verbose": 0, "test_size": 0}
    opts["candidates"] = ["naive"]
    opts.update(kw)
    return fc.run_forecast(list(series), fc.ForecastConfig(**opts), None)


def stored_data(meta, s, id_value=None) -> net.NetData:
    """The job's view of series ``s`` (net.NetData) scaled by the numbers in the sidecar."""
    v = sidecar.one_series(meta, id_value)
    cs = StandardScaler(*v["cov"]) if v["cov"][0] else StandardScaler(np.zeros(0), np.ones(0))
    fs = StandardScaler(*v["fut"]) if v["fut"][0] else StandardScaler(np.zeros(0), np.ones(0))
    return net.net_data(s.y, v["prep"], s.cov, s.fut, cs, fs)


def forecast_mase(res, c_exe=None) -> float:
    """The backtest MASE of the LSTM the job reports (metrics.json "lstm"; a model trained
    with refit=False, so the saved model is the backtested one) or, with ``c_exe``, the
    same from the C model_forecast at the job's origins."""
    r = res.results[0]
    if c_exe is None:
        return r.scores["lstm"]["mase"]
    L, H_ = res.meta["lookback"], res.meta["horizon"]
    pred = c_forecast(c_exe, r.series, r.origins.t, L, H_)
    return mf.scores(r.origins.actual(r.series.y, H_), pred, r.origins.scale)["mase"]


def vowels_config() -> cl.ClassifyConfig:
    """The config ``lstmkit classify train --dataset vowels`` runs with (quiet)."""
    cfg = cl.ClassifyConfig(verbose=0)
    for role, column in datasets.get("vowels").columns.items():
        if role in ("label", "id", "text", "split", "order"):
            setattr(cfg, role, column)
    return cfg


def vowels():
    """→ (the examples, the test split's indices) of the bundled vowels data."""
    cfg = vowels_config()
    ex = cl.read_examples(datasets.get("vowels").path, cfg)
    return ex, cl.split_indices(ex, cfg)[1]


def classify_accuracy(model, meta, ex, te, c_exe=None) -> float:
    cls_id = {c: k for k, c in enumerate(meta["classes"])}
    y = np.array([cls_id[ex.labels[k]] for k in te])
    if c_exe is None:
        pred = model.predict(cl.encode(ex, meta)[te], batch_size=256).argmax(1)
    else:
        pred = c_classify(c_exe, [ex.seqs[k] for k in te], len(meta["classes"]))[1]
    return float(np.mean(pred == y))


def textgen_validation(meta, max_chars=None):
    """The held-out streams textgen measures (x, y (B_val, L)) for the model of ``meta``."""
    ds = datasets.get("pride")
    cfg = tg.TextgenConfig(**{k: v for k, v in meta["config"].items() if k != "max_chars"})
    cfg.max_chars = meta["config"]["max_chars"] if max_chars is None else max_chars
    _, _, (xv, yv), B = tg.prepare(read_text(ds.path), cfg, CharVocab(meta["chars"]))
    T = xv.shape[1]
    n_chunks = len(xv) // B
    to_streams = lambda a: a.reshape(n_chunks, B, T).transpose(1, 0, 2).reshape(B, -1)  # noqa: E731
    return to_streams(xv), to_streams(yv), (xv, yv, B)


def textgen_bpc(model, meta, c_exe=None, max_chars=None) -> float:
    x, y, (xv, yv, B) = textgen_validation(meta, max_chars)
    if c_exe is None:
        return tg.bits_per_char(model, xv, yv, B)
    p = c_target_probs(c_exe, x, y)
    return float(-np.log(np.maximum(p.astype(np.float64), 1e-12)).mean() / math.log(2))
