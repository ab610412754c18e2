"""Seeded corruption of clean speech: time gaps, packet loss, frequency-band holes and
additive noise, alone or combined, with the masks that say what was destroyed.

A task is any combination of the four corruptions. They are applied in the order a
signal meets them on its way to a listener: noise in the room, then band holes, then
dropouts (gaps and lost packets) in transmission. Each corruption of each utterance
draws from its own generator, ``rng_for(seed, task, corruption, utterance id)``, so an
utterance's corruption never depends on which other utterances share its shard.

Masks use True for "destroyed": ``sample_mask`` marks zeroed samples (gaps, lost
packets), ``tf_mask`` marks removed STFT bins (band holes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from . import dsp
from .seeding import rng_for

ORDER = ("noise", "bandhole", "gap", "packetloss")


@dataclass(frozen=True)
class GapParams:
    """Zeroed spans. ``count`` gaps per utterance if set, else ``per_second`` on average
    (stochastically rounded, at least one); lengths uniform in ``length_ms``; never
    within ``margin_ms`` of either end, at least ``min_spacing_ms`` apart."""

    per_second: float = 1.0
    count: int | None = None
    length_ms: tuple[float, float] = (20.0, 100.0)
    margin_ms: float = 100.0
    min_spacing_ms: float = 50.0


@dataclass(frozen=True)
class PacketLossParams:
    """Packets of ``packet_ms`` lost by a two-state Gilbert-Elliott chain: every packet
    in the bad state is lost, none in the good one; the chain is tuned to a long-run
    ``loss_rate`` and a mean burst of ``mean_burst_packets`` lost packets."""

    packet_ms: float = 20.0
    loss_rate: float = 0.1
    mean_burst_packets: float = 2.0

    @property
    def p_good_to_bad(self) -> float:
        return self.loss_rate / (self.mean_burst_packets * (1.0 - self.loss_rate))

    @property
    def p_bad_to_good(self) -> float:
        return 1.0 / self.mean_burst_packets


@dataclass(frozen=True)
class BandHoleParams:
    """Frequency bands removed from the STFT: a number of holes drawn from ``holes``,
    together covering ``fraction`` of the bins from 0 Hz to Nyquist, each at least
    ``min_width_hz`` wide. With ``duration_ms`` each hole lasts that long at a random
    time (a time-frequency rectangle); without it, holes span the whole utterance."""

    fraction: float = 0.30
    holes: tuple[int, int] = (1, 4)
    min_width_hz: float = 100.0
    duration_ms: tuple[float, float] | None = None


@dataclass(frozen=True)
class NoiseParams:
    """Additive noise from the split's noise bank at an SNR drawn from ``snr_db``.
    SNR is the ratio of speech to noise energy over the whole utterance."""

    snr_db: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0)
    kinds: tuple[str, ...] | None = None


_PARAMS = {"noise": NoiseParams, "bandhole": BandHoleParams, "gap": GapParams, "packetloss": PacketLossParams}


@dataclass(frozen=True)
class Task:
    name: str
    noise: NoiseParams | None = None
    bandhole: BandHoleParams | None = None
    gap: GapParams | None = None
    packetloss: PacketLossParams | None = None

    @property
    def corruptions(self) -> list[str]:
        return [kind for kind in ORDER if getattr(self, kind) is not None]

    @classmethod
    def from_config(cls, name: str, spec: dict) -> Task:
        """``spec`` maps corruption kinds to their parameters, as in config.yaml."""
        unknown = set(spec) - set(_PARAMS)
        if unknown:
            raise ValueError(f"task {name!r}: unknown corruption(s) {sorted(unknown)}; known: {list(_PARAMS)}")
        kwargs = {}
        for kind, params in spec.items():
            allowed = {f.name for f in fields(_PARAMS[kind])}
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in (params or {}).items() if k in allowed}
            kwargs[kind] = _PARAMS[kind](**values)
        return cls(name=name, **kwargs)


@dataclass
class Corrupted:
    audio: np.ndarray
    sample_mask: np.ndarray | None = None
    tf_mask: np.ndarray | None = None
    regions: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def gap_spans(n_samples: int, sample_rate: int, params: GapParams, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Non-overlapping [start, end) sample spans. Gaps that do not fit in a short
    utterance are dropped, longest-drawn last."""
    ms = sample_rate / 1000.0
    if params.count is not None:
        k = params.count
    else:
        expected = params.per_second * n_samples / sample_rate
        k = int(math.floor(expected) + (rng.uniform() < expected - math.floor(expected)))
        if params.per_second > 0:
            k = max(k, 1)
    lengths = np.round(rng.uniform(params.length_ms[0], params.length_ms[1], size=k) * ms).astype(int)
    lengths = np.maximum(lengths, 1)
    low = int(round(params.margin_ms * ms))
    available = n_samples - 2 * low
    spacing = int(round(params.min_spacing_ms * ms))
    while k > 0 and lengths[:k].sum() + spacing * (k - 1) > available:
        k -= 1
    if k == 0:
        return []
    lengths = lengths[:k]
    slack = available - int(lengths.sum()) - spacing * (k - 1)
    offsets = np.sort(rng.integers(0, slack + 1, size=k))
    starts = low + offsets + np.concatenate([[0], np.cumsum(lengths)[:-1]]) + spacing * np.arange(k)
    return [(int(s), int(s + n)) for s, n in zip(starts, lengths)]


