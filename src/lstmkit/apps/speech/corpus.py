"""The spoken-digits corpus: strings of 1–7 digits synthesised by espeak-ng, stored as features.

How an utterance is made (everything random comes from one seeded generator):

1. a digit string, 1–7 digits, uniform; written "3 1 4" or "3, 1, 4" (commas lengthen
   the pauses);
2. a voice = an English accent of espeak-ng (``-v en-us``, ``en-gb-scotland`` …) with a
   voice variant (``+m3``, ``+f2``, ``+klatt``, ``+Andy`` …); speed 120–230 words per
   minute (``-s``), pitch 15–85 (``-p``), extra word gap 0–80 ms (``-g``);
3. the 22 050 Hz output resampled to 16 kHz, 30–250 ms of silence added before and
   after, scaled to a random level (−30 … −6 dBFS peak), and white noise added at a signal
   to noise ratio of 10–35 dB;
4. MFCCs (:mod:`lstmkit.data.audio`: 25 ms frames every 10 ms, 40 mel bands, 13
   coefficients), quantised to 8 bits per coefficient with a per-coefficient scale.

Held-out voices. The variants are split three ways, and two accents are never trained on:
train = TRAIN_ACCENTS × TRAIN_VARIANTS, validation = TRAIN_ACCENTS × VAL_VARIANTS,
test = ALL_ACCENTS × TEST_VARIANTS — every test voice is a variant the model never heard,
and a quarter of them also speak with an accent it never heard.

Regenerate (needs Debian's ``espeak-ng``; ``apt-get install espeak-ng``)::

    python -m lstmkit.apps.speech.corpus --out src/lstmkit/data/bundled/spoken_digits.npz

The file is a NumPy ``.npz`` (no pickle: every array is numeric or fixed-width text).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from tqdm.auto import tqdm

from ...data.audio import FeatureConfig, mfcc, read_wav, resample

TRAIN_ACCENTS = ["en-us", "en", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc"]
NEW_ACCENTS = ["en-029", "en-gb-scotland"]  # heard only in the test set
TEST_VARIANTS = ["m3", "f4", "klatt3", "Andy", "belinda", "john", "quincy", "steph2"]
VAL_VARIANTS = ["m6", "f2", "klatt5", "edward", "linda"]
TRAIN_VARIANTS = [
    "m1",
    "m2",
    "m4",
    "m5",
    "m7",
    "m8",
    "f1",
    "f3",
    "f5",
    "klatt",
    "klatt2",
    "klatt4",
    "klatt6",
    "adam",
    "Alex",
    "Alicia",
    "Andrea",
    "Annie",
    "aunty",
    "benjamin",
    "boris",
    "caleb",
    "david",
    "ed",
    "edward2",
    "Gene",
    "grandma",
    "grandpa",
    "iven",
    "iven2",
    "Lee",
    "max",
    "Michael",
    "Mike",
    "norbert",
    "paul",
    "rob",
    "robert",
    "steph",
    "travis",
    "zac",
]
SPLITS = {"train": 1500, "validation": 150, "test": 350}
MAX_DIGITS = 7


def voices(split: str) -> list[str]:
    accents = TRAIN_ACCENTS + NEW_ACCENTS if split == "test" else TRAIN_ACCENTS
    variants = {"train": TRAIN_VARIANTS, "validation": VAL_VARIANTS, "test": TEST_VARIANTS}[split]
    return [f"{a}+{v}" for a in accents for v in variants]


def synthesise(text: str, voice: str, speed: int, pitch: int, gap: int, tmp: str) -> np.ndarray:
    """espeak-ng → 16 kHz samples."""
    path = os.path.join(tmp, "u.wav")
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-g", str(gap)]
    subprocess.run(cmd + ["-w", path, text], check=True, capture_output=True)
    x, sr = read_wav(path)
    return resample(x, sr, 16000)


def make_utterance(rng: np.random.Generator, voice: str, tmp: str):
    """→ (digits (L,), 16 kHz samples, facts dict)."""
    n = int(rng.integers(1, MAX_DIGITS + 1))
    digits = rng.integers(0, 10, n)
    sep = ", " if rng.random() < 0.3 else " "
    speed, pitch, gap = (
        int(rng.integers(120, 231)),
        int(rng.integers(15, 86)),
        int(rng.integers(0, 9)),
    )
    x = synthesise(sep.join(str(d) for d in digits), voice, speed, pitch, gap, tmp)
    pad = lambda: np.zeros(int(rng.uniform(0.03, 0.25) * 16000))  # noqa: E731
    x = np.concatenate([pad(), x, pad()])
    x *= 10 ** (rng.uniform(-30, -6) / 20) / max(np.abs(x).max(), 1e-9)  # peak level
    snr = rng.uniform(10, 35)
    noise = rng.standard_normal(len(x)) * np.sqrt(np.mean(x**2) / 10 ** (snr / 10))
    facts = {"voice": voice, "speed": speed, "pitch": pitch, "gap": gap, "snr": round(snr, 1)}
    return digits, x + noise, facts


def quantise(feats: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """float (n, F) → uint8 with 0 ↔ lo, 255 ↔ hi per column."""
    return np.round(np.clip((feats - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def dequantise(q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + q.astype(np.float32) / 255.0 * (hi - lo)


def build(out: str, seed: int = 0, sizes: dict | None = None, verbose: bool = True) -> dict:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng not found: install it (Debian: apt-get install espeak-ng)")

    sizes = sizes or SPLITS
    cfg = FeatureConfig()
    rng = np.random.default_rng(seed)
    feats, labels, split_of, voice_of, facts = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        todo = [(s, k) for s, n in sizes.items() for k in range(n)]
        for split, _ in tqdm(todo, desc="synthesising", disable=not verbose):
            vs = voices(split)
            voice = vs[int(rng.integers(len(vs)))]
            digits, x, f = make_utterance(rng, voice, tmp)
            feats.append(mfcc(x, cfg).astype(np.float32))
            labels.append(digits)
            split_of.append(split)
            voice_of.append(voice)
            facts.append(f)
    allf = np.concatenate(feats)
    lo, hi = np.percentile(allf, 0.01, axis=0), np.percentile(allf, 99.99, axis=0)
    frame_off = np.cumsum([0] + [len(f) for f in feats])
    label_off = np.cumsum([0] + [len(lab) for lab in labels])
    meta = {
        "what": "spoken digit strings synthesised by espeak-ng, as MFCC features",
        "seed": seed,
        "features": cfg.to_dict(),
        "splits": {s: voices(s) for s in sizes},
        "new_accents": NEW_ACCENTS,
        "espeak_ng": subprocess.run(
            ["espeak-ng", "--version"], capture_output=True, text=True
        ).stdout.strip(),
    }
    np.savez_compressed(
        out,
        feats=quantise(allf, lo, hi),  # (Σ frames, 13) uint8
        lo=lo.astype(np.float32),
        hi=hi.astype(np.float32),
        frame_offsets=frame_off.astype(np.int64),  # utterance u = frames [off[u], off[u+1])
        labels=np.concatenate(labels).astype(np.int8),  # the digits 0–9
        label_offsets=label_off.astype(np.int64),
        split=np.array(split_of),
        voice=np.array(voice_of),
        speed=np.array([f["speed"] for f in facts], np.int16),
        snr=np.array([f["snr"] for f in facts], np.float32),
        meta=np.array(json.dumps(meta)),
    )
    return {"utterances": len(feats), "frames": int(frame_off[-1]), "bytes": os.path.getsize(out)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", required=True, help="the .npz to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train", type=int, default=SPLITS["train"], help="training utterances")
    p.add_argument("--validation", type=int, default=SPLITS["validation"])
    p.add_argument("--test", type=int, default=SPLITS["test"])
    a = p.parse_args(argv)
    sizes = {"train": a.train, "validation": a.validation, "test": a.test}
    print(json.dumps(build(a.out, a.seed, sizes)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
