"""Recognise the digits in a WAV file; optionally draw the CTC alignment (:mod:`.plot`) and
write the model's inputs for ``lstmkit explain``."""

from __future__ import annotations

import os

import numpy as np

from ...core.ctc import log_softmax
from ...core.ctc_decode import greedy_decode, prefix_beam_search
from ...data.audio import log_mel
from ..shared.outfiles import write_csv
from .data import DIGITS, model_input, wav_features
from .job import forward
from .plot import alignment_plot


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
    header = [f"f{k}" for k in range(x.shape[1])]
    write_csv(path, header, [[f"{v:.6g}" for v in row] for row in x])
