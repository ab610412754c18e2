"""Finding dropouts in recordings that come with no mask.

A dropout is a run of samples that carries no signal where the recording around it
does: a lost packet or a buffer underrun written as zeros, a converter that stuck at one
value, a drop to near-digital silence. Three kinds of run are looked for, each between
``min_gap_ms`` and ``max_gap_ms`` long and not touching either end of the recording
(leading and trailing silence, and the zero padding some corpora add, are not
dropouts):

- ``digital silence``: every sample exactly zero;
- ``stuck``: every sample the same non-zero value (a stuck converter or a held buffer);
- ``near silence``: every sample within ``near_silence_lsb`` steps of 16-bit zero (a
  dropout written with dither or comfort noise), whatever the file's format.

Speech itself never holds one value for milliseconds, but very quiet pauses can sit at
a least significant bit or two, and some editors write true digital silence into
pauses. So every run must also drop *suddenly* from its surroundings: the signal in the
``edge_ms`` on each side (less the held value, for a stuck run) must lie ``sudden_db``
above the run and above one 16-bit step RMS (-90.3 dBFS), and at the pace it changes
there it must cross ``moving_steps`` quantisation steps over the run's length. A quiet
pause at a bit or two, or a pause whose neighbourhood is itself digital silence, is left
alone; silences longer than ``max_gap_ms`` are pauses whatever their edges. A recording
that writes its pauses as digital silence (a noise gate, an editor: zero runs longer
than ``max_gap_ms`` inside it) writes its short pauses the same way; within
``pause_window_s`` of such a pause a dropout must also have edges within
``pause_edge_db`` of the speech's loud frames (:meth:`Detection.plausible`).

On ../shared/data/realmini (362 real recordings) no clean file has such a run; the
nearest things are CMU Arctic's 5 ms of zero padding at the end of each file and a
338 ms digitally silent pause in one LibriSpeech file with edges at -100 dBFS.

The step is the file's own (:func:`quantisation_step`). An 8-bit step is -42 dBFS, above
the noise floor of most recordings, so every quiet passage of an 8-bit file is a run of
one value or two whose own level the step hides: there the edges must lie
``coarse_edge_steps`` steps RMS (-36 dBFS) above the held value instead of one 16-bit
step. Quieter than that, the file still says something when it was written by
truncation (libsndfile): a passage near zero flickers between 0 and one step below, and
holds 0 only while its signal stays between 0 and one step above. A run of zeros
``coarse_run_ms`` (60 ms) or longer that outlasts every run of one value within
``coarse_window_ms`` on either side ``coarse_run_ratio`` (3) times is taken as a
dropout there. Shorter ones cannot be told from the passage: in the clean realmini
recordings at 8 bits the signal stays within that one step for up to 51 ms (823
samples) beside flicker whose runs are 4 to 16 times shorter, which is exactly what a
zeroed gap of that length looks like.

Detection only looks at a bounded neighbourhood of each run, so a recording of any
length can be scanned block by block (:func:`detect_streaming`) with the same result as
in one piece.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .dsp import power_db, true_runs

LSB_16 = 1.0 / 32768
KINDS = ("digital silence", "stuck", "near silence")
# One 16-bit step RMS: below this a neighbourhood is itself digital silence.
SILENCE_DB = 20 * math.log10(LSB_16)
# The step of each integer subtype libsndfile reads. Float and lossy formats have none of
# their own and are judged as 16-bit. A-law and mu-law steps grow with the level; here
# their finest, 16 and 8 16-bit steps near zero, and a stuck run is judged by the step at
# its value (judged as 16-bit, 76 and 17 of the clean realmini recordings converted to
# them had a false detection).
PCM_STEPS = {
    "PCM_S8": 2.0**-7,
    "PCM_U8": 2.0**-7,
    "PCM_16": 2.0**-15,
    "PCM_24": 2.0**-23,
    "PCM_32": 2.0**-31,
    "ALAW": 16 * 2.0**-15,
    "ULAW": 8 * 2.0**-15,
}


COMPANDED = ("ALAW", "ULAW")


def quantisation_step(subtype: str | None, level: float = 0.0) -> float:
    """The step between two sample values of a libsndfile subtype, full scale 1: the
    format's only one, or, for A-law and mu-law (G.711), the one at ``level``."""
    if subtype not in COMPANDED or level == 0:
        return PCM_STEPS.get(subtype or "", LSB_16)
    magnitude = min(abs(float(level)), 1.0) * 32767
    if subtype == "ALAW":  # segments of 16 steps, doubling from 512 (16-bit scale) on
        return max(16.0, 2.0 ** (math.floor(math.log2(max(magnitude, 1.0))) - 4)) * LSB_16
    # mu-law: |x| + 33 (14-bit scale) in [2^(s+5), 2^(s+6)) has steps of 2^(s+1)
    segment = min(max(math.floor(math.log2(magnitude / 4 + 33)) - 5, 0), 7)
    return 2.0 ** (segment + 3) * LSB_16


