"""From a CSV table to clean series: one per id (``--id``), in time order, on a regular
grid, with missing values filled — or a refusal that says what was found where.

What is done with each problem (in this order, per series):

* **unsorted rows** (by the time column): sorted, and a note names the first row out of order;
* **duplicate time labels**: refused, naming the label and both data rows;
* **irregular spacing** (a gap that is not a multiple of the usual step): refused, naming
  the two rows; a gap that is a multiple (a month absent from a monthly file) is filled
  with missing rows;
* **missing values** (empty cells, NA, N/A, NaN, null) of the target or a covariate:
  leading ones are dropped, trailing target-less rows are the *future rows* (they carry
  future-known covariates; without such covariates they are dropped), the rest is linearly
  interpolated and counted; more than ``max_missing`` (a share) missing is refused with
  the count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import UserError
from . import timeaxis
from .timeaxis import Axis

__all__ = ["Series", "load_panel", "guess_time_column"]

TIME_NAMES: tuple[str, ...] = (
    "time",
    "date",
    "month",
    "year",
    "datetime",
    "timestamp",
    "ds",
    "period",
)
TIME_NAMES += ("week", "day", "quarter")


@dataclass
class Series:
    """One series: target ``y`` (N,), past covariates ``cov`` (N, Cp), future-known
    covariates ``fut`` (N + F, Cf) whose last F rows are the future rows, and its axis."""

    name: str
    y: np.ndarray
    cov: np.ndarray
    times: list[str] | None = None
    fut: np.ndarray | None = None
    axis: Axis | None = None
    missing: int = 0
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.fut is None:
            self.fut = np.zeros((len(self.y), 0))

    @property
    def future_rows(self) -> int:
        assert self.fut is not None  # set by __post_init__
        return len(self.fut) - len(self.y)


def guess_time_column(columns: list[str], target: str) -> str | None:
    for c in columns:
        if c != target and c.strip().lower() in TIME_NAMES:
            return c
    return None


def _rows_of(table, id_col: str | None) -> list[tuple[str, list[int]]]:
    if not id_col:
        return [("", list(range(len(table))))]
    groups: dict[str, list[int]] = {}
    for k, v in enumerate(table.strings(id_col)):
        groups.setdefault(v.strip(), []).append(k)
    return list(groups.items())


def _fill(v: np.ndarray, what: str, where: str) -> tuple[np.ndarray, int]:
    """Linear interpolation of the NaNs inside v (the ends must be finite)."""
    bad = np.isnan(v)
    if not bad.any():
        return v, 0
    k = np.arange(len(v))
    if bad.all():
        raise UserError(f"{what}{where} has no values at all")
    v = v.copy()
    v[bad] = np.interp(k[bad], k[~bad], v[~bad])
    return v, int(bad.sum())


def _one(cols, name, rows, target, time, covs, futs, time_format, max_missing) -> Series:
    """One series from the table's columns ``cols`` (name → values), rows ``rows``."""
    where = f" of series {name!r}" if name else ""
    data_row = np.asarray(rows) + 1  # 1-based data rows of the file
    y = cols[target][rows]
    cov = np.stack([cols[c][rows] for c in covs], 1) if covs else None
    fut = np.stack([cols[c][rows] for c in futs], 1) if futs else None
    notes: list[str] = []
    axis = None
    if time:
        labels = [cols[time][k] for k in rows]
        axis = timeaxis.parse(labels, time_format, time, data_row)
        if axis.warning:
            notes.append(axis.warning)
        o = axis.ordinal if axis.understood else None
        if o is not None and np.any(np.diff(o) < 0):
            first = int(np.argmax(np.diff(o) < 0)) + 1
            notes.append(
                f"rows{where} were not in time order (data row {data_row[first]}, "
                f"{labels[first]!r}, comes after {labels[first - 1]!r}); sorted by {time!r}"
            )
            order = np.argsort(o, kind="stable")
            y, data_row, o = y[order], data_row[order], o[order]
            labels = [labels[k] for k in order]
            cov = cov[order] if cov is not None else None
            fut = fut[order] if fut is not None else None
        keys = o if o is not None else np.array([hash(t) for t in labels])
        seen: dict = {}
        for k, key in enumerate(keys.tolist()):
            if key in seen and (o is not None or labels[seen[key]] == labels[k]):
                raise UserError(
                    f"time column {time!r}{where} has {labels[k]!r} twice (data rows "
                    f"{data_row[seen[key]]} and {data_row[k]}); expected one row per time step"
                )
            seen[key] = k
        if o is not None and len(o) > 1:
            step = axis.step()
            d = np.diff(o)
            odd = np.nonzero(d % step)[0]
            if len(odd):
                k = int(odd[0])
                raise UserError(
                    f"irregular spacing in time column {time!r}{where}: most steps are "
                    f"{step} {axis.unit}(s) apart, but data rows {data_row[k]} and "
                    f"{data_row[k + 1]} ({labels[k]!r} → {labels[k + 1]!r}) are {d[k]} apart; "
                    f"resample to a regular grid, or pass --time '' to treat rows as steps"
                )
            if np.any(d > step):
                full = np.arange(o[0], o[-1] + 1, step)
                pos = ((o - o[0]) // step).astype(int)
                absent = len(full) - len(o)
                k = int(np.argmax(d > step))
                notes.append(
                    f"{absent} time step(s){where} absent from the file (the first after "
                    f"{labels[k]!r}) were added as missing values"
                )

                def spread(a):
                    if a is None:
                        return None
                    b = np.full((len(full),) + a.shape[1:], np.nan)
                    b[pos] = a
                    return b

                y, cov, fut = spread(y), spread(cov), spread(fut)
                labels = [axis.label(v) for v in full]
                data_row = spread(data_row.astype(float))
                o = full
            axis = Axis(axis.unit, o, axis.fmt, labels, axis.warning)
        elif o is None:
            axis = Axis(axis.unit, axis.ordinal, axis.fmt, labels, axis.warning)
    have = np.nonzero(~np.isnan(y))[0]
    if len(have) == 0:
        raise UserError(
            f"column {target!r}{where} has {len(y)} missing values out of {len(y)}: no data"
        )
    lo, hi = int(have[0]), int(have[-1]) + 1  # [lo, hi): from the first to the last value
    n_future = len(y) - hi if futs else 0
    if lo:
        notes.append(f"{lo} leading row(s){where} without a {target!r} value dropped")
    if len(y) - hi and not futs:
        notes.append(f"{len(y) - hi} trailing row(s){where} without a {target!r} value ignored")
    keep = slice(lo, hi + n_future)
    y, y_rows = y[lo:hi], len(y[lo:hi])
    missing = int(np.isnan(y).sum())
    if missing > max_missing * y_rows:
        raise UserError(
            f"column {target!r}{where} has {missing} missing values out of {y_rows} "
            f"({100 * missing / y_rows:.0f} %); at most {100 * max_missing:.0f} % can be "
            f"interpolated (--max-missing)"
        )
    y, _ = _fill(y, f"column {target!r}", where)
    if missing:
        notes.append(f"interpolated {missing} missing value(s) of {target!r}{where}")
    if cov is not None:
        cov = cov[lo:hi]
        for j, c in enumerate(covs):
            cov[:, j], got = _fill(cov[:, j], f"covariate {c!r}", where)
            if got > max_missing * y_rows:
                raise UserError(
                    f"covariate {c!r}{where} has {got} missing values out of {y_rows}; at "
                    f"most {100 * max_missing:.0f} % can be interpolated (--max-missing)"
                )
            if got:
                notes.append(f"interpolated {got} missing value(s) of {c!r}{where}")
    if fut is not None:
        fut = fut[keep]
        for j, c in enumerate(futs):
            gap = np.nonzero(np.isnan(fut[hi - lo :, j]))[0]
            if len(gap):
                raise UserError(
                    f"future-known covariate {c!r}{where} is empty in future row "
                    f"{gap[0] + 1} (a row after the last {target!r} value); it must be "
                    f"given for every future row"
                )
            fut[: hi - lo, j], got = _fill(fut[: hi - lo, j], f"covariate {c!r}", where)
            if got:
                notes.append(f"interpolated {got} missing value(s) of {c!r}{where}")
    if axis is not None:  # the axis of the target's rows (future rows continue it)
        rows_y = slice(lo, hi)
        axis = Axis(axis.unit, axis.ordinal[rows_y], axis.fmt, axis.labels[rows_y], axis.warning)
    return Series(
        name,
        y,
        cov if cov is not None else np.zeros((len(y), 0)),
        axis.labels if axis is not None else None,
        fut if fut is not None else np.zeros((len(y), 0)),
        axis,
        missing,
        notes,
    )


def load_panel(
    table,
    target: str,
    time: str | None = None,
    covariates: list[str] | None = None,
    future_covariates: list[str] | None = None,
    id_col: str | None = None,
    time_format: str | None = None,
    max_missing: float = 0.2,
    label: str = "",
) -> list[Series]:
    """Every series of the table (one per value of ``id_col``, in order of first appearance)."""
    for c in [target, time, id_col, *(covariates or []), *(future_covariates or [])]:
        if c:
            table.index(c)
    cols = {c: table.numeric_or_missing(c) for c in [target, *(covariates or [])]}
    cols.update({c: table.numeric_or_missing(c) for c in future_covariates or []})
    if time:
        cols[time] = table.strings(time)
    out = []
    for name, rows in _rows_of(table, id_col):
        s = _one(
            cols,
            name,
            rows,
            target,
            time,
            covariates or [],
            future_covariates or [],
            time_format,
            max_missing,
        )
        if not id_col:
            s.name = label
        out.append(s)
    return out
