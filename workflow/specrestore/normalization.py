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
from collections.abc import Iterable
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


def fit_normalization(kind: str, magnitudes: Iterable[np.ndarray]) -> Normalization:
    """Statistics of (n_freq, n_frames) clean training magnitudes, taken one utterance
    at a time so that fitting holds one utterance in memory, not the training set:
    per-bin sums in float64 for ``logmag_standard``; a histogram of 0.01 dB bins for
    ``global_scale``'s percentiles (linear within a bin, as ``np.percentile`` is
    between values)."""
    if kind not in KINDS:
        raise ValueError(f"unknown normalization {kind!r}; choose one of {KINDS}")
    if kind == "logmag_standard":
        total = squares = None
        count = 0
        for magnitude in magnitudes:
            logs = np.log(np.maximum(np.asarray(magnitude, np.float32), EPSILON)).astype(np.float64)
            total = logs.sum(axis=1) if total is None else total + logs.sum(axis=1)
            squares = np.square(logs).sum(axis=1) if squares is None else squares + np.square(logs).sum(axis=1)
            count += logs.shape[1]
        if not count:
            raise ValueError("no training magnitudes to fit the normalization on")
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - np.square(mean), 0))
        return Normalization(kind, mean.tolist(), np.maximum(std, 1e-3).tolist())
    counts = np.zeros(len(DB_EDGES) - 1, dtype=np.int64)
    for magnitude in magnitudes:
        decibels = 20 * np.log10(np.maximum(np.asarray(magnitude, np.float32), EPSILON))
        counts += np.histogram(np.clip(decibels, DB_EDGES[0], DB_EDGES[-1]), DB_EDGES)[0]
    if not counts.sum():
        raise ValueError("no training magnitudes to fit the normalization on")
    low, high = (_histogram_percentile(counts, q) for q in (0.1, 99.9))
    return Normalization(kind, low_db=low, high_db=float(max(high, low + 1)))


# Every magnitude from EPSILON (-120 dB) to far above any STFT of audio in [-1, 1].
DB_EDGES = np.linspace(-120.0, 120.0, 24001)


def _histogram_percentile(counts: np.ndarray, q: float) -> float:
    position = q / 100 * (counts.sum() - 1)
    cumulative = np.cumsum(counts)
    index = int(np.searchsorted(cumulative, position, side="right"))
    before = cumulative[index - 1] if index else 0
    width = DB_EDGES[1] - DB_EDGES[0]
    return float(DB_EDGES[index] + width * (position - before + 0.5) / counts[index])
