"""Quality against difficulty: how each method's scores fall as the corruption gets
harder (lower SNR, longer dropouts, wider band holes).

Each test utterance gets one difficulty value from its corruption record: the SNR it was
mixed at (tasks with noise), the mean length of its dropouts (gap and packet loss) or
the fraction of the bandwidth removed (band holes). Continuous values are cut into
quantile bins so that every point on a curve averages about as many utterances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .tables import _interval


@dataclass(frozen=True)
class Difficulty:
    column: str
    label: str  # axis label, with its unit
    harder: str  # which way is harder, for the caption


DIFFICULTIES = {
    "noise": Difficulty("snr_db", "SNR of the mix (dB)", "left"),
    "gap": Difficulty("dropout_ms", "mean gap length (ms)", "right"),
    "packetloss": Difficulty("dropout_ms", "mean lost burst length (ms)", "right"),
    "bandhole": Difficulty("band_fraction", "fraction of the bandwidth removed", "right"),
}


def difficulty_of(corruptions: list[str]) -> Difficulty:
    """The axis a task is judged on: noise first (it affects every bin), then dropouts."""
    for kind in ("noise", "gap", "packetloss", "bandhole"):
        if kind in corruptions:
            return DIFFICULTIES[kind]
    raise ValueError(f"no difficulty axis for corruptions {corruptions}")


def utterance_difficulty(corruption: pd.DataFrame, regions: pd.DataFrame, difficulty: Difficulty) -> pd.Series:
    """id -> difficulty value, from the corrupt stage's per-utterance and region tables."""
    if difficulty.column == "dropout_ms":
        dropouts = regions[regions["kind"].isin(["gap", "packetloss"])]
        lengths = (dropouts["end_s"] - dropouts["start_s"]) * 1000
        return lengths.groupby(dropouts["id"]).mean().rename(difficulty.column)
    if difficulty.column not in corruption.columns:
        raise ValueError(f"the corruption table has no {difficulty.column!r} column")
    return corruption.set_index("id")[difficulty.column]


def binned_quality(
    scores: pd.DataFrame, values: pd.Series, metric: str, systems: list[str], max_bins: int = 5
) -> pd.DataFrame:
    """Per system and difficulty bin: the bin's median difficulty, n, mean and 95 %
    interval of ``metric``. Few distinct values (SNR levels) are their own bins."""
    table = scores[scores["system"].isin(systems)].merge(values.rename("difficulty"), left_on="id", right_index=True)
    table = table.dropna(subset=["difficulty", metric])
    if table.empty:
        return pd.DataFrame(columns=["system", "bin", "difficulty", "n", "mean", "low", "high"])
    distinct = np.unique(table["difficulty"])
    if len(distinct) <= max_bins:
        table["bin"] = table["difficulty"]
    else:
        table["bin"] = pd.qcut(table["difficulty"], max_bins, labels=False, duplicates="drop")
    rows = []
    for (system, bin_id), group in table.groupby(["system", "bin"]):
        low, high = _interval(group[metric].to_numpy())
        rows.append(
            {
                "system": system,
                "bin": bin_id,
                "difficulty": float(group["difficulty"].median()),
                "n": len(group),
                "mean": float(group[metric].mean()),
                "low": low,
                "high": high,
            }
        )
    return pd.DataFrame(rows).sort_values(["system", "difficulty"], ignore_index=True)
