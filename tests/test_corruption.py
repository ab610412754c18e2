import itertools

import numpy as np
import pandas as pd
import pytest

from specrestore import corruption as C
from specrestore import dsp
from specrestore.noise import build_bank
from specrestore.seeding import rng_for

SR = 16000
STFT = dsp.StftParams(512, 128)


@pytest.fixture(scope="module")
def bank(speech_16k):
    talkers = {"train": {"a": speech_16k[:3]}, "test": {"b": speech_16k[3:]}}
    recordings = build_bank(
        ["train", "test"], ["white", "pink", "brown", "hum", "bursts", "babble"], 2, 4.0, SR, 1, talkers
    )
    table = pd.DataFrame([{"id": r.id, "kind": r.kind, "split": r.split} for r in recordings])
    return C.NoiseBank({r.id: r.audio for r in recordings}, table)


def _task(**spec):
    return C.Task.from_config("t", spec)


def test_same_seed_same_bytes_other_utterance_other_masks(speech_16k, bank):
    task = _task(noise={}, bandhole={}, gap={}, packetloss={})
    x = speech_16k[0]
    a = C.corrupt(x, SR, task, STFT, 1, "utt1", "train", bank)
    b = C.corrupt(x, SR, task, STFT, 1, "utt1", "train", bank)
    assert a.audio.tobytes() == b.audio.tobytes()
    assert a.sample_mask.tobytes() == b.sample_mask.tobytes() and a.tf_mask.tobytes() == b.tf_mask.tobytes()
    c = C.corrupt(x, SR, task, STFT, 1, "utt2", "train", bank)
    d = C.corrupt(x, SR, task, STFT, 2, "utt1", "train", bank)
    assert not np.array_equal(a.sample_mask, c.sample_mask) and not np.array_equal(a.sample_mask, d.sample_mask)


def test_gaps_are_zeroed_non_overlapping_and_away_from_the_ends(speech_16k):
    params = C.GapParams(per_second=2.0, length_ms=(20, 100), margin_ms=100, min_spacing_ms=50)
    lengths, lost, total = [], 0, 0
    for i in range(300):
        x = speech_16k[i % len(speech_16k)]
        result = C.corrupt(x, SR, C.Task("gap", gap=params), STFT, 4, f"u{i}", "test")
        spans = dsp.true_runs(result.sample_mask)
        assert np.all(result.audio[result.sample_mask] == 0)
        assert np.array_equal(result.audio[~result.sample_mask], x[~result.sample_mask])
        assert spans[0][0] >= 0.1 * SR and spans[-1][1] <= len(x) - 0.1 * SR
        assert all(b[0] - a[1] >= 0.05 * SR for a, b in itertools.pairwise(spans))
        lengths += [(e - s) / SR * 1000 for s, e in spans]
        lost += result.sample_mask.sum()
        total += len(x)
    assert min(lengths) >= 20 - 0.1 and max(lengths) <= 100 + 0.1
    # Expected lost fraction: 2 gaps per second of mean length 60 ms.
    assert lost / total == pytest.approx(2 * 0.060, rel=0.1)


def test_gap_count_is_exact():
    spans = C.gap_spans(5 * SR, SR, C.GapParams(count=3, length_ms=(50, 50)), np.random.default_rng(0))
    assert [e - s for s, e in spans] == [800, 800, 800]


def test_gaps_that_cannot_fit_are_dropped():
    spans = C.gap_spans(int(0.4 * SR), SR, C.GapParams(count=5, length_ms=(100, 100)), np.random.default_rng(0))
    assert len(spans) == 1


def test_packet_loss_rate_and_burst_length():
    params = C.PacketLossParams(packet_ms=20, loss_rate=0.15, mean_burst_packets=3.0)
    lost = bursts = packets = 0
    for i in range(400):
        spans = C.packet_loss_spans(5 * SR, SR, params, rng_for(1, "pl", i))
        lost += sum(e - s for s, e in spans) // 320
        bursts += len(spans)
        packets += 5 * SR // 320
        assert all(s % 320 == 0 for s, _ in spans)
    assert lost / packets == pytest.approx(0.15, abs=0.01)
    assert lost / bursts == pytest.approx(3.0, rel=0.08)


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5])
def test_band_holes_cover_the_fraction(speech_16k, fraction):
    params = C.BandHoleParams(fraction=fraction, holes=(1, 4), min_width_hz=100)
    x = speech_16k[1]
    for i in range(50):
        result = C.corrupt(x, SR, C.Task("b", bandhole=params), STFT, 9, f"u{i}", "train")
        covered = result.tf_mask.any(axis=1)
        assert covered.mean() == pytest.approx(fraction, abs=1 / STFT.n_freq)
        assert result.tf_mask.all(axis=1)[covered].all()  # full-length bands
        holes = dsp.true_runs(covered)
        assert 1 <= len(holes) <= 4 and all(e - s >= 4 for s, e in holes)  # 100 Hz = 3.2 bins
        assert {r["kind"] for r in result.regions} == {"bandhole"} and len(result.regions) == len(holes)
    spec = dsp.stft(result.audio, STFT)
    # The corrupted waveform is the inverse of the masked STFT: little energy is left in the holes.
    assert np.sum(np.abs(spec[result.tf_mask]) ** 2) < 0.05 * np.sum(np.abs(spec) ** 2)


