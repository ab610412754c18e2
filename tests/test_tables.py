"""Each learned model against the strongest other systems (tables.versus)."""

import math

import numpy as np
import pandas as pd
import pytest

from specrestore.tables import standing_markdown, summarise, versus, versus_markdown

IDS = [f"u{i}" for i in range(6)]
OFFSETS = np.array([0.1, -0.1, 0.05, -0.05, 0.2, -0.2])  # paired noise: mean 0, sd 0.14
LABELS = {
    "corrupted": "corrupted input",
    "lpc": "LPC",
    "interp.corrupted": "interpolation",
    "unet": "U-Net",
    "cunet": "complex U-Net",
}

MEANS = {
    "corrupted": {"pesq": 1.5, "lsd": 12.0},
    "lpc": {"pesq": 2.9, "lsd": 5.0},
    "interp.corrupted": {"pesq": 3.1, "lsd": 9.0},
    "unet": {"pesq": 3.0, "lsd": 6.0},
}


def scores_of(means: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Per-utterance scores: each system's mean plus the same offsets, so that paired
    differences are exactly the differences of the means."""
    rows = []
    for system, metric_means in means.items():
        for i, utterance in enumerate(IDS):
            rows.append({"system": system, "id": utterance} | {m: v + OFFSETS[i] for m, v in metric_means.items()})
    return pd.DataFrame(rows)


@pytest.fixture()
def comparison():
    means = MEANS
    scores = scores_of(means)
    # one utterance where the model beats LPC on LSD by much more than elsewhere
    scores.loc[(scores["system"] == "unet") & (scores["id"] == "u0"), "lsd"] -= 0.6
    summary = summarise(scores, ["pesq", "lsd"], list(means))
    rivals = {"corrupted input": ["corrupted"], "classical method": ["lpc", "interp.corrupted"], "peer denoiser": []}
    return versus(scores, summary, ["pesq", "lsd"], ["unet"], rivals).set_index(["metric", "kind"])


def test_the_rival_is_the_strongest_of_its_kind_on_each_measure(comparison):
    assert comparison.loc[("pesq", "classical method"), "rival"] == "interp.corrupted"  # higher is better
    assert comparison.loc[("lsd", "classical method"), "rival"] == "lpc"  # lower is better
    assert comparison.loc[("pesq", "corrupted input"), "rival"] == "corrupted"
    assert "peer denoiser" not in comparison.index.get_level_values("kind")  # a kind without systems


def test_the_change_is_paired_and_the_verdict_follows_its_interval(comparison):
    pesq = comparison.loc[("pesq", "classical method")]
    assert pesq["change"] == pytest.approx(-0.1) and pesq["ci_low"] == pytest.approx(-0.1) == pesq["ci_high"]
    assert pesq["verdict"] == "worse"
    assert comparison.loc[("pesq", "corrupted input"), "verdict"] == "better"
    lsd = comparison.loc[("lsd", "classical method")]
    differences = np.array([1.0 - 0.6, 1, 1, 1, 1, 1])
    half = 2.570582 * differences.std(ddof=1) / math.sqrt(6)  # t(0.975, 5)
    assert lsd["change"] == pytest.approx(differences.mean())
    assert lsd["ci_low"] == pytest.approx(differences.mean() - half, rel=1e-5)
    assert lsd["verdict"] == "worse"  # LSD higher than LPC's: worse although the change is positive
    assert comparison.loc[("lsd", "corrupted input"), "verdict"] == "better"  # LSD down from 12 to 6


def test_an_interval_that_holds_zero_is_level():
    means = {"corrupted": {"pesq": 2.0}, "unet": {"pesq": 2.0}}
    scores = scores_of(means)
    scores.loc[scores["system"] == "unet", "pesq"] += np.array([0.1, -0.1, 0.1, -0.1, 0.1, -0.05])
    summary = summarise(scores, ["pesq"], list(means))
    row = versus(scores, summary, ["pesq"], ["unet"], {"corrupted input": ["corrupted"]}).iloc[0]
    assert row["ci_low"] < 0 < row["ci_high"] and row["verdict"] == "level"


def test_the_markdown_has_a_table_per_measure_and_a_cell_per_rival(comparison):
    text = versus_markdown(comparison.reset_index(), LABELS)
    assert "### PESQ ↑" in text and "### LSD (dB) ↓" in text
    assert "vs interpolation (3.10), the best classical method" in text
    assert "vs LPC (5.00), the best classical method" in text and "vs corrupted input (12.00) |" in text
    rows = [line for line in text.splitlines() if line.startswith("| U-Net")]
    assert rows[0] == "| U-Net | 3.00 | +1.50 [+1.50, +1.50] **better** | -0.10 [-0.10, -0.10] **worse** |"
    assert len(rows) == 2
    assert versus_markdown(comparison.iloc[0:0].reset_index(), LABELS) == ""


def test_the_summary_holds_the_best_learned_model_against_the_best_other_system():
    means = MEANS | {"cunet": {"pesq": 3.2, "lsd": 7.0}}
    scores = scores_of(means)
    summary = summarise(scores, ["pesq", "lsd"], list(means))
    rivals = {"corrupted input": ["corrupted"], "classical method": ["lpc", "interp.corrupted"]}
    comparison = versus(scores, summary, ["pesq", "lsd"], ["unet", "cunet"], rivals)
    rows = [line for line in standing_markdown({"gap": comparison}, LABELS).splitlines() if line.startswith("| gap")]
    assert rows == [
        "| gap | PESQ ↑ | complex U-Net (3.20) | interpolation (3.10) | +0.10 [+0.10, +0.10] better |",
        "| gap | LSD (dB) ↓ | U-Net (6.00) | LPC (5.00) | +1.00 [+1.00, +1.00] worse |",
    ]
    assert standing_markdown({"gap": comparison.iloc[0:0]}, LABELS) == ""


def test_systems_are_sorted_into_learned_ones_and_rivals_by_kind():
    from specrestore.restoration import learned_and_rivals

    systems = ["corrupted", "interp.corrupted", "lpc", "rnnoise", "unet.corrupted", "cunet", "deepfilternet3"]
    learned, rivals = learned_and_rivals(systems)
    assert learned == ["unet.corrupted", "cunet"]
    assert rivals == {
        "corrupted input": ["corrupted"],
        "classical method": ["interp.corrupted", "lpc"],
        "peer denoiser": ["rnnoise", "deepfilternet3"],
    }