def packet_loss_spans(
    n_samples: int, sample_rate: int, params: PacketLossParams, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """Lost packets merged into [start, end) spans; packets are aligned to sample 0 and
    the last one may be partial."""
    packet = max(1, int(round(params.packet_ms * sample_rate / 1000.0)))
    n_packets = -(-n_samples // packet)
    draws = rng.uniform(size=n_packets)
    lost = np.zeros(n_packets, dtype=bool)
    bad = rng.uniform() < params.loss_rate  # start from the stationary distribution
    for i in range(n_packets):
        lost[i] = bad
        bad = draws[i] >= params.p_bad_to_good if bad else draws[i] < params.p_good_to_bad
    spans = []
    for start, end in dsp.true_runs(lost):
        spans.append((start * packet, min(n_samples, end * packet)))
    return spans


def band_hole_mask(
    n_frames: int, sample_rate: int, stft_params: dsp.StftParams, params: BandHoleParams, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Boolean (n_freq, n_frames) mask and the holes as (bin_lo, bin_hi, frame_lo,
    frame_hi), half-open. Holes never touch, so each is a separate band."""
    n_freq = stft_params.n_freq
    total = int(round(params.fraction * n_freq))
    mask = np.zeros((n_freq, n_frames), dtype=bool)
    if total == 0:
        return mask, []
    min_bins = min(total, max(1, math.ceil(params.min_width_hz / stft_params.bin_hz(sample_rate))))
    k = int(rng.integers(params.holes[0], params.holes[1] + 1))
    k = max(1, min(k, total // min_bins, n_freq - total + 1))
    weights = rng.dirichlet(np.ones(k))
    extra = total - k * min_bins
    widths = min_bins + _largest_remainder(weights * extra, extra)
    slack = n_freq - total - (k - 1)
    offsets = np.sort(rng.integers(0, slack + 1, size=k))
    starts = offsets + np.concatenate([[0], np.cumsum(widths)[:-1]]) + np.arange(k)
    holes = []
    for start, width in zip(starts, widths):
        if params.duration_ms is None:
            frame_lo, frame_hi = 0, n_frames
        else:
            length = int(round(rng.uniform(*params.duration_ms) * sample_rate / 1000.0 / stft_params.hop))
            length = min(max(1, length), n_frames)
            frame_lo = int(rng.integers(0, n_frames - length + 1))
            frame_hi = frame_lo + length
        mask[start : start + width, frame_lo:frame_hi] = True
        holes.append((int(start), int(start + width), frame_lo, frame_hi))
    return mask, holes


def _largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``shares`` that sum exactly to ``total``."""
    base = np.floor(shares).astype(int)
    remainder = total - base.sum()
    base[np.argsort(-(shares - base), kind="stable")[:remainder]] += 1
    return base


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> tuple[np.ndarray, float]:
    """``speech + g * noise`` with g chosen so that the energy ratio is ``snr_db``
    exactly. Returns the mixture and the noise gain."""
    speech_energy = float(np.sum(np.square(speech, dtype=np.float64)))
    noise_energy = float(np.sum(np.square(noise, dtype=np.float64)))
    if noise_energy == 0:
        raise ValueError("cannot set the SNR of an all-zero noise")
    gain = math.sqrt(speech_energy / (noise_energy * 10 ** (snr_db / 10)))
    return (speech.astype(np.float64) + gain * noise).astype(np.float32), gain


class NoiseBank:
    """The noise recordings of each split, to draw mixtures from."""

    def __init__(self, recordings: dict[str, np.ndarray], table):
        self.recordings = recordings
        self.table = table.reset_index(drop=True)
        self._choices: dict[tuple, dict[str, list[str]]] = {}

    @classmethod
    def load(cls, archive_path, table_path) -> NoiseBank:
        import pandas as pd

        from .store import ArrayFile

        table = pd.read_parquet(table_path)
        with ArrayFile(archive_path) as archive:
            recordings = {noise_id: archive.get("noise", noise_id) for noise_id in table["id"]}
        return cls(recordings, table)

    def pick(self, split: str, kinds, rng: np.random.Generator) -> tuple[str, str]:
        """A (recording id, kind): first a kind, uniformly among those the split has, then
        a recording of that kind, so each kind is equally frequent."""
        by_kind = self._by_kind(split, tuple(kinds) if kinds else None)
        available = sorted(by_kind)
        if not available:
            raise ValueError(f"the noise bank has no recording for split {split!r} of kinds {kinds or 'any'}")
        kind = available[int(rng.integers(len(available)))]
        ids = by_kind[kind]
        return ids[int(rng.integers(len(ids)))], kind

    def _by_kind(self, split: str, kinds: tuple | None) -> dict[str, list[str]]:
        """Sorted recording ids per kind, looked up once: training draws noise for every row."""
        if (split, kinds) not in self._choices:
            rows = self.table[self.table["split"] == split]
            if kinds:
                rows = rows[rows["kind"].isin(list(kinds))]
            self._choices[split, kinds] = {kind: sorted(group["id"]) for kind, group in rows.groupby("kind")}
        return self._choices[split, kinds]

    def segment(self, noise_id: str, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` samples from a random start, looping the recording if it is shorter."""
        audio = self.recordings[noise_id]
        start = int(rng.integers(len(audio)))
        return np.take(audio, np.arange(start, start + n), mode="wrap")


def corrupt(
    clean: np.ndarray,
    sample_rate: int,
    task: Task,
    stft_params: dsp.StftParams,
    seed: int,
    utt_id: str,
    split: str,
    noise_bank: NoiseBank | None = None,
    noisy: np.ndarray | None = None,
) -> Corrupted:
    """``noisy``: the corpus's own noisy recording of this utterance (paired corpora),
    which a task with noise uses as it is instead of mixing from ``noise_bank``."""
    audio = np.asarray(clean, dtype=np.float32).copy()
    n = len(audio)
    result = Corrupted(audio=audio)
    info = result.info
    duration = n / sample_rate
    nyquist = sample_rate / 2

    if task.noise is not None and noisy is not None:
        if len(noisy) != n:
            raise ValueError(f"{utt_id}: noisy recording has {len(noisy)} samples, the clean one {n}")
        residual = np.asarray(noisy, dtype=np.float64) - audio
        snr = 10 * np.log10(np.sum(audio.astype(np.float64) ** 2) / max(np.sum(residual**2), 1e-20))
        audio = np.asarray(noisy, dtype=np.float32).copy()
        info.update(noise_id="paired", noise_kind="recorded", snr_db=float(snr))
    elif task.noise is not None:
        if noise_bank is None:
            raise ValueError(f"task {task.name!r} adds noise but no noise bank was given")
        rng = rng_for(seed, task.name, "noise", utt_id)
        noise_id, kind = noise_bank.pick(split, task.noise.kinds, rng)
        snr = float(task.noise.snr_db[int(rng.integers(len(task.noise.snr_db)))])
        audio, _ = mix_at_snr(audio, noise_bank.segment(noise_id, n, rng), snr)
        info.update(noise_id=noise_id, noise_kind=kind, snr_db=snr)

    if task.bandhole is not None:
        rng = rng_for(seed, task.name, "bandhole", utt_id)
        spec = dsp.stft(audio, stft_params)
        mask, holes = band_hole_mask(spec.shape[1], sample_rate, stft_params, task.bandhole, rng)
        spec[mask] = 0
        audio = dsp.istft(spec, stft_params, n)
        result.tf_mask = mask
        bin_hz = stft_params.bin_hz(sample_rate)
        for b_lo, b_hi, f_lo, f_hi in holes:
            result.regions.append(
                {
                    "kind": "bandhole",
                    "start_s": f_lo * stft_params.hop / sample_rate,
                    "end_s": min(duration, f_hi * stft_params.hop / sample_rate),
                    "f_lo_hz": max(0.0, (b_lo - 0.5) * bin_hz),
                    "f_hi_hz": min(nyquist, (b_hi - 0.5) * bin_hz),
                }
            )
        info["band_fraction"] = float(mask.any(axis=1).mean())

    spans: list[tuple[str, int, int]] = []
    if task.gap is not None:
        rng = rng_for(seed, task.name, "gap", utt_id)
        spans += [("gap", s, e) for s, e in gap_spans(n, sample_rate, task.gap, rng)]
    if task.packetloss is not None:
        rng = rng_for(seed, task.name, "packetloss", utt_id)
        spans += [("packetloss", s, e) for s, e in packet_loss_spans(n, sample_rate, task.packetloss, rng)]
    if task.gap is not None or task.packetloss is not None:
        sample_mask = np.zeros(n, dtype=bool)
        for kind, start, end in spans:
            sample_mask[start:end] = True
            result.regions.append(
                {
                    "kind": kind,
                    "start_s": start / sample_rate,
                    "end_s": end / sample_rate,
                    "f_lo_hz": 0.0,
                    "f_hi_hz": nyquist,
                }
            )
        audio = np.where(sample_mask, np.float32(0), audio)
        result.sample_mask = sample_mask
        info["lost_fraction"] = float(sample_mask.mean())
        info["n_dropouts"] = len(spans)

    result.audio = audio.astype(np.float32, copy=False)
    return result


REGION_COLUMNS = ["id", "kind", "start_s", "end_s", "f_lo_hz", "f_hi_hz"]


def corrupt_shard(
    audio,
    table,
    task: Task,
    stft_params: dsp.StftParams,
    sample_rate: int,
    seed: int,
    noise_bank: NoiseBank | None = None,
    paired: bool = False,
    arrays=None,
):
    """Corrupt every utterance of a shard. Returns the arrays (``audio/<id>``, and
    ``mask/<id>`` or ``tfmask/<id>`` where the task has them; put into ``arrays`` as
    they are made, a dict by default), a per-utterance table and a table of the
    corrupted regions. ``paired``: noise comes from each utterance's own noisy
    recording (``noisy/<id>`` in ``audio``)."""
    import pandas as pd

    arrays = {} if arrays is None else arrays
    rows, regions = [], []
    for row in table.sort_values("id").itertuples(index=False):
        noisy = audio.get("noisy", row.id) if paired and task.noise is not None else None
        result = corrupt(
            audio.get("audio", row.id), sample_rate, task, stft_params, seed, row.id, row.split, noise_bank, noisy
        )
        arrays[f"audio/{row.id}"] = result.audio
        if result.sample_mask is not None:
            arrays[f"mask/{row.id}"] = result.sample_mask
        if result.tf_mask is not None:
            arrays[f"tfmask/{row.id}"] = result.tf_mask
        rows.append({"id": row.id, "split": row.split, "n_samples": len(result.audio), **result.info})
        regions += [{"id": row.id, **region} for region in result.regions]
    columns = ["id", "split", "n_samples"]
    utterances = pd.DataFrame(rows)
    utterances = utterances.reindex(columns=columns + [c for c in utterances.columns if c not in columns])
    return arrays, utterances, pd.DataFrame(regions, columns=REGION_COLUMNS)
