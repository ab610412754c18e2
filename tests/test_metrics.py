import math

import numpy as np
import pytest

from specrestore import dsp, metrics

SR = 16000
PARAMS = dsp.StftParams(512, 128)


@pytest.fixture(scope="module")
def voice(speech_16k):
    return np.concatenate(speech_16k[:2])


def _noisy(x, snr_db, seed=0):
    noise = np.random.default_rng(seed).standard_normal(len(x))
    noise *= np.sqrt(np.sum(x**2) / np.sum(noise**2) / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


def test_identical_signals_score_perfectly(voice):
    row = metrics.evaluate(voice, voice, SR, PARAMS, list(metrics.INTRUSIVE))
    assert row["pesq"] == pytest.approx(4.64, abs=0.01)
    assert row["stoi"] == pytest.approx(1.0, abs=1e-6) and row["estoi"] == pytest.approx(1.0, abs=1e-6)
    assert row["lsd"] == 0 and row["lsd_seed2"] == 0
    assert row["snr"] == row["si_sdr"] == metrics.MAX_RATIO_DB
    assert all(row[f"{m}_missing"] is None for m in metrics.INTRUSIVE)


def test_more_noise_scores_lower(voice):
    scores = [
        metrics.evaluate(voice, _noisy(voice, snr), SR, PARAMS, ["pesq", "stoi", "estoi", "lsd"]) for snr in (20, 5, -5)
    ]
    for metric in ("pesq", "stoi", "estoi"):
        assert scores[0][metric] > scores[1][metric] > scores[2][metric], metric
    assert scores[0]["lsd"] < scores[1]["lsd"] < scores[2]["lsd"]


def test_narrow_band_pesq_at_8k_and_resampling_elsewhere(voice):
    at_8k = dsp.resample(voice, SR, 8000)
    assert metrics.pesq_score(at_8k, at_8k, 8000) == pytest.approx(4.55, abs=0.01)  # P.862 NB ceiling
    at_22k = dsp.resample(voice, SR, 22050)
    assert metrics.pesq_score(at_22k, at_22k, 22050) == pytest.approx(4.64, abs=0.01)


def test_estoi_is_the_same_to_the_last_bit_whatever_numpy_global_state(voice):
    noisy = _noisy(voice, 0)
    scores = set()
    for seed in range(8):
        np.random.seed(seed)
        scores.add(metrics.stoi_score(voice, noisy, SR, extended=True))
        assert np.random.get_state()[1][0] == np.random.RandomState(seed).get_state()[1][0]  # left as it was
    assert len(scores) == 1


def test_si_sdr_ignores_gain_and_snr_does_not(voice):
    degraded = _noisy(voice, 10)
    base = metrics.si_sdr(voice, degraded)
    assert metrics.si_sdr(voice, 0.3 * degraded) == pytest.approx(base, abs=1e-6)
    assert metrics.si_sdr(voice, 3.0 * degraded) == pytest.approx(base, abs=1e-6)
    assert base == pytest.approx(10, abs=0.2)
    assert metrics.evaluate(voice, 0.3 * degraded, SR, PARAMS, ["snr"])["snr"] < 5


def test_region_snr_uses_exactly_the_masked_samples(voice):
    mask = np.zeros(len(voice), dtype=bool)
    mask[8000:8800] = True
    degraded = voice.copy()
    degraded[mask] = _noisy(voice, 6, seed=2)[mask]  # error only inside
    degraded[~mask] += 0.5  # large error outside must not count
    expected = 10 * np.log10(
        np.sum(voice[mask].astype(float) ** 2) / np.sum((degraded[mask] - voice[mask]).astype(float) ** 2)
    )
    assert metrics.region_snr(voice, degraded, mask, None, PARAMS) == pytest.approx(expected, abs=1e-6)
    zeroed = np.where(mask, 0, voice)
    assert metrics.region_snr(voice, zeroed, mask, None, PARAMS) == pytest.approx(0.0, abs=1e-9)


def test_lsd_floor_keeps_a_hard_zero_finite(voice):
    spec = dsp.stft(voice, PARAMS)
    holed = spec.copy()
    holed[40:80] = 0
    value = metrics.lsd(spec, holed)
    assert math.isfinite(value) and 0 < value <= metrics.LSD_FLOOR_DB
    region = np.zeros(spec.shape, dtype=bool)
    region[40:80] = True
    assert metrics.lsd(spec, holed, region) > value  # the hole alone is worse than the average over all bins
    assert metrics.lsd(spec, spec, region) == 0


def test_seed2_lsd_is_missing_on_exact_zeros_as_published(voice):
    zeroed = voice.copy()
    zeroed[4000:8000] = 0
    with pytest.raises(metrics.Missing, match="zero spectrum"):
        metrics.lsd_seed2(voice, zeroed, SR)
    assert metrics.lsd_seed2(voice, _noisy(voice, 10), SR) > 0


def test_failures_are_recorded_not_raised():
    silent = np.zeros(16000, np.float32)
    row = metrics.evaluate(silent, silent, SR, PARAMS, ["pesq", "stoi", "snr", "lsd"])
    for metric in ("pesq", "stoi", "snr", "lsd"):
        assert math.isnan(row[metric]) and row[f"{metric}_missing"] == "silent reference"
    short = np.random.default_rng(0).standard_normal(1600).astype(np.float32) * 0.1
    row = metrics.evaluate(short, short, SR, PARAMS, ["stoi", "pesq"])
    assert "too short" in row["stoi_missing"] and row["pesq_missing"]


def test_non_intrusive_scores_are_reproducible_and_sensible(voice):
    scorer = metrics.NonIntrusive(threads=1)
    gapped = voice.copy()
    for start in range(4000, len(voice) - 4000, 8000):
        gapped[start : start + 1600] = 0
    clean_plc = scorer.plcmos(voice, SR, "u")
    assert clean_plc == scorer.plcmos(voice, SR, "u")  # seeded rater embeddings
    assert clean_plc > scorer.plcmos(gapped, SR, "u")
    clean, noisy = scorer.dnsmos(voice, SR), scorer.dnsmos(_noisy(voice, 0), SR)
    assert clean["dnsmos_bak"] > noisy["dnsmos_bak"] and clean["dnsmos_ovrl"] > noisy["dnsmos_ovrl"]
    row = metrics.evaluate(voice, 4 * voice, SR, PARAMS, ["dnsmos_sig"], non_intrusive=scorer)
    assert row["dnsmos_sig_missing"] == "samples beyond full scale"


def test_metrics_for_each_task():
    assert "plcmos" in metrics.metrics_for(["gap"]) and "dnsmos_ovrl" not in metrics.metrics_for(["gap"])
    assert "dnsmos_ovrl" in metrics.metrics_for(["noise"]) and "plcmos" not in metrics.metrics_for(["noise"])
    assert set(metrics.metrics_for(["bandhole"])) == set(metrics.INTRUSIVE)
