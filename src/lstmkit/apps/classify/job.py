"""Sequence classification: multivariate time series or short texts → a label.

Two kinds of input, each as a CSV (one header line) or as a directory with one
folder per label holding .txt files (texts) or .csv files (one sequence each,
numeric columns = features):

* series — one row per time step: a sequence id column (``--id``), numeric
  feature columns, a label column (the same on every row of a sequence) and,
  optionally, an order column (``--order``; found by name when not given: t, time,
  step, timestamp, date …) to sort the rows of a sequence. How sequences become
  model input is in :mod:`.series` (normalisation, padding, patching); the model and
  the training recipe in :mod:`.recipe`.
* text — one text and one label per row. Words are lower-cased tokens, the
  vocabulary comes from the training texts (id 0 = padding, 1 = unknown word);
  padding goes at the end and is masked.

The test split is the ``split`` column (values train/test) when there is one,
else a random ``test_fraction`` of the sequences (seeded). Every result is printed
beside the baselines of :mod:`.baselines` (majority class; for series also 1-NN
Euclidean and 1-NN DTW), computed on the same split and the same normalised input.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...data.csv import read_table
from ...data.text import WordVocab, words
from ...errors import UserError
from ...model import Sequential
from ...resources import check_training_memory  # refuse before fit allocates
from ..shared.modelfiles import save_job_model
from ..shared.outfiles import write_csv, write_json
from ..shared.progress import epoch_bar, raise_if_diverged
from . import recipe
from .baselines import compute_baselines
from .config import ClassifyConfig
from .examples import Examples, read_examples, read_unlabelled
from .plot import confusion_plot
from .recipe import build_model
from .report import baseline_lines, format_report, report
from .series import encode_series, fit_series_meta, length_note, normalise

__all__ = [
    "ClassifyConfig",
    "build_model",
    "describe_input",
    "encode",
    "fit_meta",
    "predict_job",
    "split_indices",
    "train_job",
]


def encode(ex: Examples, meta: dict) -> np.ndarray:
    """Model inputs: series (n, T, F) float32 (see :mod:`.series`); text (n, T) int64."""
    if ex.kind == "text":
        return WordVocab(meta["vocab"]).encode(ex.texts, meta["maxlen"])
    if "normalize" not in meta:  # a sidecar from before the recipe: global scaling only
        meta = {**meta, "normalize": "global", "patch": 1, "masked": False}
    return encode_series(ex.seqs, meta)


def fit_meta(ex: Examples, train_idx: Sequence[int] | np.ndarray, cfg: ClassifyConfig) -> dict:
    classes = sorted(set(ex.labels))
    if len(classes) < 2:
        raise UserError(f"need at least 2 different labels to classify, got {classes}")
    meta: dict[str, Any] = {
        "task": "classify",
        "kind": ex.kind,
        "classes": classes,
        "columns": ex.columns,
    }
    if ex.kind == "text":
        assert ex.texts is not None  # a text set has its texts
        texts = [ex.texts[k] for k in train_idx]
        lens = np.array([len(words(s)) for s in texts])
        meta["vocab"] = WordVocab.build(texts).tokens
        meta["maxlen"] = int(cfg.maxlen or max(4, min(200, np.percentile(lens, 95))))
    else:
        assert ex.seqs is not None  # a series set has its sequences
        meta.update(
            fit_series_meta([ex.seqs[k] for k in train_idx], ex.features, cfg.normalize, cfg.maxlen)
        )
    return meta


def split_indices(ex: Examples, cfg: ClassifyConfig) -> tuple[np.ndarray, np.ndarray]:
    n = len(ex.labels)
    if ex.split is not None:
        tr = [k for k in range(n) if ex.split[k] == "train"]
        te = [k for k in range(n) if ex.split[k] == "test"]
    else:
        perm = np.random.default_rng(cfg.seed).permutation(n)
        n_te = max(1, int(round(cfg.test_fraction * n)))
        te, tr = sorted(perm[:n_te]), sorted(perm[n_te:])
    if len(tr) < 2 or not te:
        raise UserError(
            f"need training and test examples, got {len(tr)} and {len(te)} (of {n} sequences)"
        )
    return np.array(tr), np.array(te)


def _names(xs, most=12) -> str:
    xs = list(xs)
    head = ", ".join(map(str, xs[:most]))
    return head + (f", … ({len(xs)} in all)" if len(xs) > most else f" ({len(xs)})")


def describe_input(ex: Examples, meta: dict, tr) -> list[str]:
    """What was read and what the model uses: columns, features, classes, lengths."""
    cols = {k: v for k, v in ex.columns.items() if v}
    lines = ["input: " + ", ".join(f"{k} = {v!r}" for k, v in cols.items())]
    if ex.kind == "series":
        if not cols.get("order"):
            lines.append("order: rows in file order (no --order, no column named like t/step)")
        assert ex.seqs is not None
        lens = [len(ex.seqs[k]) for k in tr]
        lines.append(f"features: {_names(meta['features'])}")
        lines.append(
            f"lengths: {min(lens)} … {max(lens)} steps; normalisation: {meta['normalize']}; "
            f"the LSTM reads {meta['maxlen'] // meta['patch']} steps"
            + (f" of {meta['patch']} time steps each" if meta["patch"] > 1 else "")
        )
    counts = {c: 0 for c in meta["classes"]}
    for k in tr:
        counts[ex.labels[k]] += 1
    lines.append("classes (training count): " + _names(f"{c} {n}" for c, n in counts.items()))
    return lines


# ------------------------------------------------------------------ the jobs
def train_job(
    path: str, cfg: ClassifyConfig, out: str, name: str | None = None, ex: Examples | None = None
) -> str:
    """Train, test, write model + metrics.json + confusion.png + predictions.csv; → summary.
    ``ex``: the examples of ``path`` when already read."""
    ex = ex or read_examples(path, cfg)
    tr, te = split_indices(ex, cfg)
    meta = fit_meta(ex, tr, cfg)
    head = describe_input(ex, meta, tr)
    if ex.kind == "series":
        assert ex.seqs is not None
        note = length_note([ex.seqs[k] for k in tr])
        if note:
            print(f"warning: {note}", file=sys.stderr)
    if cfg.verbose:
        print("\n".join(head), flush=True)
    cls_id = {c: k for k, c in enumerate(meta["classes"])}
    X = encode(ex, meta)
    y = np.array([cls_id.get(c, -1) for c in ex.labels], np.int64)
    unseen = sorted({ex.labels[k] for k in te if y[k] < 0})
    if unseen:
        raise UserError(f"test labels never seen in training: {unseen[:5]}")
    plan = recipe.plan_training(len(tr), ex.kind, cfg)
    fit_pos, val_pos = recipe.stratified_split(y[tr], plan.validation, cfg.seed)
    fit, val = tr[fit_pos], tr[val_pos]
    w = recipe.class_weights(y[fit], len(meta["classes"]), cfg.class_weight)
    steps = math.ceil(len(fit) / plan.batch_size)
    model = build_model(meta, cfg, plan, steps)
    check_training_memory(
        model,
        min(plan.batch_size, len(fit)),
        X.shape[1],
        X.shape[2] if X.ndim == 3 else 1,
        hint="use a smaller --batch-size, --maxlen or --units",
    )
    cbs = [recipe.early_stopping(plan)] if plan.early_stopping and len(val) else []
    bar = epoch_bar(plan.epochs, cfg.verbose)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        hist = model.fit(
            X[fit],
            recipe.weighted_targets(y[fit], w),
            epochs=plan.epochs,
            batch_size=plan.batch_size,
            validation_data=(X[val], recipe.weighted_targets(y[val], w)) if len(val) else None,
            shuffle=True,
            callbacks=cbs + ([bar] if bar else []),
            verbose=0,
            seed=cfg.seed,
        )
    except KeyboardInterrupt:
        if model.built:
            save_job_model(model, out, meta)
            print(f"interrupted: the model as trained so far is in {out}/model.safetensors")
        raise
    raise_if_diverged(hist)
    timing = {"train_s": time.perf_counter() - t0, "train_cpu_s": time.process_time() - c0}
    prob = model.predict(X[te], batch_size=256)
    rep = report(y[te], prob.argmax(1), meta["classes"])
    ran = len(hist.history["loss"])
    best = cbs[0].best_epoch if cbs and cbs[0].best_epoch is not None else None
    rep.update(
        n_train=int(len(tr)),
        n_fit=int(len(fit)),
        n_validation=int(len(val)),
        n_test=int(len(te)),
        epochs=ran,
        planned_epochs=plan.epochs,
        best_epoch=None if best is None else best + 1,
        class_weights=dict(zip(meta["classes"], map(float, w), strict=True)),
    )
    if cfg.baselines:
        t0, c0 = time.perf_counter(), time.process_time()
        rep["baselines"] = _baselines(ex, meta, tr, te, y, cfg)
        timing.update(
            baselines_s=time.perf_counter() - t0, baselines_cpu_s=time.process_time() - c0
        )
    rep["timing"] = {k: round(v, 2) for k, v in timing.items()}
    save_job_model(model, out, meta)
    write_json(os.path.join(out, "metrics.json"), rep)
    confusion_plot(
        os.path.join(out, "confusion.png"),
        rep["confusion_matrix"],
        meta["classes"],
        title=f"{name or path}: test accuracy {rep['accuracy']:.3f}",
    )
    _write_predictions(os.path.join(out, "predictions.csv"), ex, te, prob, meta)
    kinds = {"text": "texts", "series": "sequences"}
    how = (
        f"{len(val)} of them held out (stratified) for early stopping, best epoch "
        f"{rep['best_epoch']}"
        if len(val) and cbs
        else "all of them, no validation part (too few to hold some out)"
        if not len(val)
        else f"{len(val)} of them held out for validation"
    )
    lines = [
        f"{len(ex.labels)} {kinds[ex.kind]}, {len(meta['classes'])} classes; trained on "
        f"{len(tr)} ({how}) for {ran} of {plan.epochs} epochs; tested on {len(te)} held-out",
        "",
        format_report(rep),
    ]
    if rep.get("baselines"):
        lines += baseline_lines(rep["accuracy"], rep["baselines"], len(te))
    lines += [
        "",
        f"wrote: model.safetensors, model.json, metrics.json, confusion.png, "
        f"predictions.csv in {out}/",
    ]
    return "\n".join(head + [""] + lines if not cfg.verbose else lines)


def _baselines(ex: Examples, meta: dict, tr, te, y, cfg: ClassifyConfig) -> dict:
    """Test accuracy of the baselines on the same split (series: on the normalised input)."""
    if ex.kind == "text":
        vals, counts = np.unique(y[tr], return_counts=True)
        return {"majority": float(np.mean(y[te] == vals[np.argmax(counts)]))}
    assert ex.seqs is not None
    seqs = normalise([ex.seqs[k] for k in np.concatenate([tr, te])], meta)
    return dict(compute_baselines(seqs[: len(tr)], y[tr], seqs[len(tr) :], y[te], cfg.dtw_window))


def _write_predictions(path, ex: Examples, idx, prob, meta) -> None:
    rows = []
    for k, p in zip(idx, prob, strict=True):
        j = int(np.argmax(p))
        key = ex.ids[k] if ex.ids else str(int(k) + 1)
        rows.append([key, ex.labels[k], meta["classes"][j], f"{p[j]:.4f}"])
    write_csv(path, ["example", "true", "predicted", "probability"], rows)


def predict_job(
    model: Sequential, meta: dict, path: str, cfg: ClassifyConfig, out: str | None
) -> str:
    """Classify every example of ``path`` with a saved model; accuracy when labels are there."""
    recipe.restore_masks(model)
    cols = meta.get("columns", {})
    cfg.kind = meta["kind"]
    cfg.id, cfg.order, cfg.text = (
        cfg.id or cols.get("id"),
        cfg.order or cols.get("order"),
        cfg.text or cols.get("text"),
    )
    if meta["kind"] == "series":
        cfg.features = cfg.features or meta["features"]
    label = cfg.label or cols.get("label")
    has_labels = os.path.isdir(path) or label in read_table(path).columns
    if has_labels:
        cfg.label = label
        ex = read_examples(path, cfg)
    else:
        ex = read_unlabelled(path, cfg)
    if ex.kind != meta["kind"]:
        raise UserError(f"the model classifies {meta['kind']}, but {path} holds {ex.kind}")
    X = encode(ex, meta)
    prob = model.predict(X, batch_size=256)
    idx = np.arange(len(ex.labels))
    lines = [f"classified {len(idx)} {'texts' if ex.kind == 'text' else 'sequences'}"]
    known = has_labels and set(ex.labels) <= set(meta["classes"])
    if known:
        cls_id = {c: k for k, c in enumerate(meta["classes"])}
        rep = report([cls_id[c] for c in ex.labels], prob.argmax(1), meta["classes"])
        lines += ["", format_report(rep)]
    if out:
        _write_predictions(os.path.join(out, "predictions.csv"), ex, idx, prob, meta)
        lines.append(f"\nwrote: predictions.csv in {out}/")
    else:
        for k in idx[:20]:
            lines.append(
                f"{ex.ids[k] if ex.ids else k + 1}: {meta['classes'][int(prob[k].argmax())]}"
            )
        if len(idx) > 20:
            lines.append(f"… ({len(idx) - 20} more; pass --out DIR for all)")
    return "\n".join(lines)
