"""The figures of docs/export_c.md: the jobs' models exported to C, float32 and int8.

For each job directory (trained by the CLI) it measures, from the compiled C (gcc -O2):
the task metric (forecast backtest MASE, classify test accuracy, textgen validation bits per
character) from predict, from the float32 C and from the int8 C; the int8 error against the
float32 C on the same validation data; and for a Cortex-M4 (arm-none-eabi-gcc, -O2 and -Os)
the size of the object (arm-none-eabi-size) and the instructions per step under QEMU
(mps2-an386, -icount shift=0).

    lstmkit forecast --no-refit --out /tmp/x/forecast
    lstmkit classify train --dataset vowels --out /tmp/x/vowels
    lstmkit textgen train --epochs 1 --out /tmp/x/textgen
    python benchmarks/export_c_report.py /tmp/x/forecast /tmp/x/vowels /tmp/x/textgen

Prints a Markdown report and writes it (and a JSON) to --out (default: benchmarks/).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tests.io import _c_harness as H  # noqa: E402
from tests.io import _c_jobs as J  # noqa: E402

from lstmkit.apps.export.c_job import c_arguments  # noqa: E402
from lstmkit.apps.forecast import backtest as bt  # noqa: E402
from lstmkit.apps.forecast import metrics as mf  # noqa: E402
from lstmkit.apps.forecast import net  # noqa: E402
from lstmkit.apps.shared.modelfiles import load_job_model  # noqa: E402
from lstmkit.io import export_c  # noqa: E402

METRIC = {"forecast": "MASE", "classify": "accuracy", "textgen": "bits/char"}


def task_figures(job, model, meta, tmp):
    """→ {python, c_float, c_int8, error lines} for one job."""
    exes, res = {}, {}
    for q in (None, "int8"):
        d = os.path.join(tmp, f"{job}_{q}")
        res[q] = export_c(model, d, quantize=q, **c_arguments(meta))
        exes[q] = J.compile_driver(d, job)
        exes[q, "raw"] = H.compile_host(d)
    out = {"weights": {str(q): r.weight_bytes for q, r in res.items()}}
    out["state_bytes"] = res[None].state_bytes
    if job == "forecast":
        # the job's default backtest origins; the sidecar's scaling (a model trained with
        # --no-refit: that is the backtested one, so the MASE is on held-out points)
        s = J.co2_series()
        L, Hh, m = meta["lookback"], meta["horizon"], meta["season"]
        o = bt.place_origins(s.y, Hh, m, 5, max(1, -(-Hh // 2)), None)
        d = J.stored_data(meta, s)
        X = net.make_windows(d, o.t, L, Hh, targets=False)
        levels = {"py": net.predict_net(model, [d], [o.t], L, Hh)[0]}
        for q in (None, "int8"):
            levels[q] = J.c_forecast(exes[q], s, o.t, L, Hh)
        actual = o.actual(s.y, Hh)
        metric = [mf.scores(actual, levels[k], o.scale)["mase"] for k in ("py", None, "int8")]
        raw = {q: H.run_host(exes[q, "raw"], X, 0, Hh)[:, 0] for q in (None, "int8")}
        lv = {q: levels[q] for q in (None, "int8")}
        out["error"] = (
            f"model output (standardised): max |Δ| {np.max(np.abs(raw['int8'] - raw[None])):.3g}, "
            f"mean {np.mean(np.abs(raw['int8'] - raw[None])):.3g}; forecast levels: max "
            f"|Δ| {np.max(np.abs(lv['int8'] - lv[None])):.3g} on {len(o.t)} backtest windows"
        )
        out["T"] = L
    elif job == "classify":
        ex, te = J.vowels()
        metric = [J.classify_accuracy(model, meta, ex, te)] + [
            J.classify_accuracy(model, meta, ex, te, exes[q]) for q in (None, "int8")
        ]
        pr = {
            q: J.c_classify(exes[q], [ex.seqs[k] for k in te], len(meta["classes"]))
            for q in exes
            if not isinstance(q, tuple)
        }
        dp = np.abs(pr["int8"][0] - pr[None][0])
        flips = int(np.sum(pr["int8"][1] != pr[None][1]))
        out["error"] = (
            f"class probabilities: max |Δ| {dp.max():.3g}, mean {dp.mean():.3g}; "
            f"{flips} of {len(te)} test predictions change"
        )
        out["T"] = meta["maxlen"] // meta.get("patch", 1)  # the model steps
    else:
        x, y, _ = J.textgen_validation(meta)
        metric = [J.textgen_bpc(model, meta)]
        p = {}
        for q in (None, "int8"):
            p[q] = J.c_target_probs(exes[q], x, y)
            metric.append(
                float(-np.log(np.maximum(p[q].astype(np.float64), 1e-12)).mean() / np.log(2))
            )
        dp = np.abs(p["int8"] - p[None])
        out["error"] = (
            f"p(next character): max |Δ| {dp.max():.3g}, mean {dp.mean():.3g} over {p[None].size} "
            f"validation characters"
        )
        out["T"] = 64
    out["metric"] = metric
    out["streams"] = res[None].streams
    out["host_us"] = {
        str(q): host_us_per_step(exes[q, "raw"], model, meta, res[q].streams, out["T"])
        for q in (None, "int8")
    }
    return out, res


def host_us_per_step(exe, model, meta, streams=True, T_run=26, T=4000, reps=3) -> float:
    """µs per time step of the compiled C on this machine (gcc -O2), best of ``reps``: a
    model that streams, ``step`` along a T-step stream minus a 1-step one (process start);
    one that needs whole sequences, ``run`` on 200 sequences of T_run steps minus on 1."""
    rng = np.random.default_rng(0)
    if len(model.input_shape) == 1:
        mk = lambda n, t: rng.integers(0, len(meta["chars"]), (n, t))  # noqa: E731
    else:
        mk = lambda n, t: rng.standard_normal((n, t, model.input_shape[-1])).astype(np.float32)  # noqa: E731
    sizes = [(1, 1), (1, T)] if streams else [(1, T_run), (200, T_run)]
    best = {}
    for n, t in sizes:
        x = mk(n, t)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            H.run_host(exe, x, 2 if streams else 0, model.output_shape[-1])
            times.append(time.perf_counter() - t0)
        best[n, t] = min(times)
    (n0, t0_), (n1, t1) = sizes
    return (best[n1, t1] - best[n0, t0_]) / (n1 * t1 - n0 * t0_) * 1e6


def m4_figures(model, meta, job, tmp):
    """Sizes (-O2, -Os) and QEMU instructions per step, float32 and int8."""
    rows = []
    D = model.input_shape[-1] if len(model.input_shape) == 2 else None
    rng = np.random.default_rng(0)
    T = {
        "forecast": meta.get("lookback", 24),
        "classify": meta.get("maxlen", 29) // meta.get("patch", 1),
    }.get(job, 64)
    if D is None:
        x_run = rng.integers(0, len(meta["chars"]), (1, T))
        x_stream = rng.integers(0, len(meta["chars"]), 32)
    else:
        x_run = rng.standard_normal((1, T, D)).astype(np.float32)
        x_stream = rng.standard_normal((32, D)).astype(np.float32)
    for q in (None, "int8"):
        d = os.path.join(tmp, f"m4_{job}_{q}")
        res = export_c(model, d, quantize=q, measure=False, **c_arguments(meta))
        row = {"quantize": q or "float32", "weights": res.weight_bytes, "state": res.state_bytes}
        for opt in ("-O2", "-Os"):
            _, size = H.compile_m4_object(d, opt=opt)
            row[f"text{opt}"] = size["text"]
            row[f"ram{opt}"] = size["data"] + size["bss"]
        for opt in ("-O2", "-Os"):
            out = H.run_qemu(H.build_m4_firmware(d, "model", x_run, x_stream, opt=opt))
            assert abs(out["calib_ticks"] - 5000) <= 50, out["calib_ticks"]
            row[f"insn_run{opt}"] = 40 * out["run_ticks"] / out["runs"]
            # a model that needs whole sequences has no step: run / T
            row[f"insn_step{opt}"] = (
                40 * out["step_ticks"] / out["steps"]
                if "steps" in out
                else row[f"insn_run{opt}"] / T
            )
        row["T"] = T
        rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+", help="job directories (forecast, classify, textgen)")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args(argv)
    lines, report = ["# export_c: the jobs' models in C", ""], {}
    with tempfile.TemporaryDirectory() as tmp:
        for d in args.dirs:
            meta = json.load(open(os.path.join(d, "model.json")))
            job = meta["lstmkit_task"]
            model, meta = load_job_model(d, job)
            fig, _ = task_figures(job, model, meta, tmp)
            m4 = m4_figures(model, meta, job, tmp)
            report[job] = {"task": fig, "m4": m4}
            py, cf, c8 = fig["metric"]
            rel = (c8 - cf) / cf
            lines += [
                f"## {job} ({d})",
                "",
                f"{METRIC[job]}: predict {py:.6f}, C float32 {cf:.6f}, C int8 {c8:.6f} "
                f"(int8 vs float32: {rel:+.3%})",
                "",
                f"int8 vs float32 C: {fig['error']}",
                "",
                f"this machine (gcc -O2): {fig['host_us']['None']:.1f} µs per step float32, "
                f"{fig['host_us']['int8']:.1f} µs int8"
                + ("" if fig["streams"] else f" (run over {fig['T']}-step sequences)"),
                "",
                "| Cortex-M4 | weights | state (RAM) | text -O2 | text -Os | data+bss | "
                f"insn/step -O2 | insn/step -Os | insn/run of {m4[0]['T']} steps -O2 |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for r in m4:
                lines.append(
                    f"| {r['quantize']} | {r['weights']:,} | {r['state']:,} | {r['text-O2']:,} | "
                    f"{r['text-Os']:,} | {r['ram-O2']} | {r['insn_step-O2']:,.0f} | "
                    f"{r['insn_step-Os']:,.0f} | {r['insn_run-O2']:,.0f} |"
                )
            lines.append("")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(args.out, "export_c_results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(args.out, "export_c_results.json"), "w") as f:
        json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
