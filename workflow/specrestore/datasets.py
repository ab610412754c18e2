"""Training data: pairs of corrupted and clean spectrograms (or MFCC frames) of one
task, and Keras datasets that cut them into batches.

Spectrogram models train on fresh corruptions (:class:`FreshPatchDataset`): every
batch corrupts excerpts of the clean training speech anew with the task's own
corruptions, so no two epochs see the same dropouts, holes or noise. The fixed
corrupted copies of the corrupt stage (:func:`load_pairs`, :class:`PatchDataset`) are
the validation data, and the training data where no fresh corruption can be made
(noise taken from a paired corpus's own noisy recordings) and for the MFCC network.
Everything is put in network units (see :mod:`specrestore.normalization`) and held as
float16. Patches are drawn from a generator seeded by (seed, epoch, batch), so a run
sees the same batches every time.

The training datasets are endless: batch ``i`` of a run is batch ``i % steps`` of
epoch ``i // steps``, and ``fit`` cuts epochs with ``steps_per_epoch``. What a batch
holds therefore depends on its index alone, never on when Keras calls an epoch
callback: Keras starts reading the next epoch before it ends the current one, so an
epoch counter moved by ``on_epoch_end`` would race with the prefetching. With the
TensorFlow backend, ``tf.data`` prefetches the batches in a thread of its own.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import keras
import numpy as np
import pandas as pd

from . import baselines, dsp, peers
from .corruption import Corrupted, NoiseBank, Task, corrupt
from .normalization import EPSILON, Normalization, fit_normalization
from .store import ArrayFile, StoredArray

TARGETS = ("clean", "residual", "mask")


@dataclass
class Pair:
    """One utterance: corrupted and clean magnitudes (n_freq, n_frames) and the bins
    the corruption destroyed (None where it destroyed everything, i.e. noise)."""

    id: str
    corrupted: np.ndarray
    clean: np.ndarray
    missing: np.ndarray | None


def load_pairs(
    stft_caches: list[str],
    corrupt_archives: list[str],
    corrupt_tables: list[str],
    splits: set[str],
    params: dsp.StftParams,
    max_utterances: int | None = None,
) -> list[Pair]:
    """The (corrupted, clean) magnitude pairs of the utterances in ``splits``, shard by
    shard, in id order; at most ``max_utterances``."""
    pairs = []
    for cache_path, archive_path, table_path in zip(stft_caches, corrupt_archives, corrupt_tables):
        table = pd.read_parquet(table_path)
        wanted = sorted(table.loc[table["split"].isin(splits), "id"])
        with ArrayFile(cache_path) as cache, ArrayFile(archive_path) as corrupt:
            for utt_id in wanted:
                clean = cache.get("mag", utt_id).astype(np.float32)
                corrupted = np.abs(dsp.stft(corrupt.get("audio", utt_id), params))
                sample_mask = corrupt.get("mask", utt_id) if corrupt.has("mask", utt_id) else None
                tf_mask = corrupt.get("tfmask", utt_id) if corrupt.has("tfmask", utt_id) else None
                missing = None
                if sample_mask is not None or tf_mask is not None:
                    missing = baselines.missing_bins(clean.shape[1], params, sample_mask, tf_mask)
                pairs.append(Pair(utt_id, corrupted, clean, missing))
                if max_utterances and len(pairs) >= max_utterances:
                    return pairs
    return pairs


@dataclass
class Arrays:
    """A pair in network units: input, target and missing mask, float16."""

    x: np.ndarray
    y: np.ndarray
    missing: np.ndarray | None


def to_network_units(pair: Pair, normalization: Normalization, target: str) -> Arrays:
    x = normalization.forward(pair.corrupted)
    clean = normalization.forward(pair.clean)
    if target == "clean":
        y = clean
    elif target == "residual":
        y = (x - clean) / 2  # within [-1, 1] when both are globally scaled
    elif target == "mask":
        y = np.clip(pair.clean / np.maximum(pair.corrupted, EPSILON), 0, 1)
    else:
        raise ValueError(f"unknown target {target!r}; choose one of {TARGETS}")
    missing = None if pair.missing is None else pair.missing.astype(np.float16)
    return Arrays(x.astype(np.float16), y.astype(np.float16), missing)


def from_network_units(
    prediction: np.ndarray, corrupted: np.ndarray, normalization: Normalization, target: str
) -> np.ndarray:
    """Restored magnitude from a model's output (the inverse of :func:`to_network_units`)."""
    if target == "clean":
        return normalization.inverse(prediction)
    if target == "residual":
        return normalization.inverse(normalization.forward(corrupted) - 2 * prediction)
    if target == "mask":
        return (np.clip(prediction, 0, 1) * corrupted).astype(np.float32)
    raise ValueError(f"unknown target {target!r}; choose one of {TARGETS}")


