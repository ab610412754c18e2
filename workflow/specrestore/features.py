"""Per-shard audio preparation and the STFT cache.

``prepare_shard`` decodes each recording of a shard, mixes it down to mono, resamples
it and brings it to the target level; a recording that cannot be used is listed with
its reason and the shard goes on. ``stft_shard`` caches magnitude and phase of every
prepared utterance.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

import numpy as np
import pandas as pd

from . import dsp
from .audio import AudioError, read_audio
from .manifest import REJECTED_COLUMNS
from .store import ArrayFile

log = logging.getLogger(__name__)

SHARD_COLUMNS = [
    "id",
    "speaker",
    "split",
    "shard",
    "n_samples",
    "duration_s",
    "source_path",
    "source_rate",
    "source_channels",
    "gain_db",
]


def prepare_shard(
    manifest: pd.DataFrame, sample_rate: int, level_dbfs: float, arrays: MutableMapping | None = None
) -> tuple[MutableMapping, pd.DataFrame, pd.DataFrame]:
    """The arrays of one shard's manifest rows: ``audio/<id>`` (float32 mono at
    ``sample_rate``) and, for paired corpora (``noisy_path`` in the manifest),
    ``noisy/<id>`` (same gain, so their SNR is kept); the per-utterance table; and the
    rejected recordings. ``arrays``: where each array goes as soon as it is made (an
    :class:`~specrestore.store.ArrayWriter` holds none in memory); a dict by default."""
    arrays = {} if arrays is None else arrays
    rows, rejected = [], []
    paired = "noisy_path" in manifest.columns
    for row in manifest.sort_values("id").itertuples(index=False):
        try:
            data, rate = read_audio(row.path)
            mono = dsp.resample(dsp.to_mono(data), rate, sample_rate)
            if not np.any(mono):
                raise AudioError(row.path, "silent after mixing the channels down to mono")
            signal, gain_db = dsp.normalise_level(mono, sample_rate, level_dbfs)
            if paired:
                noisy_signal = _noisy_partner(row.noisy_path, len(data), rate, sample_rate, gain_db)
        except AudioError as err:
            log.warning("rejected %s", err)
            rejected.append({"path": row.path, "id": row.id, "stage": "resample", "reason": err.reason})
            continue
        except Exception as err:  # one bad recording must not take the shard down
            log.exception("rejected %s: unexpected error", row.path)
            rejected.append(
                {"path": row.path, "id": row.id, "stage": "resample", "reason": f"conversion failed: {err!r}"}
            )
            continue
        arrays[f"audio/{row.id}"] = signal
        if paired:
            arrays[f"noisy/{row.id}"] = noisy_signal
        rows.append(
            {
                "id": row.id,
                "speaker": row.speaker,
                "split": row.split,
                "shard": row.shard,
                "n_samples": len(signal),
                "duration_s": len(signal) / sample_rate,
                "source_path": row.path,
                "source_rate": rate,
                "source_channels": data.shape[1],
                "gain_db": gain_db,
            }
        )
    table = pd.DataFrame(rows, columns=SHARD_COLUMNS)
    return arrays, table, pd.DataFrame(rejected, columns=REJECTED_COLUMNS)


def _noisy_partner(path: str, clean_frames: int, clean_rate: int, sample_rate: int, gain_db: float) -> np.ndarray:
    """A clean recording's noisy copy, converted like it and scaled by the clean one's gain."""
    try:
        data, rate = read_audio(path)
    except AudioError as err:
        raise AudioError(path, f"noisy partner: {err.reason}") from None
    if (len(data), rate) != (clean_frames, clean_rate):
        raise AudioError(path, f"noisy partner has {len(data)} samples at {rate} Hz, the clean one {clean_frames}")
    mono = dsp.resample(dsp.to_mono(data), rate, sample_rate)
    return (mono * 10 ** (gain_db / 20)).astype(np.float32)


def stft_shard(
    audio: ArrayFile,
    table: pd.DataFrame,
    params: dsp.StftParams,
    dtype: str = "float32",
    arrays: MutableMapping | None = None,
) -> tuple[MutableMapping, pd.DataFrame]:
    """``mag/<id>`` and ``phase/<id>`` arrays, (n_freq, n_frames) each, put into
    ``arrays`` as they are made (a dict by default), and a table of the utterances with
    their frame counts."""
    arrays = {} if arrays is None else arrays
    rows = []
    for row in table.itertuples(index=False):
        spec = dsp.stft(audio.get("audio", row.id), params)
        arrays[f"mag/{row.id}"] = np.abs(spec).astype(dtype, copy=False)
        arrays[f"phase/{row.id}"] = np.angle(spec).astype(dtype, copy=False)
        rows.append({"id": row.id, "split": row.split, "n_samples": row.n_samples, "n_frames": spec.shape[1]})
    return arrays, pd.DataFrame(rows, columns=["id", "split", "n_samples", "n_frames"])
