"""What the forecast job writes and prints: forecast.csv, metrics.json (+ series.csv for a
panel), forecast.png, the model, and the summary on stdout."""

from __future__ import annotations

import os

import numpy as np

from ..shared.modelfiles import save_job_model
from ..shared.outfiles import write_csv, write_json
from ..shared.tables import format_table
from . import metrics as mf
from . import timeaxis
from .baselines import BASELINES
from .job import ForecastResult
from .plot import PlotPanel, forecast_plot

__all__ = ["write_outputs", "summary", "aggregate"]

KEYS = ("mae", "rmse", "mase", "smape")


def aggregate(res: ForecastResult) -> dict[str, dict]:
    """Mean of each score over the series, per candidate, and OWA against naive2."""
    rows = [r for r in res.results if r.scores]
    if not rows:
        return {}
    out = {}
    for name in res.names + ["picked"]:
        vals = [r.scores[r.picked if name == "picked" else name] for r in rows]
        out[name] = {k: float(np.mean([v[k] for v in vals])) for k in KEYS}
    ref = out.get("naive2")
    for v in out.values():
        if ref:
            v["owa"] = mf.owa(v["smape"], v["mase"], ref["smape"], ref["mase"])
    return out


def _future(r, H):
    labels, fx = timeaxis.extend(r.series.axis, len(r.series.y), H)
    return labels, fx


def write_outputs(res: ForecastResult, out: str, target: str, time: str | None, title: str):
    H, level = res.plan.H, (res.conformal.level if res.conformal else 0.8)
    pct = f"{100 * level:.0f}"
    panel = len(res.results) > 1 or bool(res.meta.get("id"))
    if res.model is not None:
        res.files.append(save_job_model(res.model, out, res.meta))
        res.files.append(os.path.join(out, "model.json"))
    header = (["id"] if panel else []) + [
        time or "step",
        "forecast",
        f"lower_{pct}",
        f"upper_{pct}",
        "model",
        "lstm",
    ]
    rows = []
    for r in res.results:
        labels, _ = _future(r, H)
        assert r.forecast is not None and r.lower is not None and r.upper is not None  # job's
        for k in range(H):
            rows.append(
                ([r.series.name] if panel else [])
                + [labels[k]]
                + [_num(v[k]) for v in (r.forecast, r.lower, r.upper)]
                + [r.picked, _num(r.final["lstm"][k])]
            )
    path = os.path.join(out, "forecast.csv")
    write_csv(path, header, rows)
    res.files.append(path)
    agg = aggregate(res)
    metrics = {
        "model": res.results[0].picked if not panel else "per series",
        "why": res.results[0].why if not panel else "per series, as backtest.pick",
        "backtest": agg,
        "interval": _interval(res),
        "settings": _settings(res),
        "notes": res.notes + [n for r in res.results for n in r.series.notes],
    }
    if panel:
        metrics["series"] = {
            r.series.name: {"picked": r.picked, "backtest": r.scores} for r in res.results
        }
        path = os.path.join(out, "series.csv")
        names = res.names
        write_csv(
            path,
            ["id", "steps", "missing", "picked"] + [f"mase_{n}" for n in names],
            [
                [r.series.name, len(r.series.y), r.series.missing, r.picked]
                + [_num(r.scores[n]["mase"]) if r.scores else "" for n in names]
                for r in res.results
            ],
        )
        res.files.append(path)
    path = os.path.join(out, "metrics.json")
    write_json(path, metrics)
    res.files.append(path)
    path = os.path.join(out, "forecast.png")
    forecast_plot(path, [_panel(r, H) for r in res.results[:6]], target, level, title)
    res.files.append(path)


def _num(v) -> str:
    return "" if not np.isfinite(v) else f"{v:.6g}"


def _interval(res: ForecastResult) -> dict | None:
    c = res.conformal
    if c is None:
        return None
    return {
        "level": c.level,
        "method": "split conformal on the rolling-backtest errors, width ∝ h^b",
        "coverage_backtest": c.coverage,
        "coverage_by_origin": c.per_origin,
        "q": c.q,
        "growth": {"a": c.a, "b": c.b},
        "scores": c.n_scores,
    }


def _settings(res: ForecastResult) -> dict:
    p = res.plan
    return {
        "horizon": p.H,
        "season": p.m,
        "season_from": p.season_how,
        "lookback": p.L,
        "units": p.units,
        "origins": p.K,
        "stride": p.stride,
        "candidates": res.names,
        "epochs_run": res.epochs_run,
        "refit_epochs": res.refit_epochs,
    }


