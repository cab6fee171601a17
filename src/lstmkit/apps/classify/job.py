"""Sequence classification: multivariate time series or short texts → a label.

Two kinds of input, each as a CSV (one header line) or as a directory with one
folder per label holding .txt files (texts) or .csv files (one sequence each,
numeric columns = features):

* series — one row per time step: a sequence id column (``--id``), numeric
  feature columns, a label column (the same on every row of a sequence) and,
  optionally, a step column (``--order``) to sort the rows of a sequence.
  Features are standardised with the training sequences' μ, σ, and shorter
  sequences are padded with zeros *in front* (so the LSTM's last state is
  always the last real step).   Model: LSTM(units) → Dense(C, softmax).
* text — one text and one label per row. Words are lower-cased tokens, the
  vocabulary comes from the training texts (id 0 = padding, 1 = unknown word);
  padding goes at the end and is masked.
  Model: Embedding(V, 32, mask_zero=True) → LSTM(units) → Dense(C, softmax).

The test split is the ``split`` column (values train/test) when there is one,
else a random ``test_fraction`` of the sequences (seeded).
"""

from __future__ import annotations

import os

import numpy as np

from ...callbacks import EarlyStopping
from ...data.csv import read_table
from ...data.scaling import StandardScaler
from ...data.text import WordVocab, words
from ...errors import UserError
from ...layers import LSTM, Dense, Embedding
from ...model import Sequential
from ...optim import Adam
from ...resources import check_training_memory  # refuse before fit allocates
from ..shared.modelfiles import save_job_model
from ..shared.outdir import write_json
from ..shared.outfiles import write_csv
from ..shared.progress import epoch_bar, raise_if_diverged
from ..shared.tables import format_table
from .config import ClassifyConfig
from .examples import Examples, read_examples, read_unlabelled
from .plot import confusion_plot


def encode(ex: Examples, meta: dict) -> np.ndarray:
    """→ model inputs: series (n, T, F) float32 front-padded; text (n, T) int64 end-padded."""
    T = meta["maxlen"]
    if ex.kind == "text":
        return WordVocab(meta["vocab"]).encode(ex.texts, T)
    sc = StandardScaler.from_dict(meta["scaler"])
    X = np.zeros((len(ex.seqs), T, len(meta["features"])), np.float32)  # (n, T, F) zero = pad
    for n, s in enumerate(ex.seqs):
        s = sc.transform(s)[-T:]
        X[n, T - len(s) :] = s
    return X


def fit_meta(ex: Examples, train_idx, cfg: ClassifyConfig) -> dict:
    classes = sorted(set(ex.labels))
    if len(classes) < 2:
        raise UserError(f"need at least 2 different labels to classify, got {classes}")
    meta = {"task": "classify", "kind": ex.kind, "classes": classes, "columns": ex.columns}
    if ex.kind == "text":
        texts = [ex.texts[k] for k in train_idx]

        lens = np.array([len(words(s)) for s in texts])
        meta["vocab"] = WordVocab.build(texts).tokens
        meta["maxlen"] = int(cfg.maxlen or max(4, min(200, np.percentile(lens, 95))))
    else:
        allrows = np.concatenate([ex.seqs[k] for k in train_idx])
        meta["scaler"] = StandardScaler().fit(allrows).to_dict()
        meta["features"] = ex.features
        meta["maxlen"] = int(cfg.maxlen or min(500, max(len(ex.seqs[k]) for k in train_idx)))
    return meta


