"""Evaluation throughput and how the evaluate stage scales with cores.

Part 1 (one core, in this process): real speech from ../shared/data/realmini, corrupted
by each task of config.yaml with its own settings and scored with every metric of that
task, as the evaluate stage scores a system; prints, per task, seconds of audio scored
per CPU second and each metric's share of the time; and, with the reference DNSMOS,
the most the noise task could reach on this core if only the frames that DNSMOS's
windows must see were run (each once, the windows' edges free).

Part 2 (``--scaling``): runs the default pipeline in a scratch directory (or reuses
``--workdir``), then reruns only its evaluate jobs with ``--cores 1`` and ``--cores 2``
and prints both wall-clock times, the sum of the jobs' own wall times, and the ratio.

Part 3 (``--peers``): the real-time factor of the peer denoisers (DeepFilterNet3,
RNNoise) on one core, on the same recordings at 16 kHz, one utterance at a time as the
pipeline runs them: resampling to 48 kHz and back and a fresh state per utterance
included.

Part 4 (``--peers-quality``): the noise task of presets/realmini.yaml on its test split
(the pipeline's split, level, noise bank and seeded choice of noise recording and
segment), each utterance at 0, 5 and 10 dB, restored by spectral gating and the two
peers; prints PESQ and DNSMOS OVRL per system, overall and per SNR.

Part 5 (``--dnsmos-hop-effect RESULTS``): what a DNSMOS window hop above the reference
1 s (``evaluation.dnsmos_window_hop_s``) changes, on a finished run's restored noise-task
test audio (e.g. ``results/realmini``): every system's files scored both ways, the
per-utterance differences, each system's mean, and the CPU time of each.

``--dnsmos-window-hop-s N`` scores part 1 with that hop instead of the reference.

    python benchmarks/evaluation.py [--files 40] [--scaling] [--workdir DIR] [--peers] [--peers-quality]
        [--no-metrics] [--dnsmos-window-hop-s N] [--dnsmos-hop-effect RESULTS [--task noise]]
"""

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from specrestore import baselines, dsp, metrics, peers
from specrestore.audio import find_audio_files, read_audio
from specrestore.config import CORRUPTION_KEYS
from specrestore.corruption import NoiseBank, NoiseParams, Task, corrupt
from specrestore.features import prepare_shard
from specrestore.manifest import build_manifest, scan_folder
from specrestore.noise import KINDS, build_bank, collect_babble_talkers
from specrestore.store import write_arrays

SR = 16000
PARAMS = dsp.StftParams(512, 128)


def load_speech(corpus: Path, n_files: int) -> list:
    speech = []
    for path in find_audio_files(corpus)[::7][:n_files]:
        data, rate = read_audio(path)
        speech.append(dsp.normalise_level(dsp.resample(dsp.to_mono(data), rate, SR), SR, -26)[0])
    return speech


