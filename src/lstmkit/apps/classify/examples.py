"""Reading the classify job's examples: series (one row per time step) or texts, from a CSV
or a directory with one folder per label (see :mod:`.job` for the formats)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ...data.csv import Table, read_table, read_text
from ...errors import UserError
from .config import ClassifyConfig

__all__ = ["Examples", "read_examples", "read_unlabelled"]

ID_NAMES = ("id", "sequence", "sequence_id", "series", "series_id", "utterance", "sample")
#: column names taken for the time-step order of a sequence when --order is not given
ORDER_NAMES = ("t", "time", "step", "timestep", "time_step", "timestamp", "date", "datetime")
TEXT_NAMES = ("text", "sentence", "review", "message", "document")


@dataclass
class Examples:
    kind: str
    labels: list[str]  # one per example
    split: list[str] | None  # "train"/"test" per example, or None
    seqs: list[np.ndarray] | None = None  # series: (T_k, F) each
    texts: list[str] | None = None
    ids: list[str] | None = None
    features: list[str] | None = None
    columns: dict = field(default_factory=dict)  # role → the column used (label, id, text…)


# ------------------------------------------------------------------ reading
def read_examples(path: str, cfg: ClassifyConfig) -> Examples:
    if os.path.isdir(path):
        return _read_dir(path, cfg)
    t = read_table(path)
    label = cfg.label or ("label" if "label" in t.columns else t.columns[-1])
    t.index(label)
    kind: str | None = cfg.kind
    if kind == "auto":
        kind = (
            "text"
            if cfg.text or _text_column(t, label)
            else "series"
            if cfg.id or _id_column(t)
            else None
        )
        if kind is None:
            raise UserError(
                f"cannot tell whether {path} holds texts or time series: pass "
                f"--text COL or --id COL; columns are: {', '.join(t.columns)}"
            )
    split_col = cfg.split or ("split" if "split" in t.columns else None)
    if kind == "text":
        col = cfg.text or _text_column(t, label)
        if not col:
            raise UserError(
                f"no text column in {path}; pass --text COL (columns: {', '.join(t.columns)})"
            )
        texts = t.strings(col)
        if not any(s.strip() for s in texts):
            raise UserError(f"column {col!r} of {path} holds no text (every row is empty)")
        split = _split_values(t, split_col) if split_col else None
        return Examples(
            "text", t.strings(label), split, texts=texts, columns={"label": label, "text": col}
        )
    return _series_examples(t, cfg, label, split_col)


def _text_column(t: Table, label: str) -> str | None:
    for c in t.columns:
        if c.lower() in TEXT_NAMES and c != label:
            return c
    for c in t.columns:
        if c != label and not t.is_numeric(c):
            vals = t.strings(c)[:200]
            if np.mean([len(v) for v in vals]) > 15 and np.mean([" " in v for v in vals]) > 0.5:
                return c
    return None


def _id_column(t: Table) -> str | None:
    return next((c for c in t.columns if c.lower() in ID_NAMES), None)


def order_column(t: Table, taken: set) -> str | None:
    """The first column named like a time step (ORDER_NAMES, any case), or None."""
    return next((c for c in t.columns if c.lower() in ORDER_NAMES and c not in taken), None)


def order_values(t: Table, col: str) -> np.ndarray:
    """The order column as numbers to sort by: numbers as they are, ISO dates / times
    (``2024-01-31``, ``2024-01-31T12:00``) as seconds. Anything else is refused."""
    if t.is_numeric(col):
        return t.numeric(col)
    vals = [v.strip() for v in t.strings(col)]
    try:
        return np.array(vals, dtype="datetime64[s]").astype(np.int64).astype(float)
    except ValueError:
        n, bad = next((n, v) for n, v in enumerate(vals) if not _is_time(v))
        raise UserError(
            f"order column {col!r} of {t.path}: expected a number or an ISO date/time "
            f"(e.g. 2024-01-31 or 2024-01-31T12:00) in data row {n + 1} (line {n + 2}), "
            f"got {bad!r}"
        ) from None


def _is_time(v: str) -> bool:
    try:
        np.datetime64(v, "s")
    except ValueError:
        return False
    return True


def _split_values(t: Table, col: str) -> list[str]:
    vals = [v.strip().lower() for v in t.strings(col)]
    bad = sorted(set(vals) - {"train", "test"})
    if bad:
        raise UserError(f"split column {col!r}: expected 'train' or 'test', got {bad[:3]}")
    return vals


def _series_examples(t: Table, cfg: ClassifyConfig, label: str, split_col) -> Examples:
    idc = cfg.id or _id_column(t)
    if not idc:
        raise UserError(
            f"time-series input needs a sequence id column: pass --id COL "
            f"(columns: {', '.join(t.columns)})"
        )
    t.index(idc)
    order = cfg.order or order_column(t, {idc, label, split_col})
    skip = {idc, label, order, split_col}
    feats = cfg.features or [c for c in t.columns if c not in skip and t.is_numeric(c)]
    if not feats:
        raise UserError(
            f"no numeric feature columns in {t.path} besides id/label "
            f"(columns: {', '.join(t.columns)})"
        )
    values = np.stack([t.numeric(c) for c in feats], axis=1)  # (rows, F)
    steps = order_values(t, order) if order else np.arange(len(t), dtype=float)
    ids, labels = t.strings(idc), t.strings(label)
    split = _split_values(t, split_col) if split_col else None
    groups: dict[str, list[int]] = {}
    for r, k in enumerate(ids):
        groups.setdefault(k, []).append(r)
    seqs, ys = [], []
    sp: list[str] = []  # the split of every sequence (when the file has one)
    for k, rows in groups.items():
        labs = {labels[r] for r in rows}
        if len(labs) != 1:
            raise UserError(
                f"sequence {k!r}: expected one label on all its rows, got {sorted(labs)}"
            )
        rows = sorted(rows, key=lambda r: steps[r])
        seqs.append(values[rows])
        ys.append(labels[rows[0]])
        if split:
            sp.append(split[rows[0]])
    return Examples(
        "series",
        ys,
        sp if split else None,
        seqs=seqs,
        ids=list(groups),
        features=feats,
        columns={"label": label, "id": idc, "order": order},
    )


def _read_dir(path: str, cfg: ClassifyConfig) -> Examples:
    """DIR/<label>/*.txt (one text per file) or DIR/<label>/*.csv (one sequence per file,
    one row per time step, numeric columns = features; an order column, given or named
    like one, sorts the rows and is no feature)."""
    texts, seqs, labels, ids, feats, order = [], [], [], [], cfg.features or None, None
    for lab in sorted(os.listdir(path)):
        d = os.path.join(path, lab)
        if not os.path.isdir(d):
            continue
        for fn in sorted(os.listdir(d)):
            f = os.path.join(d, fn)
            if fn.endswith(".txt"):
                texts.append(read_text(f))
            elif fn.endswith((".csv", ".csv.gz")):
                t = read_table(f)
                order = cfg.order or order_column(t, set())
                feats = feats or [c for c in t.columns if c != order and t.is_numeric(c)]
                s = np.stack([t.numeric(c) for c in feats], axis=1)  # (T, F)
                if order:
                    s = s[np.argsort(order_values(t, order), kind="stable")]
                seqs.append(s)
                ids.append(f"{lab}/{fn}")
            else:
                continue
            labels.append(lab)
    if texts and seqs:
        raise UserError(f"{path}: expected either .txt files or .csv files, got both")
    if seqs:
        return Examples(
            "series", labels, None, seqs=seqs, ids=ids, features=feats, columns={"order": order}
        )
    if not texts:
        raise UserError(
            f"{path}: expected one folder per label holding .txt or .csv files, found none"
        )
    return Examples("text", labels, None, texts=texts)


# ------------------------------------------------------------------ encoding
def read_unlabelled(path: str, cfg) -> Examples:
    """Examples from a CSV without a label column (for predict); labels are "?"."""
    t = read_table(path)
    t.columns.append("__none__")
    for r in t.rows:
        r.append("?")
    cfg.label = "__none__"
    if cfg.kind == "text":
        col = cfg.text or _text_column(t, "__none__")
        if not col:
            raise UserError(f"no text column in {path}; pass --text COL")
        return Examples("text", t.strings("__none__"), None, texts=t.strings(col))
    return _series_examples(t, cfg, "__none__", None)
