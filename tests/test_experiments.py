import math

import numpy as np
import pandas as pd
import pytest

from specrestore import dsp, experiments, metrics

SR = 16000
PARAMS = dsp.StftParams(512, 128)
OPTIONS = {"lpc": {"order": 64, "context_ms": 1000}}
GAPS = [20, 40]
CONTEXTS = [20, 80]
SYSTEMS = ["corrupted", "interp.corrupted", "lpc"]
LABELS = {"corrupted": "corrupted input", "interp.corrupted": "interpolation", "lpc": "LPC"}
SEED = 3


def _ms(ms):
    return int(round(ms * SR / 1000))


def _restorers(systems=SYSTEMS):
    return {system: experiments.classical_restorer(system, SR, PARAMS, OPTIONS) for system in systems}


@pytest.fixture(scope="module")
def sweep(speech_16k):
    """The sweep of two real utterances, as a table."""
    rows = []
    for index, clean in enumerate(speech_16k[:2]):
        rows += experiments.sweep_utterance(f"utt{index}", clean, SR, GAPS, CONTEXTS, _restorers(), SEED)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def summary(sweep):
    return experiments.summarise_sweep(sweep)


def test_gap_placement_is_seeded_by_utterance():
    spans = {utt: experiments.place_gap(SR * 3, SR, 40, 200, SEED, utt) for utt in ("a", "b", "c", "d")}
    assert spans["a"] == experiments.place_gap(SR * 3, SR, 40, 200, SEED, "a")
    assert len(set(spans.values())) == len(spans)
    assert experiments.place_gap(SR * 3, SR, 40, 200, SEED + 1, "a") != spans["a"]


@pytest.mark.parametrize("utt", [f"u{i}" for i in range(20)])
def test_gap_has_exact_length_and_full_context(utt):
    n, context = SR * 1, _ms(300)
    for gap_ms in (10, 25, 160):
        start, end = experiments.place_gap(n, SR, gap_ms, 300, SEED, utt, max_gap_ms=160)
        assert end - start == _ms(gap_ms)
        assert start >= context and end <= n - context


def test_shorter_gaps_share_the_longest_gaps_centre():
    spans = [experiments.place_gap(SR * 2, SR, g, 100, SEED, "x", max_gap_ms=200) for g in (20, 100, 200)]
    centres = [(start + end) / 2 for start, end in spans]
    assert max(centres) - min(centres) <= 1


def test_no_gap_in_an_utterance_too_short_for_the_context():
    fits = 2 * _ms(200) + _ms(50)
    assert experiments.place_gap(fits, SR, 50, 200, SEED, "x") is not None
    assert experiments.place_gap(fits - 1, SR, 50, 200, SEED, "x") is None
    assert experiments.sweep_utterance("x", np.ones(fits - 1, np.float32), SR, [50], [200], {}, SEED) == []


def test_context_window_is_clipped_to_the_signal():
    assert experiments.context_window(1000, 400, 500, 100) == (300, 600)
    assert experiments.context_window(1000, 50, 150, 100) == (0, 250)
    assert experiments.context_window(1000, 850, 950, 100) == (750, 1000)


def test_sweep_has_a_row_per_cell_and_system(sweep):
    assert len(sweep) == 2 * len(GAPS) * len(CONTEXTS) * len(SYSTEMS)
    assert list(sweep.columns) == ["id", "gap_ms", "context_ms", "system", "in_gap_snr_db", "pesq", "missing"]
    assert sweep["system"].iloc[0] == "corrupted"
    assert sweep["missing"].isna().all(), sweep["missing"].dropna().tolist()


def test_lpc_beats_the_zeroed_gap(sweep):
    by_system = sweep.set_index(["id", "gap_ms", "context_ms", "system"])
    corrupted = by_system.xs("corrupted", level="system")
    lpc = by_system.xs("lpc", level="system")
    # The gap is zeros, so the error equals the reference: exactly 0 dB.
    assert np.allclose(corrupted["in_gap_snr_db"], 0.0)
    # LPC can miss an odd gap (a plosive onset), so the claim is about the average.
    assert lpc["in_gap_snr_db"].mean() > corrupted["in_gap_snr_db"].mean() + 1.0, lpc["in_gap_snr_db"]
    assert lpc["pesq"].mean() > corrupted["pesq"].mean()


