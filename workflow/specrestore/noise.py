"""Noise made by the project, for corpora that bring none (``demo``, ``folder``).

Each split gets its own bank of noise recordings, so that training and test mixtures
never share a recording: white, pink and brown noise, mains hum with harmonics,
modulated bursts, and babble built from the speech of *another* split's speakers.
Babble sources follow a cycle (train ← valid, valid ← test, test ← train): the talkers
in a split's babble are never its own speakers, train noise and test noise share no
speaker, and test speakers are never heard in training, not even as babble.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .seeding import rng_for
from .store import ArrayFile, StoredArray

KINDS = ("white", "pink", "brown", "hum", "bursts", "babble")
BANK_LEVEL_DB = -30.0  # every bank recording is stored at this mean power

BABBLE_SOURCES = {"train": ("valid",), "valid": ("test", "train"), "test": ("train", "valid")}


@dataclass
class NoiseRecording:
    id: str
    kind: str
    split: str
    audio: np.ndarray
    sources: list[str] = field(default_factory=list)  # babble talkers (speaker ids)


def _at_level(x: np.ndarray, level_db: float = BANK_LEVEL_DB) -> np.ndarray:
    power = np.mean(np.square(x, dtype=np.float64))
    return (x * np.sqrt(10 ** (level_db / 10) / power)).astype(np.float32)


def white(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(n).astype(np.float32)


def coloured(
    n: int, rng: np.random.Generator, exponent: float, sample_rate: int, low_cut_hz: float = 20.0
) -> np.ndarray:
    """Gaussian noise whose power spectrum falls as 1/f**exponent (1: pink, 2: brown);
    nothing below ``low_cut_hz`` so that brown noise does not wander off as DC drift."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    gain = np.zeros_like(freqs)
    keep = freqs >= low_cut_hz
    gain[keep] = freqs[keep] ** (-exponent / 2)
    return np.fft.irfft(spectrum * gain, n).astype(np.float32)


