"""The evaluate stage for one shard (every metric of every restored test utterance),
and the choice of example utterances. The metrics are computed from exactly the FLAC
files that :mod:`specrestore.restored` wrote.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import soundfile as sf

from . import dsp, metrics
from .restored import corrupted_utterance
from .seeding import stable_hash
from .store import ArrayFile

log = logging.getLogger(__name__)

# Columns of the corruption table carried into the metric tables, for analyses by
# difficulty (SNR, lost fraction, band fraction).
CORRUPTION_COLUMNS = ("snr_db", "noise_kind", "lost_fraction", "n_dropouts", "band_fraction")


def evaluate_shard(
    task: str,
    system: str,
    restored_dir: str | Path,
    restored: pd.DataFrame,
    clean: ArrayFile,
    corrupt: ArrayFile,
    corruption_table: pd.DataFrame,
    corruptions: list[str],
    sample_rate: int,
    params: dsp.StftParams,
    threads: int = 1,
    dnsmos_window_hop_s: int = 1,
    network_parts: str | None = None,
) -> pd.DataFrame:
    """Every metric the task is scored with, per restored utterance. ``network_parts``:
    the folder of the non-intrusive networks' parts (see :class:`metrics.NonIntrusive`)."""
    chosen = metrics.metrics_for(corruptions)
    scorer = metrics.NonIntrusive(threads, dnsmos_window_hop_s, network_parts)
    info = corruption_table.set_index("id")
    rows = []
    for utt_id in restored["id"]:
        reference = clean.get("audio", utt_id)
        degraded, rate = sf.read(Path(restored_dir) / f"{utt_id}.flac", dtype="float32")
        if rate != sample_rate:
            raise ValueError(f"{restored_dir}/{utt_id}.flac: {rate} Hz, expected {sample_rate}")
        masks = corrupted_utterance(corrupt, utt_id)
        scores = metrics.evaluate(
            reference, degraded, sample_rate, params, chosen, masks.sample_mask, masks.tf_mask, utt_id, scorer
        )
        extra = {c: info.at[utt_id, c] for c in CORRUPTION_COLUMNS if c in info.columns}
        rows.append(
            {
                "task": task,
                "system": system,
                "id": utt_id,
                "duration_s": len(reference) / sample_rate,
                **extra,
                **scores,
            }
        )
    columns = ["task", "system", "id", "duration_s", *[c for c in CORRUPTION_COLUMNS if c in info.columns]]
    columns += [name for metric in chosen for name in (metric, f"{metric}_missing")]
    return pd.DataFrame(rows).reindex(columns=columns)


def choose_examples(test_ids: list[str], seed: int, count: int) -> list[str]:
    """A fixed handful of test utterances for figures and listening."""
    return sorted(test_ids, key=lambda i: stable_hash(seed, "example", i))[:count]


def load_examples(
    utterances: pd.DataFrame, clean_shards: list[str], restored_root: Path, systems: list[str], seed: int, count: int
) -> list[dict]:
    """The example test utterances (figure and listening page share them): per
    utterance ``id``, ``target`` (clean) and each system's restored waveform."""
    test = utterances[utterances["split"] == "test"]
    shard_of = dict(zip(test["id"], test["shard"]))
    examples = []
    for utt_id in choose_examples(test["id"].tolist(), seed, count):
        with ArrayFile(clean_shards[shard_of[utt_id]]) as clean:
            example = {"id": utt_id, "target": clean.get("audio", utt_id)}
        for system in systems:
            flac = Path(restored_root) / system / f"{shard_of[utt_id]:03d}" / f"{utt_id}.flac"
            example[system], _ = sf.read(flac, dtype="float32")
        examples.append(example)
    return examples