@dataclass(frozen=True)
class DetectionParams:
    min_gap_ms: float = 5.0
    max_gap_ms: float = 250.0
    near_silence_lsb: float = 2.0
    edge_ms: float = 5.0
    sudden_db: float = 30.0
    pause_edge_db: float = 25.0
    pause_window_s: float = 10.0
    moving_steps: float = 32.0
    coarse_edge_steps: float = 2.0
    coarse_run_ms: float = 60.0
    coarse_run_ratio: float = 3.0
    coarse_window_ms: float = 100.0

    def __post_init__(self):
        if not 0 < self.min_gap_ms <= self.max_gap_ms:
            raise ValueError(f"need 0 < min_gap_ms <= max_gap_ms, got {self.min_gap_ms} and {self.max_gap_ms}")
        if self.edge_ms <= 0 or self.near_silence_lsb < 0:
            raise ValueError("edge_ms must be positive and near_silence_lsb not negative")
        if min(self.moving_steps, self.coarse_edge_steps, self.coarse_run_ms, self.coarse_window_ms) < 0:
            raise ValueError("moving_steps, coarse_edge_steps, coarse_run_ms and coarse_window_ms must not be negative")
        if self.coarse_run_ratio < 1:
            raise ValueError(f"coarse_run_ratio must be at least 1, got {self.coarse_run_ratio}")

    @classmethod
    def from_config(cls, section: dict | None) -> DetectionParams:
        return cls(**(section or {}))

    def samples(self, sample_rate: int) -> tuple[int, int, int]:
        """Shortest gap, longest gap and edge window in samples."""
        return (
            max(2, math.ceil(self.min_gap_ms * sample_rate / 1000)),
            math.floor(self.max_gap_ms * sample_rate / 1000),
            max(1, round(self.edge_ms * sample_rate / 1000)),
        )

    def margin(self, sample_rate: int) -> int:
        """Samples of context a block needs on each side for streaming detection."""
        _, longest, edge = self.samples(sample_rate)
        return longest + max(edge, self.coarse_window(sample_rate)) + 2

    def coarse_window(self, sample_rate: int) -> int:
        """Samples on each side of a zero run whose runs it must outlast (coarse formats)."""
        return round(self.coarse_window_ms * sample_rate / 1000)

    def edge_floor_db(self, step: float) -> float:
        """The level a dropout's edges must reach in a format whose step is ``step``:
        one 16-bit step RMS, or ``coarse_edge_steps`` steps RMS of a coarser format,
        whose quiet passages are themselves runs of one value."""
        if step <= LSB_16:
            return SILENCE_DB
        return max(SILENCE_DB, 20 * math.log10(self.coarse_edge_steps * step))


@dataclass(frozen=True)
class Gap:
    """A dropout: samples ``[start, end)`` of one channel (0-based; None: every channel)."""

    start: int
    end: int
    kind: str
    channel: int | None = None
    edge_db: float = 0.0  # level of the quieter side, dBFS

    @property
    def length(self) -> int:
        return self.end - self.start

    def as_row(self, sample_rate: int) -> dict:
        return {
            "channel": "all" if self.channel is None else self.channel + 1,
            "start_s": round(self.start / sample_rate, 6),
            "end_s": round(self.end / sample_rate, 6),
            "length_ms": round(1000 * self.length / sample_rate, 3),
            "start_sample": self.start,
            "end_sample": self.end,
            "kind": self.kind,
            "edge_db": self.edge_db,
        }


