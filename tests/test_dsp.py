import librosa
import numpy as np
import pytest

from specrestore import dsp

PARAMS = [
    dsp.StftParams(512, 128, "hann"),  # default
    dsp.StftParams(255, 63, "hann"),  # seed 1: hop does not divide n_fft
    dsp.StftParams(2048, 512, "hann"),  # seed 0
    dsp.StftParams(400, 100, "hamming"),
    dsp.StftParams(256, 64, "blackman"),
]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p.n_fft}-{p.hop}-{p.window}")
def test_stft_matches_librosa(params):
    x = np.random.default_rng(0).standard_normal(16000 + 37).astype(np.float32)
    ours = dsp.stft(x, params)
    theirs = librosa.stft(
        x, n_fft=params.n_fft, hop_length=params.hop, window=params.window, center=True, pad_mode="constant"
    )
    assert ours.shape == theirs.shape == (params.n_freq, params.n_frames(len(x)))
    np.testing.assert_allclose(ours, theirs, atol=1e-4 * np.abs(theirs).max())


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p.n_fft}-{p.hop}-{p.window}")
@pytest.mark.parametrize("length", [16000, 16001, 4999])
def test_stft_istft_round_trip(params, length, speech_16k):
    x = np.resize(speech_16k[0], length)
    y = dsp.istft(dsp.stft(x, params), params, len(x))
    assert y.shape == x.shape and y.dtype == np.float32
    assert dsp.snr_db(x, y) > 100


def test_round_trip_through_cached_magnitude_and_phase(speech_16k):
    """The cache stores magnitude and phase; float32 keeps the waveform, float16
    still keeps it to within 40 dB."""
    params = dsp.StftParams(512, 128)
    x = speech_16k[1]
    spec = dsp.stft(x, params)
    for dtype, floor in (("float32", 90), ("float16", 40)):
        mag, phase = np.abs(spec).astype(dtype), np.angle(spec).astype(dtype)
        y = dsp.istft(mag.astype(np.float32) * np.exp(1j * phase.astype(np.float32)), params, len(x))
        assert dsp.snr_db(x, y) > floor, dtype


def test_istft_pads_to_requested_length():
    params = dsp.StftParams(512, 128)
    spec = dsp.stft(np.ones(1000, np.float32), params)
    assert len(dsp.istft(spec, params, 1500)) == 1500


def test_resample_keeps_a_tone_and_the_duration():
    rate_in, rate_out = 44100, 16000
    t = np.arange(rate_in * 2) / rate_in
    y = dsp.resample(np.sin(2 * np.pi * 1000 * t).astype(np.float32), rate_in, rate_out)
    assert abs(len(y) - 2 * rate_out) <= 1
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert np.argmax(spectrum) * rate_out / len(y) == pytest.approx(1000, abs=1)
    assert np.array_equal(dsp.resample(y, rate_out, rate_out), y)


def test_active_level_ignores_pauses(speech_16k):
    x = speech_16k[0]
    padded = np.concatenate([np.zeros(32000, np.float32), x, np.zeros(32000, np.float32)])
    assert dsp.active_level_db(padded, 16000) == pytest.approx(dsp.active_level_db(x, 16000), abs=0.5)
    assert dsp.power_db(padded) < dsp.power_db(x) - 3


def test_normalise_level_reaches_target_without_clipping(speech_16k):
    y, _ = dsp.normalise_level(speech_16k[0] * 0.01, 16000, -26.0)
    assert dsp.active_level_db(y, 16000) == pytest.approx(-26.0, abs=0.01)
    loud, _ = dsp.normalise_level(speech_16k[0], 16000, -3.0)
    assert np.max(np.abs(loud)) <= 0.99 + 1e-6
    with pytest.raises(ValueError, match="silent"):
        dsp.normalise_level(np.zeros(1000, np.float32), 16000, -26)


def test_snr_db():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(10000)
    noise = rng.standard_normal(10000)
    noise *= np.sqrt(np.sum(x**2) / np.sum(noise**2)) / 10  # 20 dB
    assert dsp.snr_db(x, x + noise) == pytest.approx(20.0, abs=1e-9)
