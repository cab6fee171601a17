"""The forecast job's picture: history, backtest forecasts, the forecast and its interval
— one panel per series (the first six of a panel), the legend below the axes so it covers
no data, and titles that name the series (not the path it came from)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..shared.figures import new_figure
from ..shared.outfiles import save_figure

__all__ = ["PlotPanel", "forecast_plot"]


@dataclass
class PlotPanel:
    x: np.ndarray  # (N,) positions of the history
    y: np.ndarray  # (N,)
    bt_x: list  # backtest segments: positions
    bt_pred: list  # … and forecasts
    fx: np.ndarray  # (H,) positions of the future
    forecast: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    title: str
    test_start: float | None = None


def forecast_plot(path: str, panels: list[PlotPanel], ylabel: str, level: float, suptitle: str):
    rows = len(panels)
    fig = new_figure(10, 3.2 * rows + 1.2)
    for k, p in enumerate(panels):
        ax = fig.add_subplot(rows, 1, k + 1)
        ax.plot(p.x, p.y, color="0.25", lw=1.0, label="history (actual)")
        if p.test_start is not None:
            ax.axvspan(p.test_start, p.x[-1], color="0.92", zorder=0, label="backtest tail")
        for j, (sx, sp) in enumerate(zip(p.bt_x, p.bt_pred, strict=True)):
            ax.plot(
                sx, sp, color="tab:orange", lw=1.2, label="backtest forecast" if j == 0 else None
            )
        if p.lower is not None and np.all(np.isfinite(p.lower)):
            ax.fill_between(
                p.fx,
                p.lower,
                p.upper,
                color="tab:blue",
                alpha=0.2,
                label=f"{100 * level:.0f}% interval (conformal, backtest)",
            )
        ax.plot(p.fx, p.forecast, color="tab:blue", lw=1.8, label="forecast")
        ax.set_title(p.title, fontsize=9, loc="left")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if k == 0:
            handles, labels = ax.get_legend_handles_labels()
    if rows > 1:
        fig.suptitle(suptitle, fontsize=10)
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06 if rows == 1 else 0.03, 1, 0.97))
    save_figure(fig, path)
