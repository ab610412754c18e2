"""Training data: pairs of corrupted and clean spectrograms (or MFCC frames) of one
task, and Keras datasets that cut them into batches.

Clean magnitudes come from the STFT cache; corrupted magnitudes are the STFT of the
corrupted waveforms of the corrupt stage, and the masks come with them. Everything is
put in network units (see :mod:`specrestore.normalization`) once, at load time, and held
as float16. Patches are drawn from a generator seeded by (seed, epoch, batch), so a run
sees the same batches every time.

The training datasets are endless: batch ``i`` of a run is batch ``i % steps`` of
epoch ``i // steps``, and ``fit`` cuts epochs with ``steps_per_epoch``. What a batch
holds therefore depends on its index alone, never on when Keras calls an epoch
callback: Keras starts reading the next epoch before it ends the current one, so an
epoch counter moved by ``on_epoch_end`` would race with the prefetching. With the
TensorFlow backend, ``tf.data`` prefetches the batches in a thread of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from . import baselines, dsp
from .normalization import EPSILON, Normalization, fit_normalization
from .store import ArrayFile

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


class PatchDataset(keras.utils.PyDataset):
    """Batches of (frequency x ``patch_frames``) patches: inputs are
    ``[corrupted, missing]`` (or ``[corrupted]`` without a mask), each
    (batch, freq, frames, 1), targets (batch, freq, frames, 1).

    Where the missing frames are few (dropouts), three patches in four are centred on
    a missing frame, as seed 3 trained with the gap in the middle of the patch."""

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
        self.first_batch = 0
        lengths = np.array([a.x.shape[1] for a in self.arrays], dtype=float)
        self.weights = lengths / lengths.sum()
        self.missing_frames = [
            np.flatnonzero(a.missing.any(axis=0)) if a.missing is not None else np.array([], int) for a in self.arrays
        ]

    num_batches = None  # endless (see the module's docstring)

    def start_at_epoch(self, epoch: int) -> None:
        """Make index 0 the first batch of ``epoch`` (a resumed run); call before ``fit``."""
        self.first_batch = epoch * self.steps

    def batch(self, rng: np.random.Generator):
        n_freq = self.arrays[0].x.shape[0]
        x = np.empty((self.batch_size, n_freq, self.patch_frames, 1), np.float32)
        y = np.empty_like(x)
        missing = np.zeros_like(x) if self.with_mask else None
        for row in range(self.batch_size):
            index = int(rng.choice(len(self.arrays), p=self.weights))
            item, frames = self.arrays[index], self.missing_frames[index]
            length = item.x.shape[1]
            sparse = 0 < len(frames) < 0.5 * length
            if self.focus and sparse and rng.uniform() < 0.75:
                centre = int(frames[rng.integers(len(frames))]) + int(
                    rng.integers(-self.patch_frames // 4, self.patch_frames // 4 + 1)
                )
                start = int(np.clip(centre - self.patch_frames // 2, 0, length - self.patch_frames))
            else:
                start = int(rng.integers(0, length - self.patch_frames + 1))
            window = slice(start, start + self.patch_frames)
            x[row, :, :, 0] = item.x[:, window]
            y[row, :, :, 0] = item.y[:, window]
            if missing is not None and item.missing is not None:
                missing[row, :, :, 0] = item.missing[:, window]
        return ((x, missing) if self.with_mask else (x,)), y

    def __getitem__(self, index):
        epoch, step = divmod(self.first_batch + index, self.steps)
        return self.batch(np.random.default_rng([self.seed, epoch, step]))

    def fixed(self, n_batches: int):
        """A deterministic set of batches as one (inputs, target) pair, for validation."""
        batches = [self.batch(np.random.default_rng([self.seed, 99991, i])) for i in range(n_batches)]
        inputs = tuple(np.concatenate([b[0][k] for b in batches]) for k in range(len(batches[0][0])))
        return inputs, np.concatenate([b[1] for b in batches])


def _pad_to(arrays: Arrays, frames: int) -> Arrays:
    short = frames - arrays.x.shape[1]
    if short <= 0:
        return arrays
    silence = float(arrays.x.min())

    def pad(a, value):
        return None if a is None else np.pad(a, ((0, 0), (0, short)), constant_values=value)

    return Arrays(pad(arrays.x, silence), pad(arrays.y, float(arrays.y.min())), pad(arrays.missing, 0))


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


class FrameDataset(keras.utils.PyDataset):
    """Random batches of MFCC frames: inputs ``[mfcc, missing]``, target clean mfcc."""

    def __init__(self, frames: list[MfccFrames], batch_size: int, steps: int, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.x = np.concatenate([f.x for f in frames])
        self.y = np.concatenate([f.y for f in frames])
        self.missing = np.concatenate([f.missing for f in frames])
        self.batch_size, self.steps, self.seed, self.first_batch = batch_size, steps, seed, 0

    num_batches = None  # endless, like PatchDataset

    def start_at_epoch(self, epoch: int) -> None:
        self.first_batch = epoch * self.steps

    def __getitem__(self, index):
        epoch, step = divmod(self.first_batch + index, self.steps)
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