def prepare(pairs: list[Pair], normalization_kind: str, target: str, normalization: Normalization | None = None):
    """Fit the normalization on the clean magnitudes (unless given) and convert."""
    if normalization is None:
        normalization = fit_normalization(normalization_kind, [p.clean for p in pairs])
    return [to_network_units(p, normalization, target) for p in pairs], normalization


VALIDATION_EPOCH = 99991  # an epoch no run reaches: fixed batches never repeat a training batch


class EndlessDataset(keras.utils.PyDataset):
    """Batch ``index`` is batch ``index % steps`` of epoch ``index // steps``, made by
    ``make_batch(epoch, step)`` from those two numbers alone (see the module docstring)."""

    num_batches = None
    first_batch = 0
    steps = 1

    def start_at_epoch(self, epoch: int) -> None:
        """Make index 0 the first batch of ``epoch`` (a resumed run); call before ``fit``."""
        self.first_batch = epoch * self.steps

    def __getitem__(self, index):
        epoch, step = divmod(self.first_batch + index, self.steps)
        return self.make_batch(epoch, step)

    def make_batch(self, epoch: int, step: int):
        raise NotImplementedError

    def fixed(self, n_batches: int):
        """A deterministic set of batches as one (inputs, target) pair, for validation."""
        batches = [self.make_batch(VALIDATION_EPOCH, i) for i in range(n_batches)]
        inputs = tuple(np.concatenate([b[0][k] for b in batches]) for k in range(len(batches[0][0])))
        return inputs, np.concatenate([b[1] for b in batches])