def config_tasks() -> list[Task]:
    """The tasks of the default config.yaml, with their own corruption settings."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    specs = [{k: v for k, v in task.items() if k in CORRUPTION_KEYS} for task in config["tasks"]]
    return [Task.from_config(task["name"], spec) for task, spec in zip(config["tasks"], specs)]


def throughput(corpus: Path, n_files: int, dnsmos_window_hop_s: int = 1) -> None:
    """Per task: seconds of audio scored per CPU second with every metric of the task,
    and each metric's share, scoring the corrupted input as the evaluate stage scores a
    system (peak resident memory of this process is printed at the end)."""
    speech = load_speech(corpus, n_files)
    seconds = sum(len(x) for x in speech) / SR
    recordings = build_bank(["test"], ["white", "pink", "hum", "bursts"], 1, 10.0, SR, 1, {})
    bank = NoiseBank(
        {r.id: r.audio for r in recordings},
        pd.DataFrame([{"id": r.id, "kind": r.kind, "split": r.split} for r in recordings]),
    )
    scorer = metrics.NonIntrusive(threads=1, dnsmos_window_hop_s=dnsmos_window_hop_s)
    scorer.plcmos(speech[0][:SR], SR, "warm-up")  # sessions are made once per job
    scorer.dnsmos(speech[0][:SR], SR)
    print(f"{len(speech)} recordings, {seconds / 60:.1f} min of audio, one core, every metric of each task")
    if dnsmos_window_hop_s != 1:
        print(f"DNSMOS windows every {dnsmos_window_hop_s} s (not the reference procedure)")
    summary, shares, other_metrics_s = {}, {}, None
    for task in config_tasks():
        chosen = metrics.metrics_for(task.corruptions)
        cases = []
        for index, x in enumerate(speech):
            result = corrupt(x, SR, task, PARAMS, 1, f"u{index}", "test", bank)
            degraded = result.audio / max(1.0, float(abs(result.audio).max()))
            cases.append((x, degraded.astype(np.float32), result.sample_mask, result.tf_mask, f"u{index}"))
        timings: dict[str, float] = {}
        cpu = time.process_time()
        for x, degraded, sample_mask, tf_mask, utt_id in cases:
            metrics.evaluate(x, degraded, SR, PARAMS, chosen, sample_mask, tf_mask, utt_id, scorer, timings)
        cpu = time.process_time() - cpu
        summary[task.name] = {"metrics": len(chosen), "CPU s": cpu, "x real time": seconds / cpu}
        total = sum(timings.values())
        shares[task.name] = {metric: timings[metric] / total for metric in chosen if metric in timings}
        dnsmos = sum(t for metric, t in timings.items() if metric.startswith("dnsmos"))
        if dnsmos:
            other_metrics_s = cpu * (1 - dnsmos / total)
    print(pd.DataFrame(summary).T.to_string(float_format=lambda v: f"{v:.1f}"))
    print("\nshare of each task's time per metric (STOI's entry holds the work it shares with ESTOI)")
    print(pd.DataFrame(shares).fillna(0).to_string(float_format=lambda v: f"{100 * v:.1f} %"))
    if dnsmos_window_hop_s == 1 and other_metrics_s is not None:
        dnsmos_ceiling(speech, seconds, other_metrics_s)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak:.0f} MB")


class _CountingSession:
    """An ONNX Runtime session that counts the frames it is given and its CPU time."""

    def __init__(self, session, frames_axis: int):
        self.session, self.frames_axis, self.frames, self.cpu = session, frames_axis, 0, 0.0

    def run(self, outputs, feed):
        (value,) = feed.values()
        self.frames += value.shape[self.frames_axis]
        started = time.process_time()
        result = self.session.run(outputs, feed)
        self.cpu += time.process_time() - started
        return result


def dnsmos_ceiling(speech: list, seconds: float, other_metrics_s: float) -> None:
    """How fast the noise task could be with DNSMOS's reference procedure: the frames
    its front convolutions must see (the doubled clips' frames that some window covers,
    once each), at the rate this core runs them, plus the back ends and the other
    metrics, with the windows' edge frames counted as free."""
    from specrestore import nonintrusive

    scorer = metrics.NonIntrusive(threads=1)
    front, back = (_CountingSession(part, axis) for part, axis in zip(scorer._dnsmos_parts(), (1, 2)))
    scorer._dnsmos = front, back
    for x in speech:
        scorer.dnsmos(x, SR)
    interiors = 0
    for x in speech:
        bounds = nonintrusive.window_bounds(len(nonintrusive.doubled_to_window(x)))
        interiors += (bounds[-1][1] - nonintrusive.DNSMOS_FRAME) // nonintrusive.DNSMOS_HOP + 1
    rate = front.frames / front.cpu
    ceiling = seconds / (interiors / rate + back.cpu + other_metrics_s)
    print(
        f"\nDNSMOS front convolutions: {front.frames} frames run ({front.frames / seconds:.0f} per second of audio; "
        f"{interiors} of them window interiors), {rate:.0f} frames per CPU second; back ends {back.cpu:.1f} s.\n"
        f"Noise task with the reference DNSMOS if the windows' edges were free: at most {ceiling:.1f}x real time "
        f"(interiors {interiors / rate:.1f} s, back ends {back.cpu:.1f} s, other metrics {other_metrics_s:.1f} s)"
    )


