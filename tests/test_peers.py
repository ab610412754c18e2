"""The peer denoisers (DeepFilterNet3, RNNoise) on real speech: the input's length, no
delay, less noise; and their place in the tables and in the restore command."""

import sys

import numpy as np
import pytest
import yaml

from conftest import REALMINI, REPO, run_snakemake
from specrestore import dsp, peers
from specrestore.audio import find_audio_files, read_audio
from specrestore.corruption import mix_at_snr
from specrestore.noise import coloured
from specrestore.recordings import make_restorer
from specrestore.restoration import Utterance, restore, system_ids, system_label

METHODS = ["deepfilternet3", "rnnoise"]


@pytest.fixture(scope="module")
def voice(request) -> tuple[np.ndarray, int]:
    """About six seconds of real read speech at 16 kHz (two LibriSpeech utterances from
    realmini), or espeak sentences where realmini is absent; at -26 dBFS."""
    if (REALMINI / "manifest.csv").is_file():
        files = [p for p in find_audio_files(REALMINI) if "librispeech" in str(p)][:2]
        parts = []
        for path in files:
            data, rate = read_audio(path)
            parts.append(dsp.resample(dsp.to_mono(data), rate, 16000))
        x = np.concatenate(parts)[: 6 * 16000]
    else:
        x = np.concatenate([dsp.resample(s, rate, 16000) for s, rate in request.getfixturevalue("speech").values()])
    return dsp.normalise_level(x, 16000, -26)[0], 16000


def lag_of_peak(clean: np.ndarray, restored: np.ndarray, limit: int) -> int:
    """The lag (restored behind clean, in samples) where their cross-correlation peaks."""
    n = len(clean) + len(restored)
    correlation = np.fft.irfft(np.fft.rfft(restored, n) * np.conj(np.fft.rfft(clean, n)), n)
    lags = np.r_[np.arange(limit + 1), np.arange(-limit, 0)]
    return int(lags[np.argmax(correlation[lags])])


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
@pytest.mark.parametrize("method", METHODS)
def test_peer_denoises_real_speech_in_place_and_in_time(voice, method, rate):
    x, rate_in = voice
    clean = dsp.resample(x, rate_in, rate)
    noise = coloured(len(clean), np.random.default_rng(3), 1.0, rate)  # pink
    noisy, _ = mix_at_snr(clean, noise, 5.0)
    noisy = noisy[: len(noisy) - 123]  # not a whole number of frames
    clean = clean[: len(noisy)]
    restored = peers.denoise(method, noisy, rate)
    assert restored.dtype == np.float32 and len(restored) == len(noisy)
    assert np.all(np.isfinite(restored))
    assert lag_of_peak(clean, restored, limit=rate // 10) == 0
    before, after = dsp.snr_db(clean, noisy), dsp.snr_db(clean, restored)
    assert after > before + 3, (before, after)


@pytest.mark.parametrize("method", METHODS)
def test_the_delay_compensated_is_the_runtime_s_own(method):
    # A click at 48 kHz comes out of the bare runtime exactly `delay` samples late,
    # wherever it falls in a frame.
    for position in (24000, 24000 + 173):
        click = np.zeros(48000, dtype=np.float32)
        click[position] = 0.5
        out = peers.RUNNERS[method](click)
        assert int(np.argmax(np.abs(out))) - position == peers.PEERS[method].delay


def test_rnnoise_runs_without_importing_its_python_package(voice):
    x, rate = voice
    peers.denoise("rnnoise", x[:rate], rate)
    assert "pyrnnoise" not in sys.modules and "audiolab" not in sys.modules


def test_peers_are_rows_of_noise_tables_only():
    methods = ["corrupted", "spectral_gating", "rnnoise", "deepfilternet3", "interp", "lpc"]
    noise = ["corrupted", "spectral_gating", "rnnoise", "deepfilternet3"]
    assert system_ids(methods, ["corrupted"], ["noise"]) == noise
    assert {"rnnoise", "deepfilternet3"} <= set(system_ids(methods, ["corrupted"], ["noise", "gap"]))
    assert not {"rnnoise", "deepfilternet3"} & set(system_ids(methods, ["corrupted"], ["gap"]))
    assert system_label("deepfilternet3") == "DeepFilterNet3" and system_label("rnnoise") == "RNNoise"
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert {"rnnoise", "deepfilternet3"} <= set(config["evaluation"]["methods"])


def test_restoration_runs_the_peer_named(voice):
    x, rate = voice
    utterance = Utterance("u", x[: 2 * rate])
    y = restore("rnnoise", utterance, rate, dsp.StftParams(512, 128), {})
    assert np.array_equal(y, peers.denoise("rnnoise", x[: 2 * rate], rate))


def test_denoising_recordings_defaults_to_deepfilternet3():
    restorer = make_restorer("noise", None)
    assert restorer.method == "deepfilternet3" and restorer.sample_rate == peers.RATE
    assert make_restorer("noise", None, "rnnoise").method == "rnnoise"
    assert make_restorer("noise", None, "spectral_gating").sample_rate is None
    assert make_restorer("gap", None).method == "lpc"
    with pytest.raises(Exception, match="does not restore gap"):
        make_restorer("gap", None, "deepfilternet3")


def test_snakemake_restore_denoises_with_deepfilternet3_and_trains_nothing(tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "a.wav").write_bytes(b"")
    result = run_snakemake(
        tmp_path, "restore", "--dry-run", "--config", f"restore_input={tmp_path / 'calls'}", "restore_task=noise"
    )
    planned = result.stdout + result.stderr
    assert result.returncode == 0, planned[-3000:]
    assert "rule restore:" in planned and "rule train:" not in planned
