"""What the classify job reports: accuracy, the confusion matrix, per-class precision /
recall, and the model's accuracy beside the baselines (saying when it is not above one)."""

from __future__ import annotations

import numpy as np

from ..shared.tables import format_table

__all__ = ["baseline_lines", "format_report", "report"]


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


def baseline_lines(accuracy: float, baselines: dict, n_test: int) -> list[str]:
    """The model beside each baseline (test accuracy) and a verdict line per baseline the
    model does not beat. One test sequence is worth 1/n_test: ties are ties."""
    rows = [["this model", f"{accuracy:.4f}", ""]]
    for name, acc in baselines.items():
        d = accuracy - acc
        rows.append([name, f"{acc:.4f}", f"{d:+.4f}"])
    lines = [
        "",
        "test accuracy beside the baselines:",
        format_table(["", "accuracy", "model −"], rows),
    ]
    eps = 0.5 / max(n_test, 1)
    worse = [n for n, a in baselines.items() if accuracy < a - eps]
    tied = [n for n, a in baselines.items() if abs(accuracy - a) <= eps]
    if "majority" in worse + tied:
        lines.append(
            "warning: the model is no better than always answering the most common class: "
            "it has learned nothing useful (more data, more --epochs, or other features?)"
        )
    for n in (x for x in worse if x != "majority"):
        lines.append(f"note: the model is BELOW the {n} baseline ({baselines[n]:.4f})")
    for n in (x for x in tied if x != "majority"):
        lines.append(f"note: the model is only AT the {n} baseline ({baselines[n]:.4f})")
    return lines
