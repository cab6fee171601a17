"""The forecast job's picture: history, backtest, forecast and its interval."""

from __future__ import annotations

from ..shared.figures import new_figure
from ..shared.outfiles import save_figure

__all__ = ["forecast_plot"]


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
    fig = new_figure()
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
    save_figure(fig, path)
