"""``lstmkit forecast``: the command-line face of :mod:`lstmkit.apps.forecast`."""

from __future__ import annotations

import argparse
import os
import sys

from ...data import datasets
from ...data.csv import read_table
from ...errors import UserError
from ..shared.args import float_in, int_in, seed, with_range
from ..shared.modelfiles import load_job_model
from ..shared.outdir import prepare_out_dir
from . import job as fc
from . import report, sidecar
from .baselines import BASELINES

HELP = "forecast one series or a panel H steps ahead (LSTM vs ETS, ARIMA, naive; backtested)"
MODELS = ("auto", "lstm", "lstm+ets", *BASELINES)
DESCRIPTION = """\
Forecast a CSV column (one series, or one per --id value) H steps past its end. Every
candidate — naive, seasonal naive, Naive2, ETS, ARIMA, one global LSTM over all series
and the LSTM+ETS mean — is scored on a rolling-origin backtest (several origins in the
held-out tail); --model auto (the default) keeps the LSTM+ETS ensemble per series
unless a candidate beats it on the backtest by more than --switch-margin, and says
which and why. The series is log-transformed when its season is multiplicative and
seasonally adjusted before the LSTM sees it; missing values are interpolated (and
counted); every model is refitted on the whole series for the forecast (--no-refit to
skip). Intervals are conformal, from the backtest errors, with their coverage on the
backtest printed. ETS and ARIMA need statsmodels (pip install 'lstmkit[stats]'); without
it ETS is lstmkit's own damped Holt and ARIMA is left out. docs/forecast.md has more.

Writes DIR/forecast.csv, DIR/metrics.json, DIR/forecast.png, DIR/model.safetensors
(+ DIR/model.json) and, for a panel, DIR/series.csv. DIR must be new or empty (--force
first removes the files of the earlier run there); without --out a new
lstmkit-runs/forecast-N is made.

examples:
  lstmkit forecast --out out/co2                       # bundled Mauna Loa CO2 series
  lstmkit forecast sales.csv --target units --time date --horizon 6 --out out/sales
  lstmkit forecast stores.csv --id store --target sales --time week --out out/stores
  lstmkit forecast sales.csv --target units --future-covariates price,holiday --out o
  lstmkit forecast --load out/co2/model.safetensors new_co2.csv --out out/co2-next
"""