def build_model(meta: dict, cfg: ClassifyConfig):

    C = len(meta["classes"])
    text = meta["kind"] == "text"
    units = cfg.units or (32 if text else 64)
    lr = cfg.learning_rate or (1e-3 if text else 3e-3)
    layers = [LSTM(units, seed=cfg.seed + 1), Dense(C, activation="softmax", seed=cfg.seed + 2)]
    if meta["kind"] == "text":
        layers.insert(
            0, Embedding(len(meta["vocab"]) + 2, cfg.embed_dim, mask_zero=True, seed=cfg.seed)
        )
    model = Sequential(layers)
    model.compile(
        optimizer=Adam(learning_rate=lr, clipnorm=1.0),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


# ------------------------------------------------------------------ scores
def report(y_true, y_pred, classes) -> dict:
    C = len(classes)
    cm = np.zeros((C, C), np.int64)  # rows true, cols predicted
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    tp = np.diag(cm).astype(float)
    prec = np.divide(tp, cm.sum(0), out=np.zeros(C), where=cm.sum(0) > 0)
    rec = np.divide(tp, cm.sum(1), out=np.zeros(C), where=cm.sum(1) > 0)
    return {
        "accuracy": float(tp.sum() / max(cm.sum(), 1)),
        "classes": list(classes),
        "confusion_matrix": cm.tolist(),
        "per_class": {
            c: {"precision": float(p), "recall": float(r), "support": int(s)}
            for c, p, r, s in zip(classes, prec, rec, cm.sum(1), strict=True)
        },
    }


def format_report(rep: dict) -> str:

    classes = rep["classes"]
    short = [c if len(c) <= 12 else c[:11] + "…" for c in classes]
    cm_rows = [[f"true {s}"] + row for s, row in zip(short, rep["confusion_matrix"], strict=True)]
    per = [[c, v["precision"], v["recall"], v["support"]] for c, v in rep["per_class"].items()]
    return "\n".join(
        [
            f"accuracy: {rep['accuracy']:.4f}",
            "",
            "confusion matrix (rows: true, columns: predicted):",
            format_table([""] + short, cm_rows),
            "",
            format_table(["class", "precision", "recall", "support"], per),
        ]
    )


def split_indices(ex: Examples, cfg: ClassifyConfig):
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


# ------------------------------------------------------------------ the jobs
def train_job(
    path: str, cfg: ClassifyConfig, out: str, name: str | None = None, ex: Examples | None = None
) -> str:
    """Train, test, write model + metrics.json + confusion.png + predictions.csv; → summary.
    ``ex``: the examples of ``path`` when already read."""

    ex = ex or read_examples(path, cfg)
    tr, te = split_indices(ex, cfg)
    meta = fit_meta(ex, tr, cfg)
    cls_id = {c: k for k, c in enumerate(meta["classes"])}
    X = encode(ex, meta)
    y = np.array([cls_id[c] for c in ex.labels], np.int64)
    rng = np.random.default_rng(cfg.seed)
    tr = rng.permutation(tr)  # validation_split takes the last 15 % of these
    model = build_model(meta, cfg)

    check_training_memory(
        model,
        min(cfg.batch_size, len(tr)),
        X.shape[1],
        X.shape[2] if X.ndim == 3 else 1,
        hint="use a smaller --batch-size, --maxlen or --units",
    )

    patience = cfg.patience or (4 if ex.kind == "text" else 8)
    cbs = [EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)]
    bar = epoch_bar(cfg.epochs, cfg.verbose)
    try:
        hist = model.fit(
            X[tr],
            y[tr],
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            validation_split=0.15 if len(tr) >= 20 else 0.0,
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
    prob = model.predict(X[te], batch_size=256)
    rep = report(y[te], prob.argmax(1), meta["classes"])
    rep["n_train"], rep["n_test"] = int(len(tr)), int(len(te))
    rep["epochs"] = len(hist.history["loss"])
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
    return "\n".join(
        [
            f"{len(ex.labels)} {kinds[ex.kind]}, {len(meta['classes'])} classes; "
            f"trained on {len(tr)} (15% of them for early stopping) for "
            f"{rep['epochs']} epochs, tested on {len(te)} held-out",
            "",
            format_report(rep),
            "",
            f"wrote: model.safetensors, model.json, metrics.json, confusion.png, "
            f"predictions.csv in {out}/",
        ]
    )


def _write_predictions(path, ex: Examples, idx, prob, meta) -> None:
    rows = [["example", "true", "predicted", "probability"]]
    for k, p in zip(idx, prob, strict=True):
        j = int(np.argmax(p))
        key = ex.ids[k] if ex.ids else str(int(k) + 1)
        rows.append([key, ex.labels[k], meta["classes"][j], f"{p[j]:.4f}"])
    write_csv(path, rows)


def predict_job(model, meta: dict, path: str, cfg: ClassifyConfig, out: str | None) -> str:
    """Classify every example of ``path`` with a saved model; accuracy when labels are there."""
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
