"""The restore stage for one shard: each test utterance restored by one system and
written as 24-bit FLAC, one file per utterance, the same length as the input, so that it
can be listened to. Kept apart from the metrics so that restore jobs (and their conda
envs) do not need the metric packages.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from .restoration import Utterance, parse_system
from .store import ArrayFile

log = logging.getLogger(__name__)


def corrupted_utterance(corrupt: ArrayFile, utt_id: str, clean: np.ndarray | None = None) -> Utterance:
    return Utterance(
        id=utt_id,
        corrupted=corrupt.get("audio", utt_id),
        sample_mask=corrupt.get("mask", utt_id) if corrupt.has("mask", utt_id) else None,
        tf_mask=corrupt.get("tfmask", utt_id) if corrupt.has("tfmask", utt_id) else None,
        clean=clean,
    )


def restore_shard(
    restore_one,
    system: str,
    test_ids: list[str],
    clean: ArrayFile,
    corrupt: ArrayFile,
    sample_rate: int,
    out_dir: str | Path,
) -> pd.DataFrame:
    """Restore the given utterances of a shard with ``restore_one`` (an
    :class:`Utterance` to a waveform) and write ``<out_dir>/<id>.flac``. Only an oracle
    phase system is given the clean signal."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _, mode = parse_system(system)
    rows = []
    for utt_id in sorted(test_ids):
        utterance = corrupted_utterance(corrupt, utt_id, clean.get("audio", utt_id) if mode == "oracle" else None)
        started = time.perf_counter()
        restored = restore_one(utterance)
        seconds = time.perf_counter() - started
        rows.append(write_restored(out_dir, utt_id, restored, len(utterance.corrupted), sample_rate, seconds))
    return pd.DataFrame(rows, columns=["id", "n_samples", "peak", "clipped_samples", "seconds"])


def restore_test_split(
    restore_one, system: str, table_path, clean_path, corrupt_path, sample_rate: int, out_dir
) -> pd.DataFrame:
    """:func:`restore_shard` over the test utterances of one shard's files."""
    table = pd.read_parquet(table_path)
    test_ids = table.loc[table["split"] == "test", "id"].tolist()
    with ArrayFile(clean_path) as clean, ArrayFile(corrupt_path) as corrupt:
        restored = restore_shard(restore_one, system, test_ids, clean, corrupt, sample_rate, out_dir)
    log.info("%s: restored %d test utterances in %.2f s", system, len(restored), restored["seconds"].sum())
    return restored


def write_restored(
    out_dir: Path, utt_id: str, restored: np.ndarray, length: int, sample_rate: int, seconds: float
) -> dict:
    if len(restored) != length:
        raise ValueError(f"{utt_id}: restored {len(restored)} samples from an input of {length}")
    if not np.all(np.isfinite(restored)):
        raise ValueError(f"{utt_id}: restoration produced NaN or infinite samples")
    clipped = int(np.count_nonzero(np.abs(restored) > 1))
    if clipped:
        log.warning("%s: %d samples beyond full scale are clipped in the FLAC", utt_id, clipped)
    sf.write(out_dir / f"{utt_id}.flac", np.clip(restored, -1, 1), sample_rate, subtype="PCM_24")
    return {
        "id": utt_id,
        "n_samples": length,
        "peak": float(np.max(np.abs(restored))),
        "clipped_samples": clipped,
        "seconds": seconds,
    }
