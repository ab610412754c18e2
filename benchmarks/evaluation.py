"""Evaluation throughput and how the evaluate stage scales with cores.

Part 1 (one core, in this process): real speech from ../shared/data/realmini, corrupted
with noise and gaps together so that every metric applies, scored with every metric;
prints seconds of audio scored per CPU second and each metric's share of the time.

Part 2 (``--scaling``): runs the default pipeline in a scratch directory (or reuses
``--workdir``), then reruns only its evaluate jobs with ``--cores 1`` and ``--cores 2``
and prints both wall-clock times and their ratio.

    python benchmarks/evaluation.py [--files 40] [--scaling] [--workdir DIR]
"""

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from specrestore import dsp, metrics
from specrestore.audio import find_audio_files, read_audio
from specrestore.corruption import GapParams, NoiseBank, NoiseParams, Task, corrupt
from specrestore.noise import build_bank

SR = 16000
PARAMS = dsp.StftParams(512, 128)


def throughput(corpus: Path, n_files: int) -> None:
    files = find_audio_files(corpus)[::7][:n_files]
    speech = []
    for path in files:
        data, rate = read_audio(path)
        speech.append(dsp.normalise_level(dsp.resample(dsp.to_mono(data), rate, SR), SR, -26)[0])
    recordings = build_bank(["test"], ["white", "pink", "hum", "bursts"], 1, 10.0, SR, 1, {})
    bank = NoiseBank(
        {r.id: r.audio for r in recordings},
        pd.DataFrame([{"id": r.id, "kind": r.kind, "split": r.split} for r in recordings]),
    )
    task = Task("noise_gap", noise=NoiseParams(snr_db=(5.0, 15.0)), gap=GapParams(per_second=1.0))
    chosen = metrics.metrics_for(task.corruptions)
    scorer = metrics.NonIntrusive(threads=1)
    scorer.plcmos(speech[0][:SR], SR, "warm-up")  # sessions are built once per job
    scorer.dnsmos(speech[0][:SR], SR)
    timings: dict[str, float] = {}
    seconds = 0.0
    cpu = time.process_time()
    for index, x in enumerate(speech):
        result = corrupt(x, SR, task, PARAMS, 1, f"u{index}", "test", bank)
        degraded = result.audio / max(1.0, float(abs(result.audio).max()))
        metrics.evaluate(x, degraded, SR, PARAMS, chosen, result.sample_mask, None, f"u{index}", scorer, timings)
        seconds += len(x) / SR
    cpu = time.process_time() - cpu
    total = sum(timings.values())
    print(f"{len(speech)} recordings, {seconds / 60:.1f} min of audio, every metric ({len(chosen)}), one core")
    print(f"throughput: {seconds / cpu:.1f} s of audio per CPU second\n")
    report = pd.DataFrame({"seconds": timings}).assign(share=lambda d: d["seconds"] / total)
    print(report.sort_values("seconds", ascending=False).to_string(float_format=lambda v: f"{v:.3f}"))


def scaling(workdir: Path | None) -> None:
    scratch = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="specrestore-scaling-"))
    snakemake = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--quiet",
    ]
    if not (workdir / "config.yaml").exists():
        shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
    subprocess.run([*snakemake, "--cores", "2"], check=True)
    times = {}
    for cores in (1, 2):
        started = time.perf_counter()
        subprocess.run([*snakemake, "--cores", str(cores), "--forcerun", "evaluate", "--until", "evaluate"], check=True)
        times[cores] = time.perf_counter() - started
    ratio = times[2] / times[1]
    print(f"evaluate stage of the default run: 1 core {times[1]:.1f} s, 2 cores {times[2]:.1f} s, ratio {ratio:.2f}")
    if scratch:
        shutil.rmtree(workdir)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "realmini"))
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--scaling", action="store_true", help="also time the evaluate stage with 1 and 2 cores")
    parser.add_argument("--workdir", type=Path, help="a directory holding a finished default run to reuse")
    args = parser.parse_args()
    if Path(args.corpus).is_dir():
        throughput(Path(args.corpus), args.files)
    else:
        print(f"skipping throughput: {args.corpus} not found")
    if args.scaling:
        scaling(args.workdir)


if __name__ == "__main__":
    main()