def test_a_gap_in_silence_is_missing_not_an_error(speech_16k):
    clean = speech_16k[0].copy()
    start, end = experiments.place_gap(len(clean), SR, 40, 20, SEED, "quiet")
    clean[start:end] = 0
    (row,) = experiments.sweep_utterance("quiet", clean, SR, [40], [20], {}, SEED)
    assert math.isnan(row["in_gap_snr_db"]) and "in_gap_snr_db: silent reference" in row["missing"]
    assert math.isfinite(row["pesq"])


def test_restorer_sees_only_its_window(speech_16k):
    clean = speech_16k[0]
    seen = []

    def spy(utterance):
        seen.append((len(utterance.corrupted), utterance.sample_mask.copy(), utterance.corrupted.copy()))
        return utterance.corrupted

    experiments.sweep_utterance("spy", clean, SR, GAPS, CONTEXTS, {"spy": spy}, SEED)
    cells = [(g, c) for g in GAPS for c in CONTEXTS]
    assert [length for length, _, _ in seen] == [2 * _ms(c) + _ms(g) for g, c in cells]
    for (gap_ms, context_ms), (_, mask, window) in zip(cells, seen):
        assert dsp.true_runs(mask) == [(_ms(context_ms), _ms(context_ms) + _ms(gap_ms))]
        assert not np.any(window[mask]) and np.any(window[~mask])


def test_restored_window_is_pasted_back_in_place(speech_16k):
    # Handing back the clean window must restore the utterance exactly, gap included.
    oracle = {"oracle": lambda utterance: utterance.clean}
    rows = experiments.sweep_utterance("o", speech_16k[0], SR, [40], [20], oracle, SEED)
    scored = {row["system"]: row for row in rows}
    assert scored["oracle"]["in_gap_snr_db"] == metrics.MAX_RATIO_DB
    assert scored["oracle"]["pesq"] == pytest.approx(4.64, abs=0.01)
    assert scored["corrupted"]["pesq"] < 4.5


def test_wrong_length_from_a_restorer_is_an_error(speech_16k):
    with pytest.raises(ValueError, match="returned"):
        experiments.sweep_utterance("w", speech_16k[0], SR, [20], [20], {"bad": lambda u: u.corrupted[1:]}, SEED)


def test_summary_has_a_row_per_system_and_cell(summary):
    assert len(summary) == len(SYSTEMS) * len(GAPS) * len(CONTEXTS)
    assert list(dict.fromkeys(summary["system"])) == SYSTEMS
    assert (summary["n"] == 2).all() and (summary["pesq_n"] == 2).all()
    for metric in experiments.SWEEP_METRICS:
        assert (summary[f"{metric}_ci_low"] <= summary[f"{metric}_mean"] + 1e-9).all()
        assert (summary[f"{metric}_mean"] <= summary[f"{metric}_ci_high"] + 1e-9).all()
    lpc = summary[summary["system"] == "lpc"]
    assert np.isfinite(lpc[["in_gap_snr_db_ci_low", "pesq_ci_high"]].to_numpy()).all()


def test_summary_interval_is_the_t_interval():
    rows = pd.DataFrame(
        {"system": "s", "gap_ms": 20, "context_ms": 10, "in_gap_snr_db": [1.0, 2.0, 3.0], "pesq": [2.0, math.nan, 3.0]}
    )
    row = experiments.summarise_sweep(rows).iloc[0]
    half = 4.302653 * 1.0 / math.sqrt(3)  # t(0.975, 2) x sd / sqrt(n)
    assert row["in_gap_snr_db_mean"] == pytest.approx(2.0)
    assert row["in_gap_snr_db_ci_high"] == pytest.approx(2.0 + half, rel=1e-5)
    assert row["pesq_n"] == 2 and row["n"] == 3


def test_markdown_has_a_row_per_system_and_gap(summary):
    text = experiments.sweep_markdown(summary, "in_gap_snr_db", LABELS)
    assert "In-gap SNR (dB)" in text.splitlines()[0]
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(SYSTEMS) * len(GAPS)
    assert all(line.count("|") == 3 + len(CONTEXTS) for line in table)
    assert "| LPC | 40 | " in text and "context 80 ms" in table[0]


def test_heatmaps_are_drawn(summary, tmp_path):
    import matplotlib.image

    path = tmp_path / "heatmaps.png"
    experiments.gap_context_heatmaps(summary, SYSTEMS, LABELS, str(path), "Gap length versus context")
    image = matplotlib.image.imread(path)
    width, height = experiments.heatmap_figsize(len(SYSTEMS))
    assert image.shape[:2] == (round(height * experiments.DPI), round(width * experiments.DPI))
    assert image[..., :3].std() > 0.1
