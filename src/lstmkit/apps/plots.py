"""The jobs' pictures, drawn with matplotlib's object API on the Agg canvas (no pyplot, no
global backend switch, no display needed)."""

from __future__ import annotations

import numpy as np


def _figure(w=10, h=4.5):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def forecast_plot(
    path,
    x,
    y,
    bt_x,
    bt_pred,
    fx,
    fpred,
    lower=None,
    upper=None,
    title="",
    ylabel="",
    test_start=None,
):
    """history (x, y); backtest forecasts: list of (x segment, ŷ segment); future (fx, fpred)."""
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(x, y, color="0.25", lw=1.0, label="history (actual)")
    if test_start is not None:
        ax.axvspan(test_start, x[-1], color="0.92", zorder=0, label="held-out tail (backtest)")
    for k, (sx, sp) in enumerate(zip(bt_x, bt_pred, strict=True)):
        ax.plot(sx, sp, color="tab:orange", lw=1.4, label="backtest forecast" if k == 0 else None)
    if lower is not None and upper is not None:
        ax.fill_between(
            fx, lower, upper, color="tab:blue", alpha=0.2, label="80% interval (backtest errors)"
        )
    ax.plot(fx, fpred, color="tab:blue", lw=1.8, label="forecast")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def confusion_plot(path, cm, labels, title="Confusion matrix"):
    cm = np.asarray(cm)
    n = len(labels)
    fig = _figure(max(6.0, 1.6 + 0.6 * n), max(5.0, 1.4 + 0.55 * n))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = cm.max() if cm.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if cm[i, j] > top / 2 else "black",
            )
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)


def curve_plot(path, values: dict, xlabel="epoch", ylabel="", title=""):
    """One line per name → list of values (e.g. train/validation bits per character)."""
    fig = _figure(7, 4)
    ax = fig.add_subplot(1, 1, 1)
    for name, v in values.items():
        ax.plot(np.arange(1, len(v) + 1), v, marker="o", label=name)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