def _candidate_runs(x: np.ndarray, params: DetectionParams, shortest: int) -> list[tuple[int, int, str]]:
    """Runs of one repeated value, and runs of near-digital silence, of at least
    ``shortest`` samples, as (start, end, kind)."""
    runs = []
    if len(x) < shortest:
        return runs
    same = np.zeros(len(x), dtype=bool)
    same[1:] = x[1:] == x[:-1]
    for start, end in true_runs(same):
        start -= 1  # the first sample of the run has no equal predecessor
        if end - start >= shortest:
            runs.append((start, end, "digital silence" if x[start] == 0 else "stuck"))
    if params.near_silence_lsb > 0:
        quiet = np.abs(x) <= params.near_silence_lsb * LSB_16
        for start, end in true_runs(quiet):
            if end - start >= shortest:
                runs.append((start, end, "near silence"))
    return runs


def _merge(runs: list[tuple]) -> list[tuple]:
    """Overlapping runs as one, named after the most specific kind among them, with the
    quieter of their edge levels."""
    merged: list[tuple] = []
    for start, end, kind, edge_db in sorted(runs):
        if merged and start <= merged[-1][1]:
            last_start, last_end, last_kind, last_edge = merged[-1]
            best = min(last_kind, kind, key=KINDS.index)
            merged[-1] = (last_start, max(last_end, end), best, min(last_edge, edge_db))
        else:
            merged.append((start, end, kind, edge_db))
    return merged


@dataclass
class Detection:
    """The dropouts found, and the pauses written as digital silence: [start, end)
    runs of zeros longer than ``max_gap_ms`` inside the recording (a noise gate, an
    editor)."""

    gaps: list[Gap]
    silent_pauses: list[tuple[int, int]] = field(default_factory=list)

    def plausible(self, loud_db: float, params: DetectionParams, sample_rate: int) -> list[Gap]:
        """The gaps left once the recording's own habits are known: near a pause written
        as digital silence (within ``pause_window_s``), short silences are written the
        same way, so a silence there whose edges lie more than ``pause_edge_db`` under
        ``loud_db`` (the level of the speech's loud frames) is a short pause, not a
        dropout. Elsewhere in the recording nothing changes."""
        reach = params.pause_window_s * sample_rate
        return [
            gap
            for gap in self.gaps
            if gap.edge_db >= loud_db - params.pause_edge_db
            or not any(start - reach < gap.end and gap.start < end + reach for start, end in self.silent_pauses)
        ]


