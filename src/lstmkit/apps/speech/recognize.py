"""Recognise the digits in a WAV file, and draw the CTC alignment.

The picture has three panels over the same time axis (30 ms model steps):

1. the log-mel spectrogram of the recording (what the microphone heard);
2. the network's per-step posteriors y_t(k) = softmax(z_t)_k, one row per digit, blank
   on top (CTC's "spikes": each digit fires on a step or two, blank everywhere else);
3. the forced alignment γ_t(k) of the decoded string (:func:`lstmkit.core.ctc.posteriors`):
   the posterior that step t emits k *given* that the utterance reads the decoded digits.
"""

from __future__ import annotations

import os

import numpy as np

from ...core.ctc import log_softmax, posteriors
from ...core.ctc_decode import greedy_decode, prefix_beam_search
from ...data.audio import log_mel
from ...errors import UserError
from .data import DIGITS, model_input, wav_features
from .job import forward


def recognize_file(model, meta, path: str, beam: int = 8, plot: str | None = None):
    """→ (digit string, info) for one WAV file; ``plot`` writes the alignment PNG."""
    fcfg, scale, stack = meta["_fcfg"], meta["_scale"], int(meta["stack"])
    feats, samples = wav_features(path, fcfg)
    x = model_input(feats, scale, stack)[None]  # (1, T, 39)
    lp = log_softmax(forward(model, x, np.ones(x.shape[:2], np.float32)))[0]  # (T, 11)
    if beam:
        best, score = prefix_beam_search(lp, beam_width=beam)[0]
        classes = list(best)
    else:
        classes = greedy_decode(lp[None])[0]
        score = None
    digits = "".join(DIGITS[c - 1] for c in classes)
    info = {"steps": len(lp), "log_score": score, "seconds": len(samples) / fcfg.sample_rate}
    info["inputs"] = x[0]  # (T, 39) what the model read
    if plot:
        alignment_plot(
            plot,
            log_mel(samples, fcfg),
            lp,
            classes,
            stack,
            fcfg.hop / fcfg.sample_rate,
            os.path.basename(path),
        )
    return digits, info


def write_inputs_csv(path: str, x: np.ndarray) -> None:
    """The model's input rows (T, 39) as CSV with a header f0…f38, for ``lstmkit explain
    MODEL --csv FILE`` (which walks the first LSTM layer through them step by step)."""
    header = ",".join(f"f{k}" for k in range(x.shape[1]))
    try:
        np.savetxt(path, x, delimiter=",", header=header, comments="", fmt="%.6g")
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None


def alignment_plot(path, spec, lp, classes, stack, frame_s, title=""):
    """spec (frames, mels) log-mel; lp (T, 11) log-posteriors; classes the decoded string."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    T = len(lp)
    step_s = stack * frame_s
    _, gamma = posteriors(
        lp[None], np.asarray(classes)[None] if classes else np.zeros((1, 0)), [T], [len(classes)]
    )
    fig = Figure(figsize=(11, 7.5), dpi=100)  # Agg canvas: no display, no pyplot
    FigureCanvasAgg(fig)
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
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as e:
        raise UserError(f"cannot write the picture {path}: {e.strerror or e}") from None