def peer_speed(corpus: Path, n_files: int) -> None:
    speech = load_speech(corpus, n_files)
    seconds = sum(len(x) for x in speech) / SR
    print(f"peer denoisers: {len(speech)} recordings, {seconds / 60:.1f} min at {SR} Hz, one utterance at a time")
    resampling = time.process_time()
    for x in speech:
        dsp.resample(dsp.resample(x, SR, peers.RATE), peers.RATE, SR)
    resampling = time.process_time() - resampling
    for method in peers.METHODS:
        peers.denoise(method, speech[0][:SR], SR)  # loads the shared library once per process
        cpu = time.process_time()
        for x in speech:
            peers.denoise(method, x, SR)
        cpu = time.process_time() - cpu
        # An empty signal costs only the fresh state (DeepFilterNet3 unpacks its model).
        state = time.process_time()
        for _ in speech:
            peers.RUNNERS[method](np.zeros(0, dtype=np.float32))
        state = time.process_time() - state
        print(
            f"{method}: {cpu:.1f} CPU s, real-time factor {cpu / seconds:.3f} ({seconds / cpu:.1f}x real time); "
            f"of it {state:.1f} s making the {len(speech)} fresh states and {resampling:.1f} s resampling"
        )


def test_mixtures(corpus: Path, seed: int, snrs: tuple[float, ...]) -> list[dict]:
    """The test utterances of presets/realmini.yaml, mixed as the pipeline mixes them
    (its split, its -26 dBFS level, its synthetic noise bank with babble from the train
    speakers, its seeded noise recording and segment per utterance), at each SNR."""
    entries, _ = scan_folder(corpus, ["wav", "flac"])
    manifest = build_manifest(entries, {"train": 0.8, "valid": 0.1, "test": 0.1}, seed, 4, [["bdl", "slt"]])
    tables, test = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        archives = {}
        for shard, rows in manifest.groupby("shard"):
            arrays, table, _ = prepare_shard(rows, SR, -26.0)
            archives[shard] = Path(scratch) / f"{shard:03d}.npz"
            write_arrays(archives[shard], arrays)
            tables.append(table)
            test |= {k: arrays[f"audio/{k}"] for k in table.loc[table["split"] == "test", "id"]}
        talkers = collect_babble_talkers(pd.concat(tables, ignore_index=True), archives, seed)
    recordings = build_bank(["test"], list(KINDS), 4, 10.0, SR, seed, talkers)
    bank = NoiseBank(
        {r.id: r.audio for r in recordings},
        pd.DataFrame([{"id": r.id, "kind": r.kind, "split": r.split} for r in recordings]),
    )
    mixtures = []
    for snr in snrs:
        # One SNR per task: the generator draws the same recording and segment at each.
        task = Task("noise", noise=NoiseParams(snr_db=(snr,)))
        for utt_id in sorted(test):
            result = corrupt(test[utt_id], SR, task, PARAMS, seed, utt_id, "test", bank)
            mixtures.append({"id": utt_id, "clean": test[utt_id], "noisy": result.audio, **result.info})
    return mixtures


def peer_quality(corpus: Path, seed: int) -> None:
    mixtures = test_mixtures(corpus, seed, (0.0, 5.0, 10.0))
    systems = {
        "noisy": lambda x: x,
        "spectral_gating": lambda x: baselines.spectral_gating(x, SR, False, 0.8),
        **{method: (lambda x, m=method: peers.denoise(m, x, SR)) for method in peers.METHODS},
    }
    scorer = metrics.NonIntrusive(threads=1)
    rows = []
    for mixture in mixtures:
        for system, run in systems.items():
            restored = np.clip(run(mixture["noisy"]), -1, 1)  # as the FLAC is written
            rows.append(
                {
                    "system": system,
                    "snr_db": mixture["snr_db"],
                    "kind": mixture["noise_kind"],
                    "pesq": metrics.pesq_score(mixture["clean"], restored, SR),
                    "dnsmos_ovrl": scorer.dnsmos(restored, SR)["dnsmos_ovrl"],
                }
            )
    scores = pd.DataFrame(rows)
    minutes = sum(len(m["clean"]) for m in mixtures) / SR / 60
    utterances = len({m["id"] for m in mixtures})
    print(f"\nrealmini test split: {utterances} utterances at 0, 5 and 10 dB: {len(mixtures)} cases, {minutes:.1f} min")
    order = list(systems)
    overall = scores.groupby("system")[["pesq", "dnsmos_ovrl"]].mean().reindex(order)
    print(overall.to_string(float_format=lambda v: f"{v:.2f}"))
    by_snr = scores.pivot_table(index="system", columns="snr_db", values=["pesq", "dnsmos_ovrl"]).reindex(order)
    print(by_snr.to_string(float_format=lambda v: f"{v:.2f}"))
    noisy = scores[scores["system"] == "noisy"]
    print(noisy.groupby("snr_db")["kind"].value_counts().unstack(fill_value=0).to_string())


