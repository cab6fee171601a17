"""The classify job's picture: the confusion matrix."""

from __future__ import annotations

import numpy as np

from ..shared.figures import new_figure
from ..shared.outfiles import save_figure

__all__ = ["confusion_plot"]


def confusion_plot(path, cm, labels, title="Confusion matrix"):
    cm = np.asarray(cm)
    n = len(labels)
    fig = new_figure(max(6.0, 1.6 + 0.6 * n), max(5.0, 1.4 + 0.55 * n))
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
    save_figure(fig, path)