def _panel(r, H) -> PlotPanel:
    s = r.series
    x = timeaxis.positions(s.axis, len(s.y))
    _, fx = _future(r, H)
    bx, bp = [], []
    if r.origins is not None and "lstm" in r.backtest:
        for k in range(0, len(r.origins.t), -(-H // _stride(r))):  # non-overlapping
            t = r.origins.t[k]
            bx.append(x[t + 1 : t + H + 1])
            bp.append(r.backtest[r.picked][k])
    title = f"{s.name}: {H}-step forecast by {r.picked}"
    if r.scores:
        sc = r.scores
        title += (
            "  (backtest MASE "
            + ", ".join(
                f"{k} {sc[k]['mase']:.2f}"
                for k in (r.picked, "lstm", "seasonal_naive")
                if k in sc and (k != "lstm" or r.picked != "lstm")
            )
            + ")"
        )
    start = x[r.origins.train_end] if r.origins is not None else None
    return PlotPanel(x, s.y, bx, bp, fx, r.forecast, r.lower, r.upper, title, start)


def _stride(r) -> int:
    t = r.origins.t
    return int(t[1] - t[0]) if len(t) > 1 else 1


def summary(res: ForecastResult, out: str, describe: str) -> str:
    p, rs = res.plan, res.results
    r0 = rs[0]
    panel = len(rs) > 1 or bool(res.meta.get("id"))
    steps = sum(len(r.series.y) for r in rs)
    freq = r0.series.axis.frequency()[0] if r0.series.axis is not None else None
    lines = [
        describe
        + (
            f", {len(rs)} series, {steps} steps"
            if panel
            else f", {len(r0.series.y)} {freq + ' ' if freq else ''}steps"
        ),
        f"season {p.m if p.m >= 2 else 'none'} ({p.season_how}), lookback {p.L}, horizon "
        f"{p.H}, LSTM {p.units} units",
    ]
    lines += [f"note: {n}" for n in res.notes + [n for r in rs[:20] for n in r.series.notes]]
    agg = aggregate(res)
    if agg:
        o = r0.origins
        assert o is not None  # scores (so agg) come from a backtest
        lines += [
            "",
            f"rolling-origin backtest: {len(o.t)} origin(s) over the last "
            f"{len(r0.series.y) - o.train_end} steps"
            + (" of each series" if panel else "")
            + f" (models fitted on the {o.train_end} steps before)" * (not panel),
        ]
        cols = ["model", *KEYS, "owa"] if "naive2" in agg else ["model", *KEYS]
        rows = [[n] + [agg[n][k] for k in cols[1:]] for n in res.names]
        if panel:
            rows.append(["picked per series"] + [agg["picked"][k] for k in cols[1:]])
        lines.append(format_table(cols, rows, ".3f"))
        if panel:
            counts = {n: sum(r.picked == n for r in rs) for n in res.names}
            lines.append(
                "picked: "
                + ", ".join(f"{n} for {c}" for n, c in counts.items() if c)
                + " series (the lstm+ets ensemble unless a candidate clearly beats it)"
            )
        else:
            lines.append(f"picked: {r0.picked} — {r0.why}")
        base = [n for n in res.names if n in BASELINES]
        best = min(base, key=lambda n: agg[n]["mase"]) if base else None
        if best:
            a, b = agg["lstm"]["mase"], agg[best]["mase"]
            lines.append(
                f"the LSTM {'beats' if a < b else 'does NOT beat'} the best baseline, {best} "
                f"(mean MASE {a:.3f} vs {b:.3f})"
            )
        c = res.conformal
        if c is not None and c.coverage is not None:
            lines.append(
                f"{100 * c.level:.0f}% interval: conformal from the backtest errors; it covered "
                f"{100 * c.coverage:.0f}% of the backtest points (each origin left out in turn)"
            )
    lines.append(_fit_line(res))
    if not panel:
        labels, _ = _future(r0, p.H)
        assert r0.forecast is not None and r0.lower is not None  # set by run_forecast
        lines.append(
            f"next {p.H} steps ({r0.picked}): "
            + ", ".join(f"{t}: {v:.4g}" for t, v in list(zip(labels, r0.forecast, strict=True))[:6])
            + (" …" if p.H > 6 else "")
        )
        y = r0.series.y
        if np.all(y >= 0) and np.any(r0.lower < 0):
            lines.append(
                "note: the interval goes below 0 though the data never does; --nonnegative clips it"
            )
    lines.append(f"wrote: {', '.join(os.path.basename(f) for f in res.files)} in {out}/")
    lines.append(f"plot: {os.path.join(out, 'forecast.png')}")
    return "\n".join(lines)


def _fit_line(res: ForecastResult) -> str:
    """What the forecast past the end was made with."""
    if res.state == "loaded":
        return (
            "loaded model: not retrained; per-series scaling from this data (the backtest "
            "tail may be data the model was trained on)"
        )
    if res.state == "no backtest":
        return f"no backtest: every model fitted on the whole series (LSTM {res.epochs_run} epochs)"
    if res.state == "refit":
        return (
            f"refit: every model fitted again on the whole series for the forecast (LSTM "
            f"{res.epochs_run} epochs before the tail, {res.refit_epochs} on everything); "
            "--no-refit keeps the backtest models"
        )
    return "no refit (--no-refit): the forecast comes from the models fitted before the tail"
