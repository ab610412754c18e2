"""Throughput of the data stages on real speech, one core.

Runs manifest -> resample -> STFT cache -> corrupt (every default task) on
../shared/data/realmini with the library functions the pipeline's jobs call, in this
one process with every math library held to one thread, and prints seconds of audio
processed per CPU second ("x real time per core") for each stage, files written
included. Target: resample + STFT caching at least 200x real time per core.

    python benchmarks/data_stages.py [--corpus DIR] [--config config.yaml]
"""

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from specrestore.config import task_corruptions
from specrestore.corruption import NoiseBank, Task, corrupt_shard
from specrestore.dsp import StftParams
from specrestore.features import prepare_shard, stft_shard
from specrestore.manifest import prepare_manifest
from specrestore.noise import build_bank, collect_babble_talkers
from specrestore.store import ArrayFile, ArrayWriter

TARGET = 200.0


class Clock:
    def __init__(self):
        self.rows = []

    def measure(self, stage, audio_seconds_fn, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        audio_s = audio_seconds_fn(result)
        self.rows.append(
            {"stage": stage, "audio_s": audio_s, "wall_s": wall, "cpu_s": cpu, "x_realtime_per_core": audio_s / cpu}
        )
        return result


def filled_config(path):
    from snakemake.utils import validate

    with open(path) as handle:
        config = yaml.safe_load(handle)
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "realmini"))
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args()
    if not Path(args.corpus).is_dir():
        sys.exit(f"corpus folder {args.corpus} not found (realmini lives in ../shared/data beside the repository)")
    config = filled_config(args.config)
    sample_rate, stft = config["sample_rate"], config["stft"]
    params = StftParams.from_config(stft)
    clock = Clock()
    work = Path(tempfile.mkdtemp(prefix="specrestore-bench-"))

    manifest, _ = clock.measure(
        "manifest (headers)",
        lambda r: r[0]["duration_s"].sum(),
        lambda: prepare_manifest(
            args.corpus,
            {"extensions": ["wav", "flac", "ogg"]},
            config["preprocess"],
            config["splits"],
            config["seed"],
            args.shards,
        ),
    )

    def resample_all():
        tables = []
        for shard, rows in manifest.groupby("shard"):
            with ArrayWriter(work / f"audio-{shard}.npz", {"sample_rate": sample_rate}) as arrays:
                _, table, _ = prepare_shard(rows, sample_rate, config["preprocess"]["level_dbfs"], arrays)
            tables.append(table)
        return pd.concat(tables, ignore_index=True)

    utterances = clock.measure(
        "resample (decode, mono, resample, level, write)", lambda t: t["duration_s"].sum(), resample_all
    )

    def stft_all():
        for shard, table in utterances.groupby("shard"):
            with ArrayFile(work / f"audio-{shard}.npz") as audio, ArrayWriter(work / f"stft-{shard}.npz", stft) as out:
                stft_shard(audio, table, params, stft["magnitude_dtype"], out)
        return utterances

    clock.measure("stft cache (magnitude + phase, write)", lambda t: t["duration_s"].sum(), stft_all)

    def bank():
        options = config["noise_sources"]["synthetic"]
        files = {shard: str(work / f"audio-{shard}.npz") for shard in utterances["shard"].unique()}
        talkers = collect_babble_talkers(utterances, files, config["seed"])
        recordings = build_bank(
            ["train", "valid", "test"],
            options["kinds"],
            options["recordings_per_kind"],
            options["duration_s"],
            sample_rate,
            config["seed"],
            talkers,
            tuple(options["babble_talkers"]),
        )
        table = pd.DataFrame([{"id": r.id, "kind": r.kind, "split": r.split} for r in recordings])
        return NoiseBank({r.id: r.audio for r in recordings}, table)

    noise_bank = clock.measure("noise bank", lambda b: sum(len(a) for a in b.recordings.values()) / sample_rate, bank)

    for name, spec in copy.deepcopy(task_corruptions(config)).items():
        task = Task.from_config(name, spec)

        def corrupt_all(task=task, name=name):
            for shard, table in utterances.groupby("shard"):
                path = work / f"corrupt-{name}-{shard}.npz"
                with ArrayFile(work / f"audio-{shard}.npz") as audio, ArrayWriter(path) as out:
                    corrupt_shard(audio, table, task, params, sample_rate, config["seed"], noise_bank, False, out)
            return utterances

        clock.measure(f"corrupt {name} ({'+'.join(task.corruptions)})", lambda t: t["duration_s"].sum(), corrupt_all)

    report = pd.DataFrame(clock.rows)
    prep = report.iloc[1:3]
    combined = prep["audio_s"].iloc[0] / prep["cpu_s"].sum()
    print(
        f"corpus: {args.corpus} ({len(manifest)} files, {manifest['duration_s'].sum() / 60:.1f} min); "
        f"{sample_rate} Hz, n_fft {stft['n_fft']}, hop {stft['hop']}, {stft['magnitude_dtype']}; one core"
    )
    print(report.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    verdict = "meets" if combined >= TARGET else "MISSES"
    print(f"\nresample + STFT caching: {combined:.0f}x real time per core ({verdict} the {TARGET:.0f}x target)")
    for path in work.iterdir():
        path.unlink()
    work.rmdir()


if __name__ == "__main__":
    main()
