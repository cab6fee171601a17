"""Time labels: parse a time column, tell its frequency (and so the season), number its
steps for a plot, and continue the labels past the end in the same style.

Understood without help (one style for the whole column):

    1990, 1991 …               integers (years when all lie in 1000…2300, else plain steps)
    1990-01  1990/01  01/1990  01-1990  1990M01          months
    1959Q1  1959-Q1  1959 Q1  Q1 1959  Q1-1959           quarters
    1990-01-31, 1990-01-31 12:00[:00] (also with T)     ISO dates and date-times

Anything else needs ``--time-format`` (a ``strptime`` pattern such as ``%d.%m.%Y``);
without one the labels are kept as they are, the plot uses row positions and a
warning says so. Each step is an ordinal in a base unit — months (months, quarters,
years, and dates that all fall on one day of the month or on month ends), days, seconds,
or the integer itself — and the frequency is the most common spacing:

    months: 1 → monthly (season 12), 3 → quarterly (4), 6 → half-yearly (2), 12 → yearly (1)
    days:   1 → daily (7), 7 → weekly (52)
    seconds: 3600 → hourly (24), 1800 → half-hourly (48), 86400 → daily (7)
    integers that are years, step 1 → yearly (1); other integers: unknown (season detected)
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...errors import UserError

__all__ = ["Axis", "parse", "positions", "extend"]

_MONTH_STYLES = [  # (regex, groups → (year, month), label format)
    (re.compile(r"^(\d{4})-(\d{1,2})$"), lambda g: (g[0], g[1]), "{y:04d}-{m:02d}"),
    (re.compile(r"^(\d{4})/(\d{1,2})$"), lambda g: (g[0], g[1]), "{y:04d}/{m:02d}"),
    (re.compile(r"^(\d{1,2})/(\d{4})$"), lambda g: (g[1], g[0]), "{m:02d}/{y:04d}"),
    (re.compile(r"^(\d{1,2})-(\d{4})$"), lambda g: (g[1], g[0]), "{m:02d}-{y:04d}"),
    (re.compile(r"^(\d{4})M(\d{1,2})$", re.I), lambda g: (g[0], g[1]), "{y:04d}M{m:02d}"),
]
_QUARTER_STYLES = [  # (regex, groups → (year, quarter), label format)
    (re.compile(r"^(\d{4})Q([1-4])$", re.I), lambda g: (g[0], g[1]), "{y:04d}Q{q}"),
    (re.compile(r"^(\d{4})-Q([1-4])$", re.I), lambda g: (g[0], g[1]), "{y:04d}-Q{q}"),
    (re.compile(r"^(\d{4}) Q([1-4])$", re.I), lambda g: (g[0], g[1]), "{y:04d} Q{q}"),
    (re.compile(r"^Q([1-4]) (\d{4})$", re.I), lambda g: (g[1], g[0]), "Q{q} {y:04d}"),
    (re.compile(r"^Q([1-4])-(\d{4})$", re.I), lambda g: (g[1], g[0]), "Q{q}-{y:04d}"),
]
_SEASON = {
    ("month", 1): ("monthly", 12),
    ("month", 3): ("quarterly", 4),
    ("month", 6): ("half-yearly", 2),
    ("month", 12): ("yearly", 1),
    ("day", 1): ("daily", 7),
    ("day", 7): ("weekly", 52),
    ("second", 3600): ("hourly", 24),
    ("second", 1800): ("half-hourly", 48),
    ("second", 86400): ("daily", 7),
    ("year", 1): ("yearly", 1),
}


@dataclass
class Axis:
    """A parsed time column: ``ordinal`` (N,) int64 in ``unit`` ('month', 'day', 'second',
    'year', 'int'; 'position' when the labels were not understood) and how to write one."""

    unit: str
    ordinal: np.ndarray
    fmt: Callable[[int], str]  # ordinal → label
    labels: list[str]
    warning: str | None = None

    @property
    def understood(self) -> bool:
        return self.unit != "position"

    def step(self) -> int:
        """The most common positive spacing (1 when there is none)."""
        d = np.diff(np.sort(self.ordinal))
        d = d[d > 0]
        return int(Counter(d.tolist()).most_common(1)[0][0]) if len(d) else 1

    def frequency(self) -> tuple[str | None, int | None]:
        """→ (name, season) from the spacing, e.g. ('quarterly', 4); (None, None) if unknown."""
        return _SEASON.get((self.unit, self.step()), (None, None))

    def label(self, ordinal: int) -> str:
        return self.fmt(int(ordinal))


def _month_fmt(template: str):
    def fmt(o: int) -> str:
        y, m = divmod(o, 12)
        return template.format(y=y, m=m + 1, q=m // 3 + 1)

    return fmt


def _try_styles(times, styles, per_year: int):
    for rx, pick, template in styles:
        got = [rx.match(t) for t in times]
        if all(got):
            ym = [tuple(int(v) for v in pick(g.groups())) for g in got]
            if not all(1 <= b <= (12 if per_year == 12 else 4) for _, b in ym):
                continue
            step = 12 // per_year
            ordinal = np.array([y * 12 + (b - 1) * step for y, b in ym], np.int64)
            return ordinal, _month_fmt(template)
    return None


def _from_datetimes(ds: list[dt.datetime], to_label):
    """datetimes → (unit, ordinal): months when all fall on one day of the month (or all
    on month ends) at midnight, days when all at midnight, else seconds."""
    midnight = all(d.hour == d.minute == d.second == 0 for d in ds)
    month_end = all((d + dt.timedelta(days=1)).day == 1 for d in ds)
    if midnight and (len({d.day for d in ds}) == 1 or month_end):
        day = ds[-1].day

        def fmt(o: int) -> str:
            y, m = divmod(o, 12)
            if month_end:
                nxt = dt.datetime(y + (m == 11), (m + 1) % 12 + 1, 1)
                return to_label(nxt - dt.timedelta(days=1))
            return to_label(dt.datetime(y, m + 1, day))

        return "month", np.array([d.year * 12 + d.month - 1 for d in ds], np.int64), fmt
    epoch = dt.datetime(1970, 1, 1)
    if midnight:
        ordinal = np.array([(d - epoch).days for d in ds], np.int64)
        return "day", ordinal, lambda o: to_label(epoch + dt.timedelta(days=o))
    ordinal = np.array([int((d - epoch).total_seconds()) for d in ds], np.int64)
    return "second", ordinal, lambda o: to_label(epoch + dt.timedelta(seconds=o))


def _check_days(ds: list[dt.datetime], times: list[str], column: str, rows) -> None:
    """Monthly dates (nine in ten on one day of the month) with a stray day: name it."""
    days = Counter(d.day for d in ds)
    day, count = days.most_common(1)[0]
    if len(days) > 1 and count >= 0.9 * len(ds) and len(ds) >= 10:
        k = next(k for k, d in enumerate(ds) if d.day != day)
        raise UserError(
            f"time column {column!r}: the dates fall on day {day} of the month except data "
            f"row {rows[k] if rows is not None else k + 1} ({times[k]!r}); expected one step "
            f"per month (or a regular grid of days)"
        )


def parse(
    times: list[str] | None, time_format: str | None = None, column: str = "time", rows=None
) -> Axis:
    """The time column as an :class:`Axis` (see the module docstring for the styles);
    ``rows`` the data row numbers of the labels, for messages."""
    times = [t.strip() for t in (times or [])]
    n = len(times)
    if time_format:
        try:
            parsed = [dt.datetime.strptime(t, time_format) for t in times]
        except ValueError as e:
            bad = next(k for k, t in enumerate(times) if not _fits(t, time_format))
            raise UserError(
                f"column {column!r}: data row {bad + 1} is {times[bad]!r}, which does not "
                f"match --time-format {time_format!r} ({e})"
            ) from None
        _check_days(parsed, times, column, rows)
        unit, ordinal, fmt = _from_datetimes(parsed, lambda d: d.strftime(time_format))
        return Axis(unit, ordinal, fmt, times)
    if n and all(re.fullmatch(r"-?\d+", t) for t in times):
        v = np.array([int(t) for t in times], np.int64)
        unit = "year" if np.all((v >= 1000) & (v <= 2300)) else "int"
        return Axis(unit, v, str, times)
    for styles, per_year in ((_MONTH_STYLES, 12), (_QUARTER_STYLES, 4)):
        got = _try_styles(times, styles, per_year) if n else None
        if got:
            return Axis("month", got[0], got[1], times)
    if n and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?", t) for t in times):
        ds: list[dt.datetime] | None
        try:
            ds = [dt.datetime.fromisoformat(t) for t in times]
        except ValueError:
            ds = None
        if ds is not None:
            sep = "T" if "T" in times[-1] else " "
            secs = len(times[-1]) > 16

            def iso(d: dt.datetime) -> str:
                if len(times[-1]) == 10:
                    return d.strftime("%Y-%m-%d")
                return d.strftime(f"%Y-%m-%d{sep}%H:%M" + (":%S" if secs else ""))

            if all(d.hour == d.minute == 0 for d in ds):
                _check_days(ds, times, column, rows)
            unit, ordinal, fmt = _from_datetimes(ds, iso)
            return Axis(unit, ordinal, fmt, times)
    warning = None
    if n:
        warning = (
            f"the labels of time column {column!r} (e.g. {times[0]!r}) are in no format "
            f"lstmkit knows: the plot uses row positions and future steps are labelled "
            f"{times[-1]!r}+1, +2 …; give --time-format (e.g. %d.%m.%Y) to read them"
        )
    return Axis("position", np.arange(n, dtype=np.int64), lambda o: f"t{o}", times, warning)


def _fits(t: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(t, fmt)
        return True
    except ValueError:
        return False


def positions(axis: Axis | None, n: int) -> np.ndarray:
    """(n,) float x-positions for a plot: years (fractional for months, days, seconds),
    the integers themselves, or 0…n−1."""
    if axis is None or not axis.understood:
        return np.arange(n, dtype=float)
    o = axis.ordinal.astype(np.float64)
    if axis.unit == "month":
        return o / 12
    if axis.unit == "day":
        return 1970 + o / 365.2425
    if axis.unit == "second":
        return 1970 + o / (365.2425 * 86400)
    return o


def extend(axis: Axis | None, n_steps: int, k: int) -> tuple[list[str], np.ndarray]:
    """The labels and plot positions of the k steps after the last one (spaced by the
    axis's step); without an understood axis 't+1'… or 'last+1'…"""
    if axis is None or not axis.labels:
        return [f"t+{j}" for j in range(1, k + 1)], np.arange(n_steps, n_steps + k, dtype=float)
    if not axis.understood:
        last = axis.labels[-1]
        return [f"{last}+{j}" for j in range(1, k + 1)], np.arange(
            n_steps, n_steps + k, dtype=float
        )
    step = axis.step()
    o = int(axis.ordinal[-1]) + step * np.arange(1, k + 1)
    fut = Axis(axis.unit, o, axis.fmt, [])
    return [axis.label(int(v)) for v in o], positions(fut, k)
