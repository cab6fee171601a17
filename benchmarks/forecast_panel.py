"""The forecast job against statistics on public series, as a new user would check it.

For each series (from statsmodels' and sktime's bundled datasets — the ``dev`` extra
installs both; nothing is downloaded) the last H points are held out, the job runs on
the rest (rolling backtest, pick, refit) and every candidate's final forecast is scored
on the held-out H: MASE (seasonal in-sample scale) and sMAPE. Also reported: the
interval coverage on the rolling backtest (the job's own, leave-one-origin-out) and on
the held-out points. ``--timing`` instead times one panel run of N synthetic series.

    nice -n 10 python benchmarks/forecast_panel.py --out benchmarks/forecast_panel.json
    nice -n 10 python benchmarks/forecast_panel.py --timing 1000 --steps 200
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.util
import json
import os
import sys
import tempfile
import time

import numpy as np

from lstmkit.apps.forecast import job as fc
from lstmkit.apps.forecast import metrics as mf
from lstmkit.data.csv import read_table


def _sktime_csv(folder: str) -> list[list[str]]:
    spec = importlib.util.find_spec("sktime")  # the files only: sktime is not imported
    root = os.path.join(spec.submodule_search_locations[0], "datasets", "data", folder)
    with open(os.path.join(root, f"{folder}.csv")) as f:
        return list(csv.reader(f))


def _monthly(labels_values):
    return [(t, float(v)) for t, v in labels_values]


def panel() -> list[tuple[str, str, int, list[tuple[str, float]]]]:
    """(name, source, horizon, [(time label, value)])."""
    out = []
    rows = _sktime_csv("Airline")[1:]
    out.append(("airline", "sktime Airline (Box & Jenkins)", 12, _monthly(rows)))
    rows = _sktime_csv("ShampooSales")[1:]
    out.append(("shampoo", "sktime ShampooSales (Makridakis et al.)", 6, _monthly(rows)))
    rows = _sktime_csv("Lynx")[1:]
    out.append(("lynx", "sktime Lynx (Campbell & Walker)", 6, _monthly(rows)))
    # (sktime's PBS_dataset is left out: a 0/1 series that is 0 for its last 30 months,
    # so every MASE on its tail is 0 or undefined)
    rows = _sktime_csv("seatbelts")[1:]
    out.append(
        (
            "uk_ksi",
            "sktime seatbelts KSI (R datasets)",
            12,
            _monthly([(r[0][:7], r[1]) for r in rows]),
        )
    )
    rows = _sktime_csv("Uschange")[1:]
    out.append(
        (
            "us_consumption",
            "sktime Uschange (fpp2)",
            8,
            _monthly([(r[1].replace(" ", ""), r[2]) for r in rows]),
        )
    )
    nile = importlib.import_module("statsmodels.datasets.nile").load_pandas().data
    out.append(
        (
            "nile",
            "statsmodels nile",
            6,
            [(str(int(a)), float(b)) for a, b in zip(nile.year, nile.volume, strict=True)],
        )
    )
    mac = importlib.import_module("statsmodels.datasets.macrodata").load_pandas().data
    q = [f"{int(a)}Q{int(b)}" for a, b in zip(mac.year, mac.quarter, strict=True)]
    for col in ("realgdp", "cpi", "unemp", "realinv", "m1"):
        out.append(
            (
                f"us_{col}",
                f"statsmodels macrodata {col}",
                8,
                list(zip(q, mac[col].astype(float), strict=True)),
            )
        )
    el = importlib.import_module("statsmodels.datasets.elec_equip").load_pandas().data
    out.append(
        (
            "elec_equip",
            "statsmodels elec_equip (Eurostat)",
            12,
            [(t.strftime("%Y-%m"), float(v)) for t, v in zip(el.index, el.iloc[:, 0], strict=True)],
        )
    )
    dk = importlib.import_module("statsmodels.datasets.danish_data").load_pandas().data
    out.append(
        (
            "danish_lrm",
            "statsmodels danish_data lrm",
            8,
            [
                (f"{t.year}Q{(t.month - 1) // 3 + 1}", float(v))
                for t, v in zip(dk.index, dk.lrm, strict=True)
            ],
        )
    )
    ii = importlib.import_module("statsmodels.datasets.interest_inflation").load_pandas().data
    out.append(
        (
            "de_interest",
            "statsmodels interest_inflation R",
            8,
            [
                (f"{int(a)}Q{int(b)}", float(v))
                for a, b, v in zip(ii.year, ii.quarter, ii.R, strict=True)
            ],
        )
    )
    return out


def run_one(name, H, rows, tmp, seed, epochs, origins) -> dict:
    seen, held = rows[:-H], np.array([v for _, v in rows[-H:]])
    path = os.path.join(tmp, f"{name}.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", "y"])
        w.writerows(seen)
    cfg = fc.ForecastConfig(
        target="y", time="time", horizon=H, seed=seed, verbose=0, epochs=epochs, origins=origins
    )
    series = fc.load_panel(read_table(path), "y", "time", label=name)
    t0 = time.perf_counter()
    res = fc.run_forecast(series, cfg, None)
    secs = time.perf_counter() - t0
    r = res.results[0]
    y = r.series.y
    m = res.plan.m
    scale = mf.mase_scale(y, m if m >= 2 and len(y) > m else 1)
    scores = {k: mf.scores(held, v, scale) for k, v in r.final.items()}
    scores["auto"] = mf.scores(held, r.forecast, scale)
    inside = (held >= r.lower) & (held <= r.upper)
    return {
        "name": name,
        "n": len(y),
        "H": H,
        "season": m,
        "picked": r.picked,
        "seconds": secs,
        "holdout": {k: {"mase": v["mase"], "smape": v["smape"]} for k, v in scores.items()},
        "coverage_backtest": res.conformal.coverage if res.conformal else None,
        "coverage_holdout": float(inside.mean()),
        "backtest_points": int(res.conformal.n_scores) if res.conformal else 0,
        "holdout_points": int(inside.size),
        "backtest": {k: v["mase"] for k, v in r.scores.items()},
        "final": {k: v.tolist() for k, v in r.final.items()},
        "actual": held.tolist(),
        "scale": scale,
    }


def table(results: list[dict]) -> str:
    cols = ["auto", "lstm", "lstm+ets", "ets", "arima", "naive2", "seasonal_naive", "naive"]
    lines = [
        "| series | n | H | picked | " + " | ".join(cols) + " |",
        "|---|---|---|---|" + "---|" * len(cols),
    ]
    for r in results:
        h = r["holdout"]
        best = min(h[c]["mase"] for c in cols if c in h and c != "auto")
        cells = []
        for c in cols:
            v = h.get(c, {}).get("mase")
            cells.append("–" if v is None else (f"**{v:.2f}**" if v == best else f"{v:.2f}"))
        lines.append(
            f"| {r['name']} | {r['n']} | {r['H']} | {r['picked']} | " + " | ".join(cells) + " |"
        )
    mean = {
        c: np.mean([r["holdout"][c]["mase"] for r in results if c in r["holdout"]]) for c in cols
    }
    lines.append("| **mean MASE** | | | | " + " | ".join(f"{mean[c]:.3f}" for c in cols) + " |")
    sm = {
        c: np.mean([r["holdout"][c]["smape"] for r in results if c in r["holdout"]]) for c in cols
    }
    owa = {c: mf.owa(sm[c], mean[c], sm["naive2"], mean["naive2"]) for c in cols}
    lines.append("| OWA vs naive2 | | | | " + " | ".join(f"{owa[c]:.3f}" for c in cols) + " |")
    return "\n".join(lines)


def verdict(results: list[dict], level: float) -> list[str]:
    mean = {
        c: float(np.mean([r["holdout"][c]["mase"] for r in results]))
        for c in ("auto", "lstm", "ets")
    }
    worst = max(
        results,
        key=lambda r: (
            r["holdout"]["auto"]["mase"] / max(r["holdout"]["seasonal_naive"]["mase"], 1e-12)
        ),
    )
    ratio = worst["holdout"]["auto"]["mase"] / worst["holdout"]["seasonal_naive"]["mase"]
    with_cov = [r for r in results if r["coverage_backtest"] is not None]  # ≥ 2 origins
    bt_pts = sum(r["backtest_points"] for r in with_cov)
    cov_bt = sum(r["coverage_backtest"] * r["backtest_points"] for r in with_cov) / bt_pts
    ho_pts = sum(r["holdout_points"] for r in results)
    cov_ho = sum(r["coverage_holdout"] * r["holdout_points"] for r in results) / ho_pts
    return [
        f"mean MASE: auto {mean['auto']:.3f}, ets {mean['ets']:.3f} → auto ≤ ets: "
        f"{'yes' if mean['auto'] <= mean['ets'] else 'NO'}",
        f"worst auto / seasonal naive: {ratio:.3f} on {worst['name']} → within 5 %: "
        f"{'yes' if ratio <= 1.05 else 'NO'}",
        f"LSTM alone / ETS mean MASE: {mean['lstm'] / mean['ets']:.3f} → within 15 %: "
        f"{'yes' if mean['lstm'] <= 1.15 * mean['ets'] else 'NO'}",
        f"{100 * level:.0f}% interval coverage: rolling backtest {100 * cov_bt:.1f}% "
        f"({bt_pts} points), held-out {100 * cov_ho:.1f}% ({ho_pts} points) → backtest within "
        f"±10 points: {'yes' if abs(cov_bt - level) <= 0.10 else 'NO'}",
    ]


def timing(n_series: int, steps: int, seed: int, epochs: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "panel.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "month", "y"])
            for i in range(n_series):
                lvl, amp, tr = rng.uniform(20, 200), rng.uniform(0, 0.3), rng.normal(0, 0.003)
                y = lvl * np.exp(tr * t) * (1 + amp * np.sin(2 * np.pi * (t + i) / 12))
                y *= np.exp(np.cumsum(rng.normal(0, 0.02, steps)))
                for k in range(steps):
                    w.writerow([f"s{i}", f"{2000 + k // 12}-{k % 12 + 1:02d}", f"{y[k]:.3f}"])
        t0 = time.perf_counter()
        table_ = read_table(path)
        series = fc.load_panel(table_, "y", "month", id_col="id")
        t1 = time.perf_counter()
        cfg = fc.ForecastConfig(
            target="y", time="month", id="id", horizon=12, seed=seed, verbose=1, epochs=epochs
        )
        res = fc.run_forecast(series, cfg, None)
        t2 = time.perf_counter()
    print(
        f"{n_series} series × {steps} steps: read {t1 - t0:.1f} s, backtest + refit + "
        f"forecast {t2 - t1:.1f} s; LSTM epochs {res.epochs_run} + {res.refit_epochs}; "
        f"candidates {', '.join(res.names)}"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--only", default="", help="comma-separated series names")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--origins", type=int, default=5, help="backtest origins (the job's default 5)")
    p.add_argument("--timing", type=int, help="time a panel of this many synthetic series")
    p.add_argument("--steps", type=int, default=200)
    a = p.parse_args(argv)
    if a.timing:
        timing(a.timing, a.steps, a.seed, a.epochs)
        return 0
    only = {s for s in a.only.split(",") if s}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, source, H, rows in panel():
            if only and name not in only:
                continue
            r = run_one(name, H, rows, tmp, a.seed, a.epochs, a.origins)
            r["source"] = source
            results.append(r)
            print(
                f"{name:15s} n={r['n']:4d} H={H:2d} picked {r['picked']:14s} auto "
                f"{r['holdout']['auto']['mase']:.3f} lstm {r['holdout']['lstm']['mase']:.3f} "
                f"ets {r['holdout']['ets']['mase']:.3f} snaive "
                f"{r['holdout']['seasonal_naive']['mase']:.3f}  ({r['seconds']:.0f} s)",
                flush=True,
            )
    print()
    print(table(results))
    print()
    for line in verdict(results, 0.8):
        print(line)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"results": results, "argv": sys.argv[1:]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
