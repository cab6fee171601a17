"""Audio in, features out, in NumPy: WAV reading, resampling, log-mel spectrogram, MFCC.

The pipeline (the classic front end of speech recognition; Davis & Mermelstein 1980):

    x[n]            samples in [−1, 1], resampled to 16 kHz
    x'[n]           = x[n] − 0.97·x[n−1]                      pre-emphasis (tilts up the highs)
    frame m         x'[m·hop … m·hop + win − 1] · w,  w = Hann(win)   25 ms frames every 10 ms
    P_m(k)          = |FFT_N(frame m)[k]|² / N              power spectrum, N = 512, k = 0 … N/2
    E_m(j)          = Σ_k M_j(k) · P_m(k)                    mel filterbank, j = 0 … n_mels−1
    logmel_m(j)     = ln(E_m(j) + 1e-10)
    mfcc_m(i)       = Σ_j logmel_m(j) · cos(π i (j + ½) / n_mels) · a_i    DCT-II (orthonormal)

The mel scale (HTK): mel(f) = 2595 · log10(1 + f / 700). M_j is the triangle that rises
from mel point j to j+1 and falls to j+2, the n_mels + 2 points evenly spaced in mel
between fmin and fmax; the triangles are evaluated at each FFT bin's frequency.

Resampling is band-limited by the FFT (the method of ``scipy.signal.resample``): the
spectrum of the whole signal is cut (or zero-padded) to the new Nyquist frequency and
transformed back with the new length. Good for utterances of seconds, not for hours.
"""

from __future__ import annotations

import wave
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import UserError

__all__ = [
    "SAMPLE_RATE",
    "FeatureConfig",
    "read_wav",
    "write_wav",
    "resample",
    "mel_filterbank",
    "frames",
    "log_mel",
    "dct_matrix",
    "mfcc",
    "load_audio",
]

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class FeatureConfig:
    sample_rate: int = SAMPLE_RATE
    win: int = 400  # 25 ms
    hop: int = 160  # 10 ms
    n_fft: int = 512
    n_mels: int = 40
    n_mfcc: int = 13
    fmin: float = 20.0
    fmax: float = 7600.0
    preemphasis: float = 0.97

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FeatureConfig:
        return cls(**{k: type(getattr(cls(), k))(v) for k, v in d.items()})


def read_wav(path: str) -> tuple[np.ndarray, int]:
    """A PCM WAV file (8/16/24/32-bit, any rate, mono or stereo) → (samples in [−1, 1]
    as float64 (n,), sample rate). Channels are averaged. Anything else is a UserError."""
    try:
        with wave.open(str(path), "rb") as w:
            ch, width, sr, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(n)
    except FileNotFoundError:
        raise UserError(f"no such audio file: {path}") from None
    except (wave.Error, EOFError) as e:
        raise UserError(
            f"{path}: expected a PCM WAV file (16 kHz mono 16-bit is best), could not read it: {e}"
        ) from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory; expected a .wav file") from None
    if width not in (1, 2, 3, 4):
        raise UserError(f"{path}: expected 8-, 16-, 24- or 32-bit PCM samples, got {8 * width}-bit")
    if n == 0 or len(raw) < width * ch:
        raise UserError(f"{path}: the WAV file has no samples")
    raw = raw[: len(raw) // (width * ch) * width * ch]
    if width == 1:  # unsigned 8-bit
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 3:  # little-endian 24-bit: sign-extend into int32
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)
    else:
        dt = np.dtype("<i2") if width == 2 else np.dtype("<i4")
        x = np.frombuffer(raw, dt).astype(np.float64) / float(1 << (8 * width - 1))
    return x.reshape(-1, ch).mean(axis=1), sr


def write_wav(path: str, x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Mono 16-bit PCM WAV from samples in [−1, 1] (clipped)."""
    q = np.round(np.clip(np.asarray(x, np.float64), -1.0, 1.0 - 1 / 32768) * 32768).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(q.tobytes())


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Band-limited resampling by the FFT: n_out = round(n · sr_out / sr_in)."""
    x = np.asarray(x, np.float64)
    if sr_in == sr_out:
        return x.copy()
    n = len(x)
    m = max(1, int(round(n * sr_out / sr_in)))
    X = np.fft.rfft(x)  # (n//2 + 1,)
    k = min(len(X), m // 2 + 1)
    Y = np.zeros(m // 2 + 1, complex)
    Y[:k] = X[:k]
    if k == m // 2 + 1 and m % 2 == 0 and k < len(X):  # the new Nyquist bin, shared by ±f
        Y[k - 1] = Y[k - 1].real
    if n % 2 == 0 and k == len(X) and m > n:  # the old Nyquist bin, split between ±f
        Y[k - 1] *= 0.5
    return np.fft.irfft(Y, m) * (m / n)


def mel_filterbank(cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """(n_mels, n_fft/2 + 1) triangles on the HTK mel scale."""
    mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)  # noqa: E731
    hz = lambda m: 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)  # noqa: E731
    points = hz(np.linspace(mel(cfg.fmin), mel(cfg.fmax), cfg.n_mels + 2))  # (n_mels + 2,)
    f = np.arange(cfg.n_fft // 2 + 1) * cfg.sample_rate / cfg.n_fft  # bin frequencies
    lo, mid, hi = points[:-2, None], points[1:-1, None], points[2:, None]
    rise = (f[None, :] - lo) / (mid - lo)
    fall = (hi - f[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(rise, fall))


def frames(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Pre-emphasised, Hann-windowed frames (n_frames, win); the signal is zero-padded so
    the last partial frame counts (n_frames = 1 + ceil(max(n − win, 0) / hop))."""
    x = np.asarray(x, np.float64)
    x = np.append(x[:1], x[1:] - cfg.preemphasis * x[:-1])
    n_frames = 1 + int(np.ceil(max(len(x) - cfg.win, 0) / cfg.hop))
    x = np.pad(x, (0, (n_frames - 1) * cfg.hop + cfg.win - len(x)))
    idx = np.arange(cfg.win)[None, :] + cfg.hop * np.arange(n_frames)[:, None]
    return x[idx] * np.hanning(cfg.win + 2)[1:-1]  # (n_frames, win); Hann without its zero ends


def log_mel(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """16 kHz samples → (n_frames, n_mels) log mel-band energies."""
    P = np.abs(np.fft.rfft(frames(x, cfg), cfg.n_fft, axis=1)) ** 2 / cfg.n_fft  # (frames, N/2+1)
    return np.log(P @ mel_filterbank(cfg).T + 1e-10)


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) orthonormal DCT-II: a_i cos(π i (j + ½) / n_in), a_0 = √(1/n), a_i = √(2/n)."""
    i, j = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    D = np.cos(np.pi * i * (j + 0.5) / n_in) * np.sqrt(2.0 / n_in)
    D[0] /= np.sqrt(2.0)
    return D


def mfcc(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """16 kHz samples → (n_frames, n_mfcc) mel-frequency cepstral coefficients."""
    return log_mel(x, cfg) @ dct_matrix(cfg.n_mfcc, cfg.n_mels).T


def load_audio(path: str, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """A WAV file → samples at ``cfg.sample_rate`` (resampled if the file has another rate)."""
    x, sr = read_wav(path)
    if sr < 8000:
        raise UserError(f"{path}: sample rate {sr} Hz is too low; expected 16 kHz (8 kHz at least)")
    return resample(x, sr, cfg.sample_rate)
