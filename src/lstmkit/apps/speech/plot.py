"""The speech job's pictures: the CTC alignment of a recording, the training curve.

The alignment picture has three panels over the same time axis (30 ms model steps):

1. the log-mel spectrogram of the recording (what the microphone heard);
2. the network's per-step posteriors y_t(k) = softmax(z_t)_k, one row per digit, blank
   at the bottom (CTC's "spikes": each digit fires on a step or two, blank everywhere else);
3. the forced alignment γ_t(k) of the decoded string (:func:`lstmkit.core.ctc.posteriors`):
   the posterior that step t emits k *given* that the utterance reads the decoded digits.
"""

from __future__ import annotations

import numpy as np

from ...core.ctc import posteriors
from ..shared.figures import new_figure
from ..shared.outfiles import save_figure
from .data import DIGITS

__all__ = ["alignment_plot", "training_plot"]


def _save(fig, path) -> None:
    fig.tight_layout()
    save_figure(fig, path)  # (a failed write is a WriteError: one line, exit 2)


def training_plot(path, val_der: list, loss: list) -> None:
    """Validation digit error rate (%) and the training CTC loss per epoch."""
    fig = new_figure(9, 3.6)
    ep = np.arange(1, len(loss) + 1)
    a, b = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    a.plot(ep, 100 * np.asarray(val_der), marker="o")
    a.set(xlabel="epoch", ylabel="%", title="validation digit error rate")
    b.semilogy(ep, loss, marker="o", color="tab:orange")
    b.set(xlabel="epoch", ylabel="nats per utterance", title="training CTC loss")
    _save(fig, path)


def alignment_plot(path, spec, lp, classes, stack, frame_s, title=""):
    """spec (frames, mels) log-mel; lp (T, 11) log-posteriors; classes the decoded string."""
    T = len(lp)
    step_s = stack * frame_s
    _, gamma = posteriors(
        lp[None], np.asarray(classes)[None] if classes else np.zeros((1, 0)), [T], [len(classes)]
    )
    fig = new_figure(11, 7.5)
    axes = [fig.add_subplot(3, 1, k + 1) for k in range(3)]
    ext = (0, T * step_s)
    axes[0].imshow(
        spec.T,
        vmin=max(spec.min(), spec.max() - 14.0),  # a 60 dB range (natural-log energies)
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(0, len(spec) * frame_s, 0, spec.shape[1]),
    )
    axes[0].set_ylabel("mel band")
    axes[0].set_title(f"{title}: heard {''.join(DIGITS[c - 1] for c in classes) or '(nothing)'}")
    names = ["blank"] + list(DIGITS)
    for ax, m, what in (
        (axes[1], np.exp(lp), "network posteriors y_t(k)"),
        (axes[2], gamma[0], "alignment γ_t(k) of the result"),
    ):
        ax.imshow(
            m.T,
            origin="lower",
            aspect="auto",
            cmap="Greys",
            vmin=0,
            vmax=1,
            extent=(ext[0], ext[1], -0.5, 10.5),
            interpolation="nearest",
        )
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_ylabel(what, fontsize=8)
        ax.set_xlim(0, max(len(spec) * frame_s, ext[1]))
    peaks = [t for t in range(T) if lp[t].argmax() != 0]
    for t in peaks:
        k = int(lp[t].argmax())
        axes[1].text(
            (t + 0.5) * step_s,
            k,
            DIGITS[k - 1],
            color="tab:orange",
            ha="center",
            va="center",
            fontsize=8,
        )
    axes[2].set_xlabel("time (s)")
    _save(fig, path)