def dnsmos_hop_effect(results: Path, task: str, hop_s: int) -> None:
    import soundfile as sf

    reference = metrics.NonIntrusive(threads=1)
    faster = metrics.NonIntrusive(threads=1, dnsmos_window_hop_s=hop_s)
    rows, cpu = [], {"reference": 0.0, "hop": 0.0}
    systems = sorted(p for p in (results / "restored" / task).iterdir() if p.is_dir())
    if not systems:
        raise SystemExit(f"{results}/restored/{task}: no restored systems")
    for system in systems:
        for path in sorted(system.glob("*/*.flac")):
            audio, rate = sf.read(path, dtype="float32")
            started = time.process_time()
            ours = reference.dnsmos(audio, rate)
            cpu["reference"] += time.process_time() - started
            started = time.process_time()
            theirs = faster.dnsmos(audio, rate)
            cpu["hop"] += time.process_time() - started
            row = {"system": system.name, "id": path.stem, "seconds": len(audio) / rate}
            for measure in ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"):
                row[measure], row[f"{measure} hop"] = ours[measure], theirs[measure]
            rows.append(row)
    scores = pd.DataFrame(rows)
    minutes = scores["seconds"].sum() / 60
    print(f"\n{results}: {task}, {len(systems)} systems, {len(scores)} files, {minutes:.1f} min of audio")
    print(
        f"DNSMOS CPU time: reference (1 s hop) {cpu['reference']:.1f} s, {hop_s} s hop {cpu['hop']:.1f} s "
        f"({cpu['reference'] / cpu['hop']:.2f}x faster)"
    )
    for measure in ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"):
        change = scores[f"{measure} hop"] - scores[measure]
        print(
            f"{measure}: per file change mean {change.mean():+.3f}, mean |change| {change.abs().mean():.3f}, "
            f"largest |change| {change.abs().max():.3f}; unchanged (one window either way) "
            f"{(change == 0).mean():.0%} of files"
        )
    means = scores.groupby("system")[["dnsmos_ovrl", "dnsmos_ovrl hop"]].mean()
    means["change"] = means["dnsmos_ovrl hop"] - means["dnsmos_ovrl"]
    means["rank"] = means["dnsmos_ovrl"].rank(ascending=False).astype(int)
    means["rank hop"] = means["dnsmos_ovrl hop"].rank(ascending=False).astype(int)
    print(means.sort_values("rank").to_string(float_format=lambda v: f"{v:.3f}"))


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
        # Each job's own wall time (its benchmark file): what the cores spent inside
        # jobs, against the stage's time, which adds Snakemake's work between them.
        jobs = [pd.read_csv(f, sep="\t")["s"].iloc[0] for f in workdir.glob("results/benchmarks/evaluate/*/*/*.tsv")]
        print(
            f"{cores} core(s): stage {times[cores]:.1f} s; {len(jobs)} evaluate jobs, their wall times sum to "
            f"{sum(jobs):.1f} s ({sum(jobs) / cores:.1f} s per core)"
        )
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
    parser.add_argument("--peers", action="store_true", help="real-time factor of the peer denoisers, one core")
    parser.add_argument("--peers-quality", action="store_true", help="PESQ and DNSMOS of the peers on realmini")
    parser.add_argument("--no-metrics", action="store_true", help="skip the metric throughput (part 1)")
    parser.add_argument("--seed", type=int, default=1234, help="the config seed (split, noise, mixtures)")
    parser.add_argument("--dnsmos-window-hop-s", type=int, default=1, help="DNSMOS window hop for part 1")
    parser.add_argument("--dnsmos-hop-effect", type=Path, metavar="RESULTS", help="a finished run's results folder")
    parser.add_argument("--task", default="noise", help="its task for --dnsmos-hop-effect")
    args = parser.parse_args()
    if args.dnsmos_hop_effect:
        dnsmos_hop_effect(args.dnsmos_hop_effect, args.task, max(args.dnsmos_window_hop_s, 2))
        return
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        print(f"skipping the parts on real speech: {args.corpus} not found")
    else:
        if not args.no_metrics:
            throughput(corpus, args.files, args.dnsmos_window_hop_s)
        if args.peers:
            peer_speed(corpus, args.files)
        if args.peers_quality:
            peer_quality(corpus, args.seed)
    if args.scaling:
        scaling(args.workdir)


if __name__ == "__main__":
    main()
