"""The g2p job's pictures: attention matrices (letters × phonemes) and learning curves
(:func:`lstmkit.apps.shared.figures.new_figure`: the Agg canvas, no pyplot, no display)."""

from __future__ import annotations

import numpy as np

from ..shared.figures import new_figure
from ..shared.outfiles import save_figure


def attention_plot(path: str, items: list[tuple[str, list[str], np.ndarray]]) -> None:
    """One panel per (word, phonemes, A) with A (len(phonemes) + 1, len(word)): row t is
    where output step t looked (the last row is the step that emitted EOS)."""
    n = len(items)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    widest = max(len(w) for w, _, _ in items)
    tallest = max(len(p) for _, p, _ in items) + 1
    fig = new_figure(cols * (1.6 + 0.38 * widest), rows * (1.4 + 0.32 * tallest))
    for k, (word, phonemes, A) in enumerate(items):
        ax = fig.add_subplot(rows, cols, k + 1)
        im = ax.imshow(A, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(word)), list(word))
        ax.set_yticks(range(len(phonemes) + 1), [*phonemes, "</s>"], fontsize=8)
        ax.set_xlabel("letters (encoder)")
        ax.set_ylabel("phonemes (decoder)")
        ax.set_title(f"{word} → {' '.join(phonemes)}", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle("attention weights: where each phoneme looked in the spelling", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))  # room for the title
    save_figure(fig, path)


def curves_plot(path: str, history: dict) -> None:
    """Training loss and dev WER / PER per epoch."""
    fig = new_figure(10, 4)
    ep = np.asarray(history["epoch"]) + 1
    ax = fig.add_subplot(1, 2, 1)
    ax.plot(ep, history["loss"], marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (nats per phoneme)")
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(1, 2, 2)
    ax.plot(ep, 100 * np.asarray(history["dev_wer"]), marker="o", label="WER (word wrong)")
    ax.plot(ep, 100 * np.asarray(history["dev_per"]), marker="o", label="PER (phoneme errors)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("% on the dev words (greedy)")
    ax.grid(alpha=0.3)
    ax.legend()
    from matplotlib.ticker import MaxNLocator  # (matplotlib is imported when a picture is drawn)

    for a in fig.axes:
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    save_figure(fig, path)