def _csv_list(text: str) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def add_arguments(p) -> None:
    p.add_argument("csv", nargs="?", help="CSV file (.csv or .csv.gz); default: a bundled series")
    p.add_argument(
        "--dataset",
        default="co2",
        choices=["co2", "elnino", "sunspots"],
        help="bundled series used when no CSV is given (default: co2)",
    )
    p.add_argument("--target", help="column to forecast (required with a CSV)")
    p.add_argument(
        "--time",
        help="time column (default: a column named time/date/month/year…; "
        "'' for none: rows are equally spaced steps)",
    )
    p.add_argument(
        "--time-format",
        help="strptime pattern of the time column, e.g. %%d.%%m.%%Y "
        "(YYYY-MM, MM/YYYY, 1959Q1, ISO dates are read without it)",
    )
    p.add_argument("--id", help="id column of a panel: one series per value, one global LSTM")
    p.add_argument("--covariates", default="", help="comma-separated past covariate columns")
    p.add_argument(
        "--future-covariates",
        default="",
        help="comma-separated future-known columns (calendar, price…): given in H "
        "rows after the last target value, whose target cell is empty",
    )
    p.add_argument(
        "--horizon",
        type=int_in(1, 10_000),
        default=12,
        help=with_range("steps to forecast", 1, 10_000, default=12),
    )
    p.add_argument(
        "--lookback",
        type=int_in(1, 100_000),
        help=with_range("input window", 1, 100_000, default="2*season, at least 8"),
    )
    p.add_argument(
        "--season",
        type=int_in(1, 100_000),
        help=with_range(
            "seasonal period (1: none)",
            1,
            100_000,
            default="from the time column's frequency, else detected",
        ),
    )
    p.add_argument(
        "--test-size",
        type=int_in(0, 10**7),
        help=with_range(
            "backtest tail length (0: no backtest)", 0, 10**7, default="H + (origins-1)*stride"
        ),
    )
    p.add_argument(
        "--origins",
        type=int_in(1, 10_000),
        default=5,
        help=with_range("backtest origins", 1, 10_000, default=5),
    )
    p.add_argument(
        "--stride",
        type=int_in(1, 10**6),
        help=with_range("steps between origins", 1, 10**6, default="ceil(H/2)"),
    )
    p.add_argument(
        "--model",
        default="auto",
        help="auto (default: the lstm+ets ensemble unless a candidate clearly beats it on "
        "the backtest) or one of: " + ", ".join(MODELS[1:]),
    )
    p.add_argument(
        "--switch-margin",
        type=float_in(0, 100),
        default=20,
        help=with_range(
            "auto keeps the lstm+ets ensemble unless a candidate beats its backtest MASE "
            "by more than this %%",
            0,
            100,
            default=20,
        ),
    )
    p.add_argument(
        "--candidates",
        default="",
        help="comma-separated candidates (default: all; the LSTM is always trained)",
    )
    p.add_argument("--load", metavar="MODEL", help="forecast with a saved LSTM instead of training")
    p.add_argument(
        "--refit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refit every model on the whole series for the forecast (default: on)",
    )
    p.add_argument(
        "--interval",
        type=float_in(0, 100, lo_open=True, hi_open=True),
        default=80,
        help=with_range("interval level in %%", 0, 100, True, True, default=80),
    )
    p.add_argument("--nonnegative", action="store_true", help="clip forecasts and intervals at 0")
    p.add_argument(
        "--max-missing",
        type=float_in(0, 100, hi_open=True),
        default=20,
        help=with_range(
            "most missing values interpolated, %% of a series", 0, 100, hi_open=True, default=20
        ),
    )
    p.add_argument(
        "--transform",
        default="auto",
        choices=["auto", "log", "none"],
        help="auto: log when the season is multiplicative (default)",
    )
    p.add_argument(
        "--deseason",
        default="auto",
        choices=["auto", "on", "off"],
        help="seasonal adjustment before the LSTM (auto: when the season tests significant)",
    )
    p.add_argument(
        "--epochs",
        type=int_in(1, 10**6),
        default=150,
        help=with_range("maximum epochs (early stopping)", 1, 10**6, default=150),
    )
    p.add_argument(
        "--batch-size",
        type=int_in(1, 10**6),
        help=with_range("batch size", 1, 10**6, default="32 (256 for more than 4000 windows)"),
    )
    p.add_argument(
        "--units",
        type=int_in(1, 65536),
        default=32,
        help=with_range("LSTM units", 1, 65536, default=32),
    )
    p.add_argument(
        "--learning-rate",
        type=float_in(0, 100, lo_open=True),
        default=3e-3,
        help=with_range("Adam learning rate", 0, 100, lo_open=True, default=3e-3),
    )
    p.add_argument(
        "--seed", type=seed(), default=0, help=with_range("seed", 0, 2**32 - 1, default=0)
    )
    p.add_argument("--out", help="output directory (new or empty)")
    p.add_argument("--force", action="store_true", help="allow a non-empty --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    load = args.load
    if args.model not in MODELS:
        if os.path.exists(args.model):  # the option's old meaning: a saved model
            print(f"note: --model FILE is now --load FILE; loading {args.model}", file=sys.stderr)
            load, args.model = args.model, "auto"
        else:
            raise UserError(f"--model must be one of {', '.join(MODELS)}, got {args.model!r}")
    credit = None
    if args.csv is None:
        if load:
            raise UserError("--load needs a CSV to forecast from")
        ds = datasets.get(args.dataset, "series")
        path, credit = ds.path, ds.credit()
        target = args.target or ds.columns["target"]
        time = args.time if args.time is not None else ds.columns["time"]
        season = args.season if args.season is not None else ds.season
        name = ds.name
    else:
        path, target, time, season = args.csv, args.target, args.time, args.season
        name = os.path.basename(args.csv)
    table = read_table(path)
    model = meta = None
    covs, futs, id_col = _csv_list(args.covariates), _csv_list(args.future_covariates), args.id
    time_format = args.time_format
    if load:
        model, meta = load_job_model(load, "forecast", sidecar.check)
        if not sidecar.is_current(meta):
            raise UserError(
                f"{load} was written by an older lstmkit forecast (other windows); "
                "train a new model"
            )
        if target and target != meta["target"]:
            raise UserError(f"the model forecasts column '{meta['target']}', got --target {target}")
        target, time = meta["target"], time if time is not None else meta["time"]
        covs, futs = meta["covariates"], meta["future_covariates"]
        id_col, time_format = id_col or meta["id"], time_format or meta["time_format"]
    elif not target:
        raise UserError(f"--target is required with a CSV; columns are: {', '.join(table.columns)}")
    table.index(target)
    if time is None:
        time = fc.guess_time_column(table.columns, target)
    cfg = fc.ForecastConfig(
        target=target,
        time=time or None,
        covariates=covs,
        future_covariates=futs,
        id=id_col,
        time_format=time_format,
        horizon=args.horizon,
        lookback=args.lookback,
        season=season,
        test_size=args.test_size,
        origins=args.origins,
        stride=args.stride,
        epochs=args.epochs,
        batch_size=args.batch_size,
        units=args.units,
        learning_rate=args.learning_rate,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        model=args.model,
        candidates=_csv_list(args.candidates) or None,
        refit=args.refit,
        level=args.interval / 100,
        nonnegative=args.nonnegative,
        max_missing=args.max_missing / 100,
        transform=args.transform,
        deseason=args.deseason,
        switch_margin=args.switch_margin / 100,
    )
    if meta:
        cfg.transform, cfg.deseason = meta["transform"], meta["deseason"]
    series = fc.load_panel(
        table, target, cfg.time, covs, futs, id_col, time_format, cfg.max_missing, name
    )
    fc.resolve(cfg, series, meta)  # refuse a short series before making DIR
    fc.candidate_names(cfg, len(series))
    out = prepare_out_dir(args.out, "forecast", args.force)
    if credit:
        print(f"data: {credit}")
    res = fc.run_forecast(series, cfg, out, model=model, meta=meta)
    report.write_outputs(res, out, target, cfg.time, _title(name, target, len(series)))
    describe = f"series: {name}, target '{target}'"
    print(report.summary(res, out, describe))
    return 0


def _title(name: str, target: str, n: int) -> str:
    return f"{name} — '{target}'" + (f", {n} series" if n > 1 else "")
