"""The speech job's data: the bundled spoken-digits corpus, the model's input features,
batches of similar length, and WAV files.

Model input, from the MFCCs of an utterance (n frames × 13, every 10 ms):

    u_m   = mfcc_m − mean_m(mfcc)          cepstral mean normalisation, per utterance
                                           (removes the channel / loudness / voice tilt)
    v_m   = u_m / σ                         σ (13,): the std of u over the training set
    x_τ   = [v_{3τ}, v_{3τ+1}, v_{3τ+2}]    3 frames stacked: one input step per 30 ms (39,)

so T = ceil(n / 3) steps (the last group padded by repeating the last frame). Classes:
0 is the CTC blank, class d + 1 is the digit d.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources

import numpy as np

from ...data.audio import FeatureConfig, dct_matrix, load_audio, mfcc
from ...errors import UserError
from .corpus import dequantise

STACK = 3  # frames per input step
N_CLASSES = 11  # blank + 10 digits
DIGITS = "0123456789"


def bundled_path() -> str:
    return str(resources.files("lstmkit.data").joinpath("bundled", "spoken_digits.npz"))


@dataclass
class Corpus:
    feats: list  # per utterance (n_frames, 13) float32 MFCC
    labels: list  # per utterance (L,) int digits 0–9
    split: np.ndarray  # (N,) "train" / "validation" / "test"
    voice: np.ndarray  # (N,) "accent+variant"
    meta: dict

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.split == split)

    def new_accent(self, idx) -> np.ndarray:
        """Whether each utterance's accent is one the training set never has."""
        new = set(self.meta.get("new_accents", []))
        return np.array([self.voice[i].split("+")[0] in new for i in idx], bool)


def load_corpus(path: str | None = None) -> Corpus:
    """The spoken-digits .npz (bundled by default) → Corpus. Never unpickles."""
    path = path or bundled_path()
    if not os.path.exists(path):
        raise UserError(f"no such corpus file: {path}")
    need = {"feats", "lo", "hi", "frame_offsets", "labels", "label_offsets", "split", "voice"}
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = need - set(z.files)
            if missing:
                raise UserError(
                    f"{path}: not a spoken-digits corpus (missing {sorted(missing)}); "
                    f"make one with python -m lstmkit.apps.speech.corpus"
                )
            a = {k: z[k] for k in need | ({"meta"} & set(z.files))}
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: cannot read it as a .npz corpus: {e}") from None
    feats = dequantise(a["feats"], a["lo"], a["hi"])  # (Σ frames, 13)
    fo, lo = a["frame_offsets"], a["label_offsets"]
    if len(fo) != len(lo) or fo[-1] != len(feats) or lo[-1] != len(a["labels"]):
        raise UserError(f"{path}: the corpus offsets do not match its arrays")
    n = len(fo) - 1
    return Corpus(
        feats=[feats[fo[u] : fo[u + 1]] for u in range(n)],
        labels=[a["labels"][lo[u] : lo[u + 1]].astype(np.int64) for u in range(n)],
        split=a["split"].astype(str),
        voice=a["voice"].astype(str),
        meta=json.loads(str(a["meta"])) if "meta" in a else {},
    )


def cmn(f: np.ndarray) -> np.ndarray:
    """u = mfcc − its mean over the utterance."""
    return f - f.mean(axis=0, keepdims=True)


def norm_scale(corpus: Corpus, idx) -> np.ndarray:
    """σ (13,): std of the mean-normalised MFCCs over the utterances idx."""
    u = np.concatenate([cmn(corpus.feats[i]) for i in idx])
    return np.maximum(u.std(axis=0), 1e-3).astype(np.float32)


def model_input(f: np.ndarray, scale: np.ndarray, stack: int = STACK) -> np.ndarray:
    """MFCC (n, 13) → model input (ceil(n / stack), 13·stack), float32."""
    v = cmn(np.asarray(f, np.float32)) / scale
    n = len(v)
    T = -(-n // stack)
    v = np.concatenate([v, np.repeat(v[-1:], T * stack - n, axis=0)])
    return v.reshape(T, stack * v.shape[1]).astype(np.float32)


def perturb(f: np.ndarray, rng: np.random.Generator, n_mels: int = 40) -> np.ndarray:
    """Training-time augmentation of MFCCs (n, 13): a new voice and a new speed.

    Vocal-tract-length-like warp: back to the (smoothed) log-mel bands by the transposed
    orthonormal DCT, band j read at α·j (α ∈ [0.9, 1.1], linear interpolation), and forward
    again. Speed: the frames resampled in time by β ∈ [0.9, 1.1]."""
    D = dct_matrix(f.shape[1], n_mels)  # (13, 40)
    L = f @ D  # (n, 40) smoothed log-mel
    j = np.clip(np.arange(n_mels) * rng.uniform(0.9, 1.1), 0, n_mels - 1)
    j0 = np.minimum(np.floor(j).astype(int), n_mels - 2)
    w = j - j0
    L = L[:, j0] * (1 - w) + L[:, j0 + 1] * w
    n = len(L)
    m = max(2, int(round(n * rng.uniform(0.9, 1.1))))
    t = np.linspace(0, n - 1, m)
    t0 = np.minimum(np.floor(t).astype(int), max(n - 2, 0))
    u = (t - t0)[:, None]
    L = L[t0] * (1 - u) + L[np.minimum(t0 + 1, n - 1)] * u
    return (L @ D.T).astype(np.float32)


def wav_features(path: str, cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """A WAV file → (MFCC (n, 13), 16 kHz samples). Other rates are resampled."""
    x = load_audio(path, cfg)
    if len(x) < cfg.win:
        raise UserError(f"{path}: the recording is shorter than one {cfg.win}-sample frame")
    return mfcc(x, cfg).astype(np.float32), x


def pad_batch(xs: list, labels: list | None = None):
    """→ x (B, T_max, F), mask (B, T_max) 0/1, y (B, L_max) with class = digit + 1, 0 padded."""
    B, T, F = len(xs), max(len(x) for x in xs), xs[0].shape[1]
    x = np.zeros((B, T, F), np.float32)  # padded inputs
    mask = np.zeros((B, T), np.float32)  # 1 on real frames
    for b, xb in enumerate(xs):
        x[b, : len(xb)] = xb
        mask[b, : len(xb)] = 1.0
    if labels is None:
        return x, mask, None
    L = max(1, max(len(lab) for lab in labels))
    y = np.zeros((B, L), np.int64)  # CTC targets: digit + 1, then 0 (blank / padding)
    for b, lab in enumerate(labels):
        y[b, : len(lab)] = np.asarray(lab) + 1
    return x, mask, y


def length_batches(lengths, batch_size: int, rng: np.random.Generator) -> list:
    """Batches of similar lengths (little padding), in a random order: sort by length with
    random tie-breaking, cut into runs of batch_size, shuffle the runs."""
    lengths = np.asarray(lengths)
    order = np.lexsort((rng.random(len(lengths)), lengths))
    runs = [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    return [runs[k] for k in rng.permutation(len(runs))]
