import numpy as np
import pytest

from specrestore import dsp, noise

SR = 16000


def _spectrum_slope(x):
    freqs, power = __import__("scipy.signal", fromlist=["welch"]).welch(x, SR, nperseg=4096)
    band = (freqs > 100) & (freqs < 4000)
    return np.polyfit(np.log10(freqs[band]), 10 * np.log10(power[band]), 1)[0]


def test_coloured_noise_slopes():
    rng = np.random.default_rng(0)
    assert _spectrum_slope(noise.white(SR * 10, rng)) == pytest.approx(0, abs=1)
    assert _spectrum_slope(noise.coloured(SR * 10, rng, 1.0, SR)) == pytest.approx(-10, abs=1)
    assert _spectrum_slope(noise.coloured(SR * 10, rng, 2.0, SR)) == pytest.approx(-20, abs=1.5)


def test_hum_sits_on_the_mains_frequency():
    x = noise.hum(SR * 4, SR, np.random.default_rng(3))
    spectrum = np.abs(np.fft.rfft(x))
    peak = np.argmax(spectrum) * SR / len(x)
    assert min(abs(peak - h * f0) for f0 in (50, 60) for h in range(1, 13)) < 1


def test_bursts_come_and_go():
    x = noise.bursts(SR * 5, SR, np.random.default_rng(1))
    frame_db = 10 * np.log10(np.mean(x[: len(x) // 320 * 320].reshape(-1, 320) ** 2, axis=1) + 1e-20)
    assert np.percentile(frame_db, 90) - np.percentile(frame_db, 10) > 20


def test_babble_sources_never_leak_test_speakers_into_training():
    by_split = {"train": ["a"], "valid": ["b"], "test": ["c"]}
    assert noise.babble_source("train", by_split) == "valid"
    assert noise.babble_source("valid", by_split) == "test"
    assert noise.babble_source("test", by_split) == "train"
    assert noise.babble_source("train", {"train": ["a"], "test": ["c"]}) is None
    assert noise.babble_source("test", {"valid": ["b"], "test": ["c"]}) == "valid"


def test_bank_is_per_split_at_a_fixed_level_and_deterministic(speech_16k):
    talkers = {"train": {"v1": speech_16k[:2], "v2": speech_16k[2:4]}, "test": {"t1": speech_16k[4:]}}
    kinds = list(noise.KINDS)
    bank = noise.build_bank(["train", "valid", "test"], kinds, 2, 3.0, SR, 7, talkers, (2, 2))
    again = noise.build_bank(["train", "valid", "test"], kinds, 2, 3.0, SR, 7, talkers, (2, 2))
    assert [r.audio.tobytes() for r in bank] == [r.audio.tobytes() for r in again]
    ids = [r.id for r in bank]
    assert len(set(ids)) == len(ids)
    by_split = {s: {r.kind for r in bank if r.split == s} for s in ("train", "valid", "test")}
    assert by_split["valid"] == set(kinds) - {"babble"}  # no speakers lent to valid here
    assert by_split["train"] == by_split["test"] == set(kinds)
    for r in bank:
        assert len(r.audio) == 3 * SR and dsp.power_db(r.audio) == pytest.approx(noise.BANK_LEVEL_DB, abs=0.01)
    babble = [r for r in bank if r.kind == "babble"]
    assert {tuple(r.sources) for r in babble if r.split == "test"} <= {("t1",)}
    assert all(set(r.sources) <= {"v1", "v2"} for r in babble if r.split == "train")
    train_audio = {r.audio.tobytes() for r in bank if r.split == "train"}
    assert not train_audio & {r.audio.tobytes() for r in bank if r.split == "test"}
