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


def test_babble_talkers_stay_in_their_archives_and_make_the_same_bank(speech_16k, tmp_path):
    import pandas as pd

    from specrestore.store import StoredArray, write_arrays

    speakers = ["v1", "v1", "v2", "t1", "t1", "x1"]
    splits = ["valid", "valid", "valid", "train", "train", "test"]
    rows = [
        {"id": f"u{i}", "speaker": speaker, "split": split, "shard": i % 2}
        for i, (speaker, split) in enumerate(zip(speakers, splits))
    ]
    audio_files = {}
    for shard in (0, 1):
        path = tmp_path / f"{shard}.npz"
        write_arrays(path, {f"audio/{r['id']}": speech_16k[i] for i, r in enumerate(rows) if r["shard"] == shard})
        audio_files[shard] = str(path)
    talkers = noise.collect_babble_talkers(pd.DataFrame(rows), audio_files, seed=7)
    assert {split: sorted(by) for split, by in talkers.items()} == {
        "train": ["v1", "v2"],
        "valid": ["x1"],
        "test": ["t1"],
    }
    assert all(isinstance(u, StoredArray) for split in talkers.values() for us in split.values() for u in us)
    loaded = {s: {k: [np.asarray(u) for u in us] for k, us in by.items()} for s, by in talkers.items()}
    assert [a.tobytes() for a in loaded["test"]["t1"]] == [speech_16k[3].tobytes(), speech_16k[4].tobytes()]
    args = (["train", "valid", "test"], ["babble"], 3, 2.0, SR, 7)
    lazy = noise.build_bank(*args, talkers, (1, 2))
    eager = noise.build_bank(*args, loaded, (1, 2))
    assert [r.audio.tobytes() for r in lazy] == [r.audio.tobytes() for r in eager]
    assert [r.sources for r in lazy] == [r.sources for r in eager]