def test_time_limited_band_holes_are_rectangles(speech_16k):
    params = C.BandHoleParams(fraction=0.2, holes=(2, 2), duration_ms=(200, 400))
    result = C.corrupt(speech_16k[0], SR, C.Task("b", bandhole=params), STFT, 1, "u", "train")
    for region in result.regions:
        assert 0.2 - 0.02 <= region["end_s"] - region["start_s"] <= 0.4 + 0.02
    assert 0 < result.tf_mask.mean() < 0.2


def test_noise_snr_is_within_a_tenth_of_a_db(speech_16k, bank):
    task = _task(noise={"snr_db": [-5, 0, 7.5, 20]})
    seen = set()
    for i in range(60):
        x = speech_16k[i % len(speech_16k)]
        result = C.corrupt(x, SR, task, STFT, 3, f"u{i}", "test", bank)
        assert dsp.snr_db(x, result.audio) == pytest.approx(result.info["snr_db"], abs=0.1)
        assert result.info["noise_id"].startswith("test-")
        seen.add(result.info["noise_kind"])
    assert seen == {"white", "pink", "brown", "hum", "bursts", "babble"}


def test_noise_kinds_can_be_restricted(speech_16k, bank):
    task = _task(noise={"kinds": ["hum"]})
    assert C.corrupt(speech_16k[0], SR, task, STFT, 3, "u", "train", bank).info["noise_kind"] == "hum"


def test_noise_plus_gaps_combine(speech_16k, bank):
    task = _task(noise={"snr_db": [10]}, gap={"count": 2})
    assert task.corruptions == ["noise", "gap"]
    x = speech_16k[2]
    result = C.corrupt(x, SR, task, STFT, 3, "u", "train", bank)
    assert np.all(result.audio[result.sample_mask] == 0)
    kept = ~result.sample_mask
    assert dsp.snr_db(x[kept], result.audio[kept]) == pytest.approx(10, abs=1.5)
    assert {r["kind"] for r in result.regions} == {"gap"}


def test_unknown_corruption_is_rejected():
    with pytest.raises(ValueError, match="unknown corruption"):
        C.Task.from_config("t", {"reverb": {}})


def test_a_shard_is_corrupted_the_same_whatever_else_it_holds(speech_16k, bank):
    class Archive:
        def get(self, prefix, utt_id):
            return speech_16k[int(utt_id[1])]

    task = _task(noise={}, gap={})
    table = pd.DataFrame({"id": ["u0", "u1", "u2"], "split": ["train"] * 3})
    whole, _, _ = C.corrupt_shard(Archive(), table, task, STFT, SR, 5, bank)
    part, utterances, regions = C.corrupt_shard(Archive(), table.iloc[[2]], task, STFT, SR, 5, bank)
    assert whole["audio/u2"].tobytes() == part["audio/u2"].tobytes()
    assert list(utterances["id"]) == ["u2"] and set(regions["id"]) == {"u2"}


def test_paired_noise_is_the_recording_itself(speech_16k):
    clean = speech_16k[0]
    noise = np.random.default_rng(3).standard_normal(len(clean)).astype(np.float32)
    noisy = clean + noise * np.sqrt(np.sum(clean**2) / np.sum(noise**2) / 10 ** (7.5 / 10))
    task = C.Task.from_config("noise", {"noise": {}, "gap": {"per_second": 2.0}})
    result = C.corrupt(clean, SR, task, STFT, 1, "u1", "test", noise_bank=None, noisy=noisy)
    kept = ~result.sample_mask
    assert result.sample_mask.any()  # the other corruptions still apply, on top of the recording
    np.testing.assert_array_equal(result.audio[kept], noisy.astype(np.float32)[kept])
    assert result.info["noise_kind"] == "recorded" and abs(result.info["snr_db"] - 7.5) < 1e-3
    with pytest.raises(ValueError, match="u1: noisy recording has"):
        C.corrupt(clean, SR, task, STFT, 1, "u1", "test", noisy=noisy[:-1])