def patch_start(
    rng: np.random.Generator, missing_frames: np.ndarray, low: int, high: int, patch_frames: int, focus: bool
) -> int:
    """First frame of a patch inside frames [low, high). Where the missing frames are
    few (dropouts), three patches in four are centred on one of them, give or take a
    quarter patch, as seed 3 trained with the gap in the middle of the patch."""
    last = max(low, high - patch_frames)
    sparse = 0 < len(missing_frames) < 0.5 * (high - low)
    if focus and sparse and rng.uniform() < 0.75:
        centre = int(missing_frames[rng.integers(len(missing_frames))]) + int(
            rng.integers(-patch_frames // 4, patch_frames // 4 + 1)
        )
        return int(np.clip(centre - patch_frames // 2, low, last))
    return int(rng.integers(low, last + 1))


class PatchDataset(EndlessDataset):
    """Batches of (frequency x ``patch_frames``) patches of fixed pairs: inputs are
    ``[corrupted, missing]`` (or ``[corrupted]`` without a mask), each
    (batch, freq, frames, 1), targets (batch, freq, frames, 1); patches are placed by
    :func:`patch_start`."""

    def __init__(
        self,
        arrays: list[Arrays],
        patch_frames: int,
        batch_size: int,
        steps: int,
        seed: int,
        with_mask: bool,
        focus_on_missing: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not arrays:
            raise ValueError("no training utterances")
        self.arrays = [_pad_to(a, patch_frames) for a in arrays]
        self.patch_frames, self.batch_size, self.steps = patch_frames, batch_size, steps
        self.seed, self.with_mask, self.focus = seed, with_mask, focus_on_missing
        lengths = np.array([a.x.shape[1] for a in self.arrays], dtype=float)
        self.weights = lengths / lengths.sum()
        self.missing_frames = [
            np.flatnonzero(a.missing.any(axis=0)) if a.missing is not None else np.array([], int) for a in self.arrays
        ]

    def make_batch(self, epoch: int, step: int):
        return self.batch(np.random.default_rng([self.seed, epoch, step]))

    def batch(self, rng: np.random.Generator):
        patches = []
        for _ in range(self.batch_size):
            index = int(rng.choice(len(self.arrays), p=self.weights))
            item = self.arrays[index]
            start = patch_start(rng, self.missing_frames[index], 0, item.x.shape[1], self.patch_frames, self.focus)
            window = slice(start, start + self.patch_frames)
            missing = None if item.missing is None else item.missing[:, window]
            patches.append(Arrays(item.x[:, window], item.y[:, window], missing))
        return stack_patches(patches, self.with_mask)


def stack_patches(patches: list[Arrays], with_mask: bool):
    """Patches as one batch: ``((x, missing) or (x,), y)``, each (batch, freq, frames, 1)."""
    x = np.stack([p.x for p in patches]).astype(np.float32)[..., None]
    y = np.stack([p.y for p in patches]).astype(np.float32)[..., None]
    if not with_mask:
        return (x,), y
    missing = np.zeros_like(x)
    for row, patch in enumerate(patches):
        if patch.missing is not None:
            missing[row, :, :, 0] = patch.missing
    return (x, missing), y


def _pad_to(arrays: Arrays, frames: int) -> Arrays:
    short = frames - arrays.x.shape[1]
    if short <= 0:
        return arrays
    silence = float(arrays.x.min())

    def pad(a, value):
        return None if a is None else np.pad(a, ((0, 0), (0, short)), constant_values=value)

    return Arrays(pad(arrays.x, silence), pad(arrays.y, float(arrays.y.min())), pad(arrays.missing, 0))


# --- Fresh corruptions ------------------------------------------------------------------

EXCERPT_S = 2.0  # excerpts of at least this long are corrupted, not whole utterances
TRAIN_SPLIT = "train"


@dataclass
class CleanUtterance:
    """A clean training utterance: its audio in memory, or left in its array file
    (:class:`~specrestore.store.StoredArray`) and read a slice at a time."""

    id: str
    audio: np.ndarray | StoredArray


def load_clean_audio(
    clean_archives: list[str], summary_path: str, splits: set[str], max_utterances: int | None = None
) -> list[CleanUtterance]:
    """The clean waveforms of the utterances in ``splits`` (float32, left in their
    array files), shard by shard, in id order; at most ``max_utterances``."""
    summary = pd.read_parquet(summary_path, columns=["id", "split"])
    wanted = set(summary.loc[summary["split"].isin(splits), "id"])
    utterances = []
    for path in clean_archives:
        with ArrayFile(path) as archive:
            for utt_id in sorted(wanted.intersection(archive.ids("audio"))):
                # Left in the file: training reads the excerpts it corrupts, a second or two each.
                utterances.append(CleanUtterance(utt_id, archive.stored("audio", utt_id)))
                if max_utterances and len(utterances) >= max_utterances:
                    return utterances
    return utterances


@dataclass
class FreshCorruption:
    """Clean training speech and what corrupts it anew for every batch: the task's own
    :func:`~specrestore.corruption.corrupt` and, where the task adds noise, the noise
    bank's training recordings."""

    utterances: list[CleanUtterance]
    task: Task
    sample_rate: int
    stft: dsp.StftParams
    noise_bank: NoiseBank | None = None

    def __post_init__(self):
        if not self.utterances:
            raise ValueError("no clean training utterances")
        if self.task.noise is not None and self.noise_bank is None:
            raise ValueError(f"task {self.task.name!r} adds noise: fresh corruptions need the noise bank")

    def __len__(self) -> int:
        return len(self.utterances)

    def clean_magnitudes(self):
        """The clean magnitudes, one utterance at a time."""
        return (np.abs(dsp.stft(np.asarray(u.audio, np.float32), self.stft)) for u in self.utterances)

    def settings(self) -> dict:
        """The corruption settings a run depends on (see ``training.run_settings``)."""
        return {"task": asdict(self.task), "sample_rate": self.sample_rate, "split": TRAIN_SPLIT}

    def arrays(self):
        """Every array the batches are made from: the clean speech, then the noise."""
        yield from (np.asarray(u.audio, np.float32) for u in self.utterances)
        if self.noise_bank is not None:
            table = self.noise_bank.table
            for noise_id in sorted(table.loc[table["split"] == TRAIN_SPLIT, "id"]):
                yield self.noise_bank.recordings[noise_id]


def excerpt_samples(task: Task, sample_rate: int, stft: dsp.StftParams, patch_frames: int) -> int | None:
    """How much of an utterance one training row corrupts; None: all of it.

    Rules counted per utterance (a ``count`` of gaps, band holes that last
    ``duration_ms``) need the whole utterance. Otherwise an excerpt of twice the patch
    or :data:`EXCERPT_S`, whichever is longer, and long enough that the gap rate is not
    raised by the at-least-one-gap rule and that a gap fits between the margins."""
    if (task.gap is not None and task.gap.count is not None) or (
        task.bandhole is not None and task.bandhole.duration_ms is not None
    ):
        return None
    seconds = max(EXCERPT_S, 2 * (patch_frames * stft.hop + stft.n_fft) / sample_rate)
    if task.gap is not None:
        gap = task.gap
        if gap.per_second > 0:
            seconds = max(seconds, 1 / gap.per_second)
        seconds = max(seconds, 2 * (2 * gap.margin_ms + gap.length_ms[1] + gap.min_spacing_ms) / 1000)
    return math.ceil(seconds * sample_rate / stft.hop) * stft.hop


@dataclass
class FreshRow:
    """One row of a fresh batch: an excerpt of a clean utterance (from sample ``offset``),
    its corruption, named ``corruption_id`` for the corruption's generators, the bins it
    destroyed (None for noise alone) and the patch's first frame in the excerpt."""

    utterance: str
    corruption_id: str
    offset: int
    clean: np.ndarray
    corrupted: Corrupted
    missing: np.ndarray | None
    first_frame: int


class FreshPatchDataset(EndlessDataset):
    """Batches like :class:`PatchDataset`'s, corrupted anew for every row.

    Row ``r`` of step ``s`` of epoch ``e`` picks an utterance (weighted by length) and
    an excerpt of it (:func:`excerpt_samples`; starting on a frame boundary, so its STFT
    frames are the utterance's) with a generator seeded by (seed, e, s), corrupts the
    excerpt with the task's own code as utterance ``<id>@e.s.r`` and cuts the patch
    (:func:`patch_start`) from frames that lie wholly inside the excerpt, unless that
    side is the utterance's own end. Only the patch's frames are transformed."""

    def __init__(
        self,
        source: FreshCorruption,
        normalization: Normalization,
        target: str,
        patch_frames: int,
        batch_size: int,
        steps: int,
        seed: int,
        with_mask: bool,
        focus_on_missing: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source, self.normalization, self.target = source, normalization, target
        self.patch_frames, self.batch_size, self.steps = patch_frames, batch_size, steps
        self.seed, self.with_mask, self.focus = seed, with_mask, focus_on_missing
        self.excerpt = excerpt_samples(source.task, source.sample_rate, source.stft, patch_frames)
        lengths = np.array([len(u.audio) for u in source.utterances], dtype=float)
        self.weights = lengths / lengths.sum()

    def make_batch(self, epoch: int, step: int):
        return stack_patches([self.patch(row) for row in self.rows(epoch, step)], self.with_mask)

    def rows(self, epoch: int, step: int) -> list[FreshRow]:
        rng = np.random.default_rng([self.seed, epoch, step])
        return [self._row(rng, f"{epoch}.{step}.{row}") for row in range(self.batch_size)]

    def _row(self, rng: np.random.Generator, place: str) -> FreshRow:
        source = self.source
        utterance = source.utterances[int(rng.choice(len(source.utterances), p=self.weights))]
        offset, length = self._excerpt(rng, len(utterance.audio))
        clean = utterance.audio[offset : offset + length]
        name = f"{utterance.id}@{place}"
        corrupted = corrupt(
            clean, source.sample_rate, source.task, source.stft, self.seed, name, TRAIN_SPLIT, source.noise_bank
        )
        missing = None
        if corrupted.sample_mask is not None or corrupted.tf_mask is not None:
            n_frames = source.stft.n_frames(length)
            missing = baselines.missing_bins(n_frames, source.stft, corrupted.sample_mask, corrupted.tf_mask)
        frames = np.flatnonzero(missing.any(axis=0)) if missing is not None else np.array([], int)
        low, high = self._inner_frames(offset, length, len(utterance.audio))
        first = patch_start(rng, frames, low, high, self.patch_frames, self.focus)
        return FreshRow(utterance.id, name, offset, clean, corrupted, missing, first)

    def _excerpt(self, rng: np.random.Generator, n_samples: int) -> tuple[int, int]:
        if self.excerpt is None or n_samples <= self.excerpt:
            return 0, n_samples
        hop = self.source.stft.hop
        return int(rng.integers(0, (n_samples - self.excerpt) // hop + 1)) * hop, self.excerpt

    def _inner_frames(self, offset: int, length: int, n_samples: int) -> tuple[int, int]:
        """Frames whose window lies inside the excerpt, except at the utterance's own
        ends: a window that crossed a cut would see zeros where the utterance goes on."""
        params = self.source.stft
        pad = params.n_fft // 2
        low = -(-pad // params.hop) if offset > 0 else 0
        high = params.n_frames(length)
        if offset + length < n_samples:
            high = (length + pad - params.n_fft) // params.hop + 1
        return low, high

    def patch(self, row: FreshRow) -> Arrays:
        """A row's patch in network units; frames past a short utterance's end are silence."""
        params, first, count = self.source.stft, row.first_frame, self.patch_frames
        clean = np.abs(dsp.stft_frames(row.clean, params, first, count))
        corrupted = np.abs(dsp.stft_frames(row.corrupted.audio, params, first, count))
        missing = None
        if row.missing is not None:
            missing = np.zeros((params.n_freq, count), dtype=bool)
            inside = row.missing[:, first : first + count]
            missing[:, : inside.shape[1]] = inside
        return to_network_units(Pair(row.corruption_id, corrupted, clean, missing), self.normalization, self.target)


# --- MFCC frames (seed 2) --------------------------------------------------------------


@dataclass(frozen=True)
class MfccParams:
    """Seed 2's MFCC analysis: 32 coefficients, lifter 0.6, 640-point FFT, hop 320,
    128 mel bands from 20 Hz, pre-emphasis 0.97."""

    n_mfcc: int = 32
    n_mels: int = 128
    n_fft: int = 640
    hop: int = 320
    lifter: float = 0.6
    fmin: float = 20.0
    fmax: float | None = None
    preemphasis: float = 0.97


def mfcc(x: np.ndarray, sample_rate: int, params: MfccParams) -> np.ndarray:
    import librosa

    emphasised = librosa.effects.preemphasis(np.asarray(x, np.float32), coef=params.preemphasis)
    return librosa.feature.mfcc(
        y=emphasised, sr=sample_rate, n_mfcc=params.n_mfcc, lifter=params.lifter, n_fft=params.n_fft,
        hop_length=params.hop, fmin=params.fmin, fmax=params.fmax, n_mels=params.n_mels,
    )  # fmt: skip


def mfcc_to_audio(coefficients: np.ndarray, sample_rate: int, params: MfccParams, length: int, seed: int) -> np.ndarray:
    """librosa's MFCC inversion (mel filterbank pseudo-inverse and Griffin-Lim), then
    de-emphasis; the fine spectral structure MFCCs discard cannot come back.

    ``librosa.feature.inverse.mfcc_to_audio`` does the same steps but starts Griffin-Lim
    from an unseeded random phase, so two runs would differ; here the start comes from
    ``seed``."""
    import librosa
    import scipy.signal

    mel = librosa.feature.inverse.mfcc_to_mel(coefficients, n_mels=params.n_mels, lifter=params.lifter)
    magnitude = librosa.feature.inverse.mel_to_stft(
        mel, sr=sample_rate, n_fft=params.n_fft, fmin=params.fmin, fmax=params.fmax
    )
    audio = librosa.griffinlim(
        magnitude, hop_length=params.hop, n_fft=params.n_fft, length=length, random_state=np.random.default_rng(seed)
    )
    return scipy.signal.lfilter([1.0], [1.0, -params.preemphasis], audio).astype(np.float32)


def mel_missing(
    sample_mask: np.ndarray | None,
    tf_mask: np.ndarray | None,
    n_samples: int,
    sample_rate: int,
    stft_params: dsp.StftParams,
    params: MfccParams,
) -> np.ndarray:
    """(n_mels, n_mfcc_frames): the fraction of each mel band's weight the corruption
    destroyed, at the MFCC frame rate."""
    import librosa

    mfcc_stft = dsp.StftParams(params.n_fft, params.hop)
    n_frames = mfcc_stft.n_frames(n_samples)
    missing_bins = np.zeros((mfcc_stft.n_freq, n_frames), dtype=np.float32)
    if tf_mask is not None:
        # Map the pipeline's bins and frames onto the MFCC analysis grid.
        rows = np.minimum(
            np.round(np.arange(mfcc_stft.n_freq) * stft_params.n_fft / params.n_fft).astype(int), tf_mask.shape[0] - 1
        )
        cols = np.minimum(
            np.round(np.arange(n_frames) * params.hop / stft_params.hop).astype(int), tf_mask.shape[1] - 1
        )
        missing_bins = np.maximum(missing_bins, tf_mask[np.ix_(rows, cols)])
    if sample_mask is not None:
        missing_bins[:, baselines.frames_touching(sample_mask, mfcc_stft)] = 1.0
    filters = librosa.filters.mel(
        sr=sample_rate, n_fft=params.n_fft, n_mels=params.n_mels, fmin=params.fmin, fmax=params.fmax
    )
    weight = filters.sum(axis=1, keepdims=True)
    return (filters @ missing_bins / np.maximum(weight, 1e-12)).astype(np.float32)


@dataclass
class MfccFrames:
    """An utterance in seed 2's terms: corrupted and clean MFCCs normalised with the
    corrupted utterance's per-coefficient mean and deviation (the statistics available
    at restoration time), and the mel-band missing fractions. Arrays are (frames, dims)."""

    x: np.ndarray
    y: np.ndarray
    missing: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def mfcc_frames(
    corrupted: np.ndarray,
    clean: np.ndarray | None,
    sample_mask,
    tf_mask,
    sample_rate: int,
    stft_params: dsp.StftParams,
    params: MfccParams,
) -> MfccFrames:
    corrupted_mfcc = mfcc(corrupted, sample_rate, params)
    mean, std = corrupted_mfcc.mean(axis=1), np.maximum(corrupted_mfcc.std(axis=1), 1e-3)
    x = ((corrupted_mfcc.T - mean) / std).astype(np.float32)
    y = ((mfcc(clean, sample_rate, params).T - mean) / std).astype(np.float32) if clean is not None else None
    missing = mel_missing(sample_mask, tf_mask, len(corrupted), sample_rate, stft_params, params).T
    return MfccFrames(x, y, missing[: len(x)], mean, std)


class FrameDataset(EndlessDataset):
    """Random batches of MFCC frames of fixed corrupted copies: inputs ``[mfcc, missing]``,
    target clean mfcc.

    Not fresh corruptions: seed 2 normalises each utterance by its corrupted MFCCs' own
    mean and deviation, so a frame needs its whole corrupted utterance analysed (about
    0.4 s for 6 s of speech), and the network trains on a batch of 128 frames in 5 ms."""

    def __init__(self, frames: list[MfccFrames], batch_size: int, steps: int, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.x = np.concatenate([f.x for f in frames])
        self.y = np.concatenate([f.y for f in frames])
        self.missing = np.concatenate([f.missing for f in frames])
        self.batch_size, self.steps, self.seed = batch_size, steps, seed

    def make_batch(self, epoch: int, step: int):
        rows = np.random.default_rng([self.seed, epoch, step]).integers(0, len(self.x), self.batch_size)
        return (self.x[rows], self.missing[rows]), self.y[rows]


def load_mfcc_frames(
    clean_archives: list[str],
    corrupt_archives: list[str],
    corrupt_tables: list[str],
    splits: set[str],
    sample_rate: int,
    stft_params: dsp.StftParams,
    params: MfccParams,
    max_utterances: int | None = None,
) -> list[MfccFrames]:
    """MFCC frames of the utterances in ``splits``, shard by shard, in id order."""
    frames = []
    for clean_path, archive_path, table_path in zip(clean_archives, corrupt_archives, corrupt_tables):
        table = pd.read_parquet(table_path)
        with ArrayFile(clean_path) as clean, ArrayFile(archive_path) as corrupt:
            for utt_id in sorted(table.loc[table["split"].isin(splits), "id"]):
                sample_mask = corrupt.get("mask", utt_id) if corrupt.has("mask", utt_id) else None
                tf_mask = corrupt.get("tfmask", utt_id) if corrupt.has("tfmask", utt_id) else None
                corrupted, reference = corrupt.get("audio", utt_id), clean.get("audio", utt_id)
                frames.append(mfcc_frames(corrupted, reference, sample_mask, tf_mask, sample_rate, stft_params, params))
                if max_utterances and len(frames) >= max_utterances:
                    return frames
    return frames


# --- Complex spectra (cunet) -------------------------------------------------------------


def compress_spectrum(spec: np.ndarray, compress: float) -> np.ndarray:
    """(freq, frames) complex -> (freq, frames, 2) float32: ``|X|**c`` with X's phase,
    as real and imaginary parts."""
    magnitude = np.abs(spec)
    scale = np.power(np.maximum(magnitude, 1e-12), compress - 1).astype(np.float32)
    scaled = spec * np.where(magnitude > 0, scale, 0)
    return np.stack([scaled.real, scaled.imag], axis=-1).astype(np.float32)


def decompress_spectrum(compressed: np.ndarray, compress: float) -> np.ndarray:
    """The inverse of :func:`compress_spectrum`: complex64 (freq, frames)."""
    spec = compressed[..., 0].astype(np.float64) + 1j * compressed[..., 1]
    magnitude = np.abs(spec)
    scale = np.power(np.maximum(magnitude, 1e-12), 1 / compress - 1)
    return (spec * np.where(magnitude > 0, scale, 0)).astype(np.complex64)


FILLS = ("lpc", "interp", "rnnoise")
# RNNoise carries state from frame to frame (its noise estimate among it): run on an
# excerpt, it starts this long before the samples needed. On real speech in brown noise
# those samples then lie 36 dB (median; 26 at worst) from the whole recording's output,
# 26 dB (20) without the warm-up; 1 s reaches 44 dB (40) at twice the cost.
RNNOISE_WARMUP_MS = 500


def first_fill(
    corrupted: np.ndarray,
    sample_mask: np.ndarray | None,
    sample_rate: int,
    fill: dict | None,
    params: dsp.StftParams | None = None,
    within: tuple[int, int] | None = None,
) -> np.ndarray:
    """The first estimate a complex model starts from: ``fill`` is None (the corrupted
    input as it is), ``{"method": "lpc", "order": ..., "context_ms": ...}`` (LPC
    extrapolation where samples were lost), ``{"method": "interp", "iterations": ...}``
    (log-magnitude interpolation with the phase reconstructed by Griffin-Lim, the
    ``interp.reconstruct`` system; needs ``params``) or ``{"method": "rnnoise",
    "warmup_ms": ...}`` (the RNNoise peer's output, for noise). The dropout fills keep known samples as they are.
    ``within`` (start, end): only the samples there are needed (LPC then fills only the
    spans that reach them, exactly as it fills them in the whole signal; RNNoise runs
    from ``warmup_ms`` before them)."""
    if fill is not None and fill["method"] == "rnnoise":
        return _rnnoise_fill(corrupted, sample_rate, within, fill.get("warmup_ms", RNNOISE_WARMUP_MS))
    if fill is None or sample_mask is None or not sample_mask.any():
        return np.asarray(corrupted, dtype=np.float32)
    if fill["method"] == "lpc":
        return baselines.lpc_fill(corrupted, sample_mask, sample_rate, fill["order"], fill["context_ms"], within)
    if fill["method"] == "interp":
        from .phase import griffin_lim_known

        spec = dsp.stft(corrupted, params)
        missing = baselines.missing_bins(spec.shape[1], params, sample_mask, None)
        magnitude = baselines.interpolate_log_magnitude(np.abs(spec), missing)
        restored = griffin_lim_known(magnitude, ~missing, spec, params, len(corrupted), fill["iterations"])
        filled = dsp.istft(restored, params, len(corrupted))
        return np.where(sample_mask, filled, corrupted).astype(np.float32)
    raise ValueError(f"unknown first fill {fill['method']!r}; known: {FILLS}")


def _rnnoise_fill(
    corrupted: np.ndarray, sample_rate: int, within: tuple[int, int] | None, warmup_ms: float
) -> np.ndarray:
    x = np.asarray(corrupted, dtype=np.float32)
    if within is None:
        return peers.rnnoise(x, sample_rate)
    start = max(0, within[0] - round(warmup_ms * sample_rate / 1000))
    # Its output lags by the runtime's delay: the samples after ``within`` reach it too.
    lookahead = -(-peers.PEERS["rnnoise"].delay * sample_rate // peers.RATE)
    end = min(len(x), max(within[1] + lookahead, 0))
    out = x.copy()
    if end > start:
        out[start:end] = peers.rnnoise(x[start:end], sample_rate)
    return out


@dataclass
class ComplexPatch:
    """A patch of a complex model's example: compressed input and target spectra
    (freq, frames, 2) and the missing bins (freq, frames) or None."""

    x: np.ndarray
    y: np.ndarray
    missing: np.ndarray | None


def complex_patch(
    clean: np.ndarray,
    model_input: np.ndarray,
    missing: np.ndarray | None,
    first: int,
    count: int,
    params: dsp.StftParams,
    compress: float,
) -> ComplexPatch:
    """Frames ``first`` to ``first + count`` of an example; frames past the end are silence."""
    x = compress_spectrum(dsp.stft_frames(model_input, params, first, count), compress)
    y = compress_spectrum(dsp.stft_frames(clean, params, first, count), compress)
    patch_missing = None
    if missing is not None:
        patch_missing = np.zeros((params.n_freq, count), dtype=np.float32)
        inside = missing[:, first : first + count]
        patch_missing[:, : inside.shape[1]] = inside
    return ComplexPatch(x, y, patch_missing)


def stack_complex(patches: list[ComplexPatch], with_mask: bool):
    """``((spectrum, missing) or (spectrum,), target)``: (batch, freq, frames, 2), the
    mask (batch, freq, frames, 1)."""
    x = np.stack([p.x for p in patches])
    y = np.stack([p.y for p in patches])
    if not with_mask:
        return (x,), y
    missing = np.zeros(x.shape[:-1] + (1,), dtype=np.float32)
    for row, patch in enumerate(patches):
        if patch.missing is not None:
            missing[row, :, :, 0] = patch.missing
    return (x, missing), y


class FreshComplexDataset(FreshPatchDataset):
    """:class:`FreshPatchDataset`'s rows (the same excerpts, corruptions and patch
    places) as complex patches, the model input first filled by :func:`first_fill`."""

    def __init__(
        self,
        source: FreshCorruption,
        fill: dict | None,
        compress: float,
        patch_frames: int,
        batch_size: int,
        steps: int,
        seed: int,
        with_mask: bool,
        **kwargs,
    ):
        super().__init__(source, None, "clean", patch_frames, batch_size, steps, seed, with_mask, **kwargs)
        self.fill, self.compress = fill, compress

    def make_batch(self, epoch: int, step: int):
        source = self.source
        patches = []
        for row in self.rows(epoch, step):
            params = source.stft
            # Only the samples under the patch's frames reach the model.
            start = row.first_frame * params.hop - params.n_fft // 2
            within = (start, start + (self.patch_frames - 1) * params.hop + params.n_fft)
            model_input = first_fill(
                row.corrupted.audio, row.corrupted.sample_mask, source.sample_rate, self.fill, params, within
            )
            patches.append(
                complex_patch(
                    row.clean, model_input, row.missing, row.first_frame, self.patch_frames, source.stft, self.compress
                )
            )
        return stack_complex(patches, self.with_mask)


@dataclass
class WaveformItem:
    """A corrupted utterance of the corrupt stage, as waveforms: clean, corrupted, masks."""

    id: str
    clean: np.ndarray
    corrupted: np.ndarray
    sample_mask: np.ndarray | None
    tf_mask: np.ndarray | None


def load_waveform_items(
    clean_archives: list[str],
    corrupt_archives: list[str],
    corrupt_tables: list[str],
    splits: set[str],
    max_utterances: int | None = None,
) -> list[WaveformItem]:
    """The corrupted utterances of ``splits`` with their clean audio, shard by shard, in id order."""
    items = []
    for clean_path, archive_path, table_path in zip(clean_archives, corrupt_archives, corrupt_tables):
        table = pd.read_parquet(table_path)
        with ArrayFile(clean_path) as clean, ArrayFile(archive_path) as corrupt:
            for utt_id in sorted(table.loc[table["split"].isin(splits), "id"]):
                items.append(
                    WaveformItem(
                        utt_id,
                        clean.get("audio", utt_id).astype(np.float32),
                        corrupt.get("audio", utt_id).astype(np.float32),
                        corrupt.get("mask", utt_id) if corrupt.has("mask", utt_id) else None,
                        corrupt.get("tfmask", utt_id) if corrupt.has("tfmask", utt_id) else None,
                    )
                )
                if max_utterances and len(items) >= max_utterances:
                    return items
    return items


class ComplexPatchDataset(EndlessDataset):
    """Complex patches of fixed corrupted utterances (the valid split; the training data
    where no fresh corruption can be made), placed by :func:`patch_start`."""

    def __init__(
        self,
        items: list[WaveformItem],
        sample_rate: int,
        params: dsp.StftParams,
        fill: dict | None,
        compress: float,
        patch_frames: int,
        batch_size: int,
        steps: int,
        seed: int,
        with_mask: bool,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not items:
            raise ValueError("no utterances")
        self.items, self.params, self.compress = items, params, compress
        self.patch_frames, self.batch_size, self.steps = patch_frames, batch_size, steps
        self.seed, self.with_mask = seed, with_mask
        self.inputs = [first_fill(i.corrupted, i.sample_mask, sample_rate, fill, params) for i in items]
        self.missing = [
            None
            if i.sample_mask is None and i.tf_mask is None
            else baselines.missing_bins(params.n_frames(len(i.clean)), params, i.sample_mask, i.tf_mask)
            for i in items
        ]
        lengths = np.array([len(i.clean) for i in items], dtype=float)
        self.weights = lengths / lengths.sum()

    def arrays(self):
        for item in self.items:
            yield from (a for a in (item.clean, item.corrupted, item.sample_mask, item.tf_mask) if a is not None)

    def make_batch(self, epoch: int, step: int):
        rng = np.random.default_rng([self.seed, epoch, step])
        patches = []
        for _ in range(self.batch_size):
            index = int(rng.choice(len(self.items), p=self.weights))
            missing = self.missing[index]
            frames = np.flatnonzero(missing.any(axis=0)) if missing is not None else np.array([], int)
            n_frames = self.params.n_frames(len(self.items[index].clean))
            first = patch_start(rng, frames, 0, n_frames, self.patch_frames, True)
            patches.append(
                complex_patch(
                    self.items[index].clean,
                    self.inputs[index],
                    missing,
                    first,
                    self.patch_frames,
                    self.params,
                    self.compress,
                )
            )
        return stack_complex(patches, self.with_mask)
