"""``lstmkit forecast``: the command-line face of :mod:`lstmkit.apps.forecast`."""

from __future__ import annotations

from ...data import datasets
from ...data.csv import read_table
from ...errors import UserError
from ..shared.args import float_in, int_in, seed, with_range
from ..shared.modelfiles import load_job_model
from ..shared.outdir import prepare_out_dir
from . import job as fc
from . import sidecar, timeaxis

HELP = "forecast a time series H steps ahead with an LSTM (backtest vs naive baselines)"
DESCRIPTION = """\
Train a direct multi-step LSTM on a CSV column, backtest it on the held-out tail
against the naive and seasonal-naive forecasts, and forecast H steps past the end.

Writes DIR/forecast.csv, DIR/metrics.json, DIR/forecast.png, DIR/model.safetensors
(+ DIR/model.json, the scaler and settings). DIR must be new or empty (--force
replaces this job's files in it); without --out a new lstmkit-runs/forecast-N is made.

examples:
  lstmkit forecast --out out/co2                       # bundled Mauna Loa CO2 series
  lstmkit forecast sales.csv --target units --time date --horizon 6 --out out/sales
  lstmkit forecast --model out/co2/model.safetensors new_co2.csv --out out/co2-next
"""


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
        help="time column (labels the output; default: a column named "
        "time/date/month/year… if any)",
    )
    p.add_argument("--covariates", default="", help="comma-separated extra input columns")
    p.add_argument(
        "--horizon",
        type=int_in(1, 10_000),
        default=12,
        help=with_range("steps to forecast", 1, 10_000, default=12),
    )
    p.add_argument(
        "--lookback",
        type=int_in(1, 100_000),
        help=with_range("input window", 1, 100_000, default="2·season"),
    )
    p.add_argument(
        "--season",
        type=int_in(2, 100_000),
        help=with_range("seasonal period", 2, 100_000, default="detected"),
    )
    p.add_argument(
        "--test-size",
        type=int_in(1, 10**7),
        help=with_range("held-out tail length", 1, 10**7, default="max(2H, 20%%)"),
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
        default=32,
        help=with_range("batch size", 1, 10**6, default=32),
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
    p.add_argument("--model", help="forecast with a saved model instead of training")
    p.add_argument("--out", help="output directory (new or empty)")
    p.add_argument("--force", action="store_true", help="allow a non-empty --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:

    if args.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {args.epochs}")
    credit = None
    if args.csv is None:
        if args.model:
            raise UserError("--model needs a CSV to forecast from")
        ds = datasets.get(args.dataset, "series")
        path, credit = ds.path, ds.credit()
        target = args.target or ds.columns["target"]
        time = args.time or ds.columns["time"]
        season = args.season if args.season is not None else ds.season
        name = ds.name
    else:
        path, target, time, season = args.csv, args.target, args.time, args.season
        name = args.csv
    table = read_table(path)
    model = meta = None
    if args.model:
        model, meta = load_job_model(args.model, "forecast", sidecar.check)
        if target and target != meta["target"]:
            raise UserError(f"the model forecasts column '{meta['target']}', got --target {target}")
        target, time = meta["target"], time or meta["time"]
        covs = meta["covariates"]
    else:
        if not target:
            raise UserError(
                f"--target is required with a CSV; columns are: {', '.join(table.columns)}"
            )
        covs = [c.strip() for c in args.covariates.split(",") if c.strip()]
    table.index(target)
    if time is None:
        time = fc.guess_time_column(table.columns, target)
    elif time:
        table.index(time)
    cfg = fc.ForecastConfig(
        target=target,
        time=time,
        covariates=covs,
        horizon=args.horizon,
        lookback=args.lookback,
        season=season,
        test_size=args.test_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        units=args.units,
        learning_rate=args.learning_rate,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )
    s = fc.load_series(table, cfg, name)
    timeaxis.check_order(s.times, cfg.time)  # no repeated or disordered times
    if model is None:
        fc.resolve(cfg, len(s.y), s.y)  # check the length before making DIR
    out = prepare_out_dir(args.out, "forecast", args.force)
    if credit:
        print(f"data: {credit}")
    res = fc.run_forecast(s, cfg, out, model=model, meta=meta)
    print(fc.summary(res, s, out))
    return 0
