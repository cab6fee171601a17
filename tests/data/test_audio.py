"""Audio front end: WAV reading (formats, errors), resampling, mel filterbank, DCT, MFCC."""

import wave

import numpy as np
import pytest

from lstmkit.data import audio
from lstmkit.errors import UserError

scipy = pytest.importorskip("scipy")


def _write(path, frames: bytes, sr=16000, ch=1, width=2):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(ch)
        w.setsampwidth(width)
        w.setframerate(sr)
        w.writeframes(frames)


def test_wav_round_trip_16_bit(tmp_path):
    x = np.sin(np.linspace(0, 40, 8000)) * 0.8
    audio.write_wav(tmp_path / "a.wav", x)
    y, sr = audio.read_wav(tmp_path / "a.wav")
    assert sr == 16000 and len(y) == len(x)
    np.testing.assert_allclose(y, x, atol=1 / 32768)


def test_wav_8_24_32_bit_and_stereo(tmp_path):
    v = np.array([0.5, -0.25, 0.0, -1.0])
    _write(tmp_path / "u8.wav", (np.round(v * 128) + 128).astype(np.uint8).tobytes(), width=1)
    i24 = np.round(v * 2**23).astype(np.int64) & 0xFFFFFF
    b24 = np.stack([i24 & 255, (i24 >> 8) & 255, i24 >> 16], 1).astype(np.uint8).tobytes()
    _write(tmp_path / "s24.wav", b24, width=3)
    _write(tmp_path / "s32.wav", np.round(v * 2**31).astype("<i4").tobytes(), width=4)
    for name in ("u8", "s24", "s32"):
        y, _ = audio.read_wav(tmp_path / f"{name}.wav")
        np.testing.assert_allclose(y, v, atol=1e-6, err_msg=name)
    st = np.stack([v / 2, -v / 2], 1).ravel()  # left = v/2, right = −v/2: the mean is 0
    _write(tmp_path / "st.wav", np.round(st * 2**15).astype("<i2").tobytes(), ch=2)
    y, _ = audio.read_wav(tmp_path / "st.wav")
    np.testing.assert_allclose(y, 0, atol=1e-4)


def test_bad_audio_files_are_user_errors(tmp_path):
    (tmp_path / "t.wav").write_text("not a wave file at all")
    with pytest.raises(UserError, match="expected a PCM WAV"):
        audio.read_wav(tmp_path / "t.wav")
    with pytest.raises(UserError, match="no such audio file"):
        audio.read_wav(tmp_path / "missing.wav")
    _write(tmp_path / "empty.wav", b"")
    with pytest.raises(UserError, match="no samples"):
        audio.read_wav(tmp_path / "empty.wav")
    _write(tmp_path / "low.wav", b"\0\0" * 100, sr=4000)
    with pytest.raises(UserError, match="too low"):
        audio.load_audio(tmp_path / "low.wav")


def test_resample_a_band_limited_tone_exactly():
    # 22 050 Hz → 16 kHz over a whole number of periods: the tone comes back sample-exact
    n_in = 22050
    t_in = np.arange(n_in) / 22050
    y = audio.resample(np.sin(2 * np.pi * 441 * t_in), 22050, 16000)
    t_out = np.arange(16000) / 16000
    np.testing.assert_allclose(y, np.sin(2 * np.pi * 441 * t_out), atol=1e-9)


@pytest.mark.parametrize("n,a,b", [(1000, 8000, 16000), (999, 8000, 16000), (1000, 44100, 16000)])
def test_resample_equals_scipy(n, a, b):
    x = np.random.default_rng(0).standard_normal(n)
    m = int(round(n * b / a))
    np.testing.assert_allclose(audio.resample(x, a, b), scipy.signal.resample(x, m), atol=1e-9)


def test_mel_filterbank_and_a_tone_lands_in_its_band():
    cfg = audio.FeatureConfig()
    M = audio.mel_filterbank(cfg)
    assert M.shape == (40, 257) and M.min() >= 0 and M.max() <= 1
    assert np.all(M.sum(axis=1) > 0)  # no empty band
    peaks = M.argmax(axis=1) * cfg.sample_rate / cfg.n_fft
    assert np.all(np.diff(peaks) >= 0)  # bands in order of frequency
    tone = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    lm = audio.log_mel(tone, cfg)
    assert lm.shape == (1 + int(np.ceil((16000 - 400) / 160)), 40)
    band = lm[10:-10].mean(axis=0).argmax()
    assert abs(peaks[band] - 1000) < 150


def test_mfcc_is_the_orthonormal_dct_of_log_mel():
    x = np.random.default_rng(1).standard_normal(8000) * 0.1
    lm = audio.log_mel(x)
    want = scipy.fft.dct(lm, type=2, norm="ortho", axis=1)[:, :13]
    np.testing.assert_allclose(audio.mfcc(x), want, atol=1e-10)
    D = audio.dct_matrix(40, 40)
    np.testing.assert_allclose(D @ D.T, np.eye(40), atol=1e-12)