def hum(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum: 50 or 60 Hz and its harmonics with falling, random amplitudes, a slow
    wobble of the mains frequency, and a faint broadband floor."""
    f0 = float(rng.choice([50.0, 60.0]))
    t = np.arange(n) / sample_rate
    drift = 1 + 0.002 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * f0 * np.cumsum(drift) / sample_rate
    out = np.zeros(n)
    n_harmonics = int(rng.integers(4, 13))
    for h in range(1, n_harmonics + 1):
        if h * f0 >= sample_rate / 2:
            break
        amplitude = rng.uniform(0.3, 1.0) / h ** rng.uniform(0.5, 1.5)
        out += amplitude * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    out = _at_level(out, 0.0) + _at_level(white(n, rng), -30.0)
    return out.astype(np.float32)


def bursts(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Bursts of pink or white noise (30-400 ms, 5 ms raised-cosine edges, levels within
    ±10 dB) separated by 0.1-1 s of near silence, each amplitude-modulated at 2-12 Hz."""
    carrier = coloured(n, rng, 1.0, sample_rate) if rng.uniform() < 0.5 else white(n, rng)
    envelope = np.full(n, 10 ** (-40 / 20))
    ramp_len = max(1, int(0.005 * sample_rate))
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp_len))
    position = int(rng.uniform(0, 0.5) * sample_rate)
    t = np.arange(n) / sample_rate
    while position < n:
        length = int(rng.uniform(0.03, 0.4) * sample_rate)
        end = min(n, position + length)
        shape = np.ones(end - position)
        edge = min(ramp_len, len(shape) // 2)
        if edge:
            shape[:edge] = ramp[:edge]
            shape[-edge:] = ramp[:edge][::-1]
        rate = rng.uniform(2, 12)
        modulation = 1 - 0.5 * (1 + np.sin(2 * np.pi * rate * t[position:end])) * rng.uniform(0, 0.8)
        envelope[position:end] = 10 ** (rng.uniform(-10, 10) / 20) * shape * modulation
        position = end + int(rng.uniform(0.1, 1.0) * sample_rate)
    return (carrier * envelope).astype(np.float32)


def babble(
    n: int, rng: np.random.Generator, talkers: dict[str, list[np.ndarray]], n_talkers: int
) -> tuple[np.ndarray, list[str]]:
    """Several talkers at once: each chosen speaker's utterances, in random order and
    from a random start, looped to length ``n`` and brought to the same level."""
    names = sorted(talkers)
    chosen = [names[i] for i in rng.choice(len(names), size=min(n_talkers, len(names)), replace=False)]
    out = np.zeros(n, dtype=np.float64)
    for name in chosen:
        utterances = [talkers[name][i] for i in rng.permutation(len(talkers[name]))]
        stream = np.concatenate([np.asarray(u) for u in utterances])
        stream = np.roll(stream, -int(rng.integers(len(stream))))
        stream = np.tile(stream, int(np.ceil(n / len(stream))))[:n]
        out += _at_level(stream, 0.0)
    return out.astype(np.float32), chosen


def babble_source(split: str, speakers_by_split: dict[str, list[str]]) -> str | None:
    """The split whose speakers make the babble for ``split``, or None if none may."""
    return next((s for s in BABBLE_SOURCES[split] if speakers_by_split.get(s)), None)


def build_bank(
    splits: list[str],
    kinds: list[str],
    per_kind: int,
    duration_s: float,
    sample_rate: int,
    seed: int,
    babble_talkers: dict[str, dict[str, list[np.ndarray]]],
    talkers_range: tuple[int, int] = (3, 6),
) -> list[NoiseRecording]:
    """``per_kind`` recordings of each kind for each split. ``babble_talkers[split]``
    holds the speech (speaker → utterances) allowed in that split's babble; a split
    without any gets no babble."""
    n = int(round(duration_s * sample_rate))
    bank = []
    for split in splits:
        for kind in kinds:
            if kind == "babble" and not babble_talkers.get(split):
                continue
            for index in range(per_kind):
                rng = rng_for(seed, "noise-bank", split, kind, index)
                sources: list[str] = []
                if kind == "white":
                    audio = white(n, rng)
                elif kind == "pink":
                    audio = coloured(n, rng, 1.0, sample_rate)
                elif kind == "brown":
                    audio = coloured(n, rng, 2.0, sample_rate)
                elif kind == "hum":
                    audio = hum(n, sample_rate, rng)
                elif kind == "bursts":
                    audio = bursts(n, sample_rate, rng)
                elif kind == "babble":
                    n_talkers = int(rng.integers(talkers_range[0], talkers_range[1] + 1))
                    audio, sources = babble(n, rng, babble_talkers[split], n_talkers)
                else:
                    raise ValueError(f"unknown noise kind {kind!r}; known: {KINDS}")
                bank.append(NoiseRecording(f"{split}-{kind}-{index:02d}", kind, split, _at_level(audio), sources))
    return bank


def collect_babble_talkers(
    utterances, audio_files: dict[int, str], seed: int, per_speaker: int = 8
) -> dict[str, dict[str, list[StoredArray]]]:
    """For each split, the speech its babble may use: up to ``per_speaker`` utterances
    (a seeded choice) of every speaker of its source split. ``utterances`` is the table
    of prepared utterances (id, speaker, split, shard); ``audio_files`` maps a shard to
    its audio archive. The utterances stay in their archives (read when a babble
    recording uses them): a corpus of thousands of speakers would not fit in memory."""
    speakers_by_split = {s: sorted(g["speaker"].unique()) for s, g in utterances.groupby("split")}
    wanted: dict[str, list] = {}
    for split in speakers_by_split:
        source = babble_source(split, speakers_by_split)
        if source is None:
            continue
        rows = utterances[utterances["split"] == source].sort_values("id")
        chosen = []
        for speaker, group in rows.groupby("speaker", sort=True):
            rng = rng_for(seed, "babble-talker", speaker)
            picks = rng.choice(len(group), size=min(per_speaker, len(group)), replace=False)
            chosen.append(group.iloc[np.sort(picks)])
        wanted[split] = chosen
    talkers: dict[str, dict[str, list[np.ndarray]]] = {}
    cache: dict[int, ArrayFile] = {}
    try:
        for split, groups in wanted.items():
            talkers[split] = {}
            for group in groups:
                for row in group.itertuples(index=False):
                    if row.shard not in cache:
                        cache[row.shard] = ArrayFile(audio_files[row.shard])
                    archive = cache[row.shard]
                    talkers[split].setdefault(row.speaker, []).append(archive.stored("audio", row.id))
    finally:
        for archive in cache.values():
            archive.close()
    return talkers


def esc50_bank(listing, sample_rate: int) -> list[NoiseRecording]:
    """ESC-50 clips as noise recordings: every clip of each split's folds, resampled to
    ``sample_rate`` and brought to the bank's level; its kind is its ESC-50 category.
    Clips that are all silence (ESC-50 has a few near-empty ones) are left out."""
    from . import dsp
    from .audio import read_audio

    bank = []
    for row in listing.itertuples():
        audio, rate = read_audio(row.path)
        audio = dsp.resample(audio.mean(axis=1), rate, sample_rate)
        if not np.any(np.abs(audio) > 1e-4):
            continue
        stem = row.path.rsplit("/", 1)[-1].removesuffix(".wav")
        bank.append(NoiseRecording(f"{row.split}-esc50-{stem}", row.category, row.split, _at_level(audio), [stem]))
    return bank
