"""How magnitudes are put on a scale a network can learn from, and back.

- ``logmag_standard``: the natural log of the magnitude, standardised per frequency bin
  with the training set's mean and standard deviation (seed 3's log-magnitude input).
- ``global_scale``: magnitude in dB mapped linearly so that the training set's 0.1st
  and 99.9th percentiles land on -1 and 1, then clipped to [-1, 1] (seed 4's and seed
  1's global scaling).

Both are fitted on clean training magnitudes only and saved beside the model, so that
restoration applies exactly the scale the model was trained with.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

EPSILON = 1e-6  # magnitudes below this are silence for every purpose here
KINDS = ("logmag_standard", "global_scale")


@dataclass
class Normalization:
    kind: str
    mean: list[float] = field(default_factory=list)  # per bin (logmag_standard)
    std: list[float] = field(default_factory=list)
    low_db: float = -100.0  # global_scale
    high_db: float = 0.0

    def forward(self, magnitude: np.ndarray) -> np.ndarray:
        """(n_freq, n_frames) magnitudes to network units."""
        if self.kind == "logmag_standard":
            mean, std = np.asarray(self.mean, np.float32)[:, None], np.asarray(self.std, np.float32)[:, None]
            return ((np.log(np.maximum(magnitude, EPSILON)) - mean) / std).astype(np.float32)
        decibels = 20 * np.log10(np.maximum(magnitude, EPSILON))
        scaled = 2 * (decibels - self.low_db) / (self.high_db - self.low_db) - 1
        return np.clip(scaled, -1, 1).astype(np.float32)

    def inverse(self, units: np.ndarray) -> np.ndarray:
        if self.kind == "logmag_standard":
            mean, std = np.asarray(self.mean, np.float32)[:, None], np.asarray(self.std, np.float32)[:, None]
            return np.exp(units * std + mean).astype(np.float32)
        decibels = (np.clip(units, -1, 1) + 1) / 2 * (self.high_db - self.low_db) + self.low_db
        return (10 ** (decibels / 20)).astype(np.float32)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Normalization:
        return cls(**json.loads(Path(path).read_text()))


def fit_normalization(kind: str, magnitudes: list[np.ndarray]) -> Normalization:
    """Statistics from a list of (n_freq, n_frames) clean training magnitudes."""
    if kind not in KINDS:
        raise ValueError(f"unknown normalization {kind!r}; choose one of {KINDS}")
    stacked = np.concatenate([np.asarray(m, np.float32) for m in magnitudes], axis=1)
    if kind == "logmag_standard":
        logs = np.log(np.maximum(stacked, EPSILON))
        return Normalization(kind, logs.mean(axis=1).tolist(), np.maximum(logs.std(axis=1), 1e-3).tolist())
    decibels = 20 * np.log10(np.maximum(stacked, EPSILON))
    low, high = np.percentile(decibels, [0.1, 99.9])
    return Normalization(kind, low_db=float(low), high_db=float(max(high, low + 1)))
