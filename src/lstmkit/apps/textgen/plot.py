"""The textgen job's picture: bits per character over the epochs."""

from __future__ import annotations

import numpy as np

from ..shared.figures import new_figure
from ..shared.outfiles import save_figure

__all__ = ["curve_plot"]


def curve_plot(path, values: dict, xlabel="epoch", ylabel="", title=""):
    """One line per name → list of values (e.g. train/validation bits per character)."""
    fig = new_figure(7, 4)
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
    save_figure(fig, path)