def detect_gaps(
    x: np.ndarray,
    sample_rate: int,
    params: DetectionParams,
    channel: int | None = None,
    step: float = LSB_16,
    subtype: str | None = None,
) -> Detection:
    """The dropouts of a mono recording ``x`` (float, full scale 1) stored with
    quantisation step ``step`` (:func:`quantisation_step`); for A-law and mu-law
    ``subtype``, a stuck run is judged by the step at its own value."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"detect_gaps takes one channel, got shape {x.shape}")
    shortest, longest, edge = params.samples(sample_rate)
    accepted = []
    silent_pauses = []
    # Each candidate is judged on its own edges before overlapping ones are merged: a
    # zeroed dropout inside a quiet pause is sudden, the pause around it is not.
    for start, end, kind in _candidate_runs(x, params, shortest):
        if start == 0 or end == len(x):
            continue
        if end - start > longest:
            if kind == "digital silence":
                silent_pauses.append((int(start), int(end)))
            continue
        # A stuck run sits at a value, not at silence; what counts is what is left on it
        # and beside it (a file with an offset holds its quiet passages far from zero).
        held = x[start] if kind == "stuck" else 0
        # A companded format's step grows with the level: far from zero (an offset, a
        # loud passage) a slow signal holds one value for long.
        run_step = quantisation_step(subtype, held) if subtype in COMPANDED and held else step
        before, after = x[max(0, start - edge) : start] - held, x[end : end + edge] - held
        edges_db = min(power_db(before), power_db(after))
        if edges_db < max(power_db(x[start:end] - held) + params.sudden_db, params.edge_floor_db(run_step)) and not (
            kind == "digital silence" and _outlasts_quantised_passage(x, start, end, params, sample_rate, step)
        ):
            continue
        # A slow signal holds one value naturally for as long as it takes to cross a step;
        # one that moves as fast as its edges do would have crossed many.
        pace = min(_mean_change(x[max(0, start - edge) : start + 1]), _mean_change(x[end - 1 : end + edge]))
        if pace * (end - start) >= params.moving_steps * run_step:
            accepted.append((start, end, kind, edges_db))
    gaps = [
        Gap(int(start), int(end), kind, channel, round(edge_db, 2)) for start, end, kind, edge_db in _merge(accepted)
    ]
    return Detection(gaps, silent_pauses)


def _outlasts_quantised_passage(
    x: np.ndarray, start: int, end: int, params: DetectionParams, sample_rate: int, step: float
) -> bool:
    """In a coarse format, whether the zero run ``[start, end)`` is long and outlasts
    every run of one value beside it ``coarse_run_ratio`` times: a passage that
    flickers between quantisation steps around a long stretch of exact zeros."""
    if step <= LSB_16 or end - start < params.coarse_run_ms * sample_rate / 1000:
        return False
    reach = params.coarse_window(sample_rate)
    beside = max(_longest_run(x[max(0, start - reach) : start]), _longest_run(x[end : end + reach]))
    return 0 < beside * params.coarse_run_ratio <= end - start


def _longest_run(x: np.ndarray) -> int:
    """The length of the longest run of one value in ``x`` (0 when empty)."""
    if len(x) == 0:
        return 0
    bounds = np.concatenate([[0], np.flatnonzero(x[1:] != x[:-1]) + 1, [len(x)]])
    return int(np.max(np.diff(bounds)))


def _mean_change(x: np.ndarray) -> float:
    """The mean absolute change from one sample to the next."""
    return float(np.mean(np.abs(np.diff(x.astype(np.float64))))) if len(x) > 1 else 0.0


def detect_streaming(
    blocks: Iterator[tuple[int, np.ndarray]],
    total: int,
    sample_rate: int,
    params: DetectionParams,
    channel=None,
    step: float = LSB_16,
    subtype: str | None = None,
) -> Detection:
    """:func:`detect_gaps` over a recording read in windows. ``blocks`` yields
    ``(offset, window)`` where each window reaches :meth:`DetectionParams.margin`
    samples beyond the stretch ``[offset + margin, next offset + margin)`` it is
    responsible for (clipped at the ends of the recording), as
    :func:`detection_windows` describes."""
    margin = params.margin(sample_rate)
    result = Detection([])
    for offset, window in blocks:
        own_start = 0 if offset == 0 else margin
        own_end = len(window) - (0 if offset + len(window) >= total else margin)
        # Padding the window's inner sides with a signal that is neither silent nor
        # constant keeps runs that reach a window side from being taken for leading or
        # trailing silence; such runs are always another window's responsibility.
        pad_left = 0 if offset == 0 else 1
        pad_right = 0 if offset + len(window) >= total else 1
        padded = np.concatenate([np.full(pad_left, 0.5, window.dtype), window, np.full(pad_right, -0.5, window.dtype)])
        found = detect_gaps(padded, sample_rate, params, channel, step, subtype)
        result.silent_pauses += [
            (start - pad_left + offset, end - pad_left + offset) for start, end in found.silent_pauses
        ]
        for gap in found.gaps:
            start = gap.start - pad_left
            if own_start <= start < own_end:
                result.gaps.append(Gap(start + offset, gap.end - pad_left + offset, gap.kind, channel, gap.edge_db))
    return result


def detection_windows(total: int, block: int, margin: int) -> Iterator[tuple[int, int]]:
    """(start, end) sample windows for :func:`detect_streaming`: stretches of ``block``
    samples with ``margin`` on each side."""
    for own in range(0, max(total, 1), block):
        start = max(0, own - margin)
        yield start, min(total, own + block + margin)


def match_gaps(detected: list[Gap], truth: list[tuple[int, int]], min_overlap: float = 0.5) -> tuple[int, int]:
    """How many true gaps were found and how many detections are true: a detection
    matches a true gap when it covers at least ``min_overlap`` of it."""

    def overlap(gap: Gap, span: tuple[int, int]) -> int:
        return max(0, min(gap.end, span[1]) - max(gap.start, span[0]))

    found = sum(any(overlap(g, t) >= min_overlap * (t[1] - t[0]) for g in detected) for t in truth)
    correct = sum(any(overlap(g, t) >= min_overlap * (t[1] - t[0]) for t in truth) for g in detected)
    return found, correct
