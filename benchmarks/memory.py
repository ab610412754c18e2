"""Peak resident memory of every job against corpus size.

Runs the pipeline twice on real speech with the same shard count: on the realmini files
(../shared/data/realmini, 38.8 min) and on the same files repeated ``--copies`` times
under other names (other utterance ids, the same speakers), so every shard is that many
times larger. Snakemake's ``benchmark:`` files record each job's peak resident memory
(max_rss, the job's whole process tree); the largest per rule is printed for both runs
and their ratio. The target: every rule within 20 % (memory flat in corpus size).

The config is the default one cut to what every stage needs once: the gap and noise
tasks, the U-Net and the complex U-Net, the classical methods and the peers, one
training epoch (``KERAS_MAX_EPOCHS=1``).

    python benchmarks/memory.py [--copies 8] [--workdir DIR] [--cores 2]
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from specrestore.audio import find_audio_files


def repeated_corpus(source: Path, target: Path, copies: int) -> None:
    """``copies`` links to every recording, as ``copyN_<name>`` in its speaker's folder."""
    for path in find_audio_files(source):
        relative = path.relative_to(source)
        for copy in range(copies):
            link = target / relative.parent / f"copy{copy}_{relative.name}"
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(path)


def bench_config(corpus: Path) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    realmini = yaml.safe_load((REPO / "presets" / "realmini.yaml").read_text())
    config["corpus"] = "folder"
    config["corpora"]["folder"] = {**realmini["corpora"]["folder"], "path": str(corpus)}
    config["sample_rate"] = 16000
    config["tasks"] = [t for t in config["tasks"] if t["name"] in ("gap", "noise")]
    for task in config["tasks"]:
        task["models"] = ["unet", "cunet"]
    config["evaluation"]["phase"] = ["corrupted"]
    config["shards"] = 4
    return config


def run_pipeline(workdir: Path, config: dict, cores: int) -> pd.DataFrame:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "KERAS_MAX_EPOCHS": "1"}
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    command += ["--directory", str(workdir), "--cores", str(cores), "--quiet"]
    subprocess.run(command, check=True, env=env)
    rows = []
    for tsv in sorted((workdir / "results" / "benchmarks").rglob("*.tsv")):
        rule = tsv.relative_to(workdir / "results" / "benchmarks").parts[0].removesuffix(".tsv")
        table = pd.read_csv(tsv, sep="\t")
        rows.append({"rule": rule, "job": str(tsv), "max_rss_mb": float(table["max_rss"].max())})
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "realmini"))
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--workdir", type=Path, help="keep the two runs here (default: a scratch folder)")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    source = Path(args.corpus).resolve()
    if not source.is_dir():
        print(f"skipping: {args.corpus} not found")
        return
    scratch = tempfile.TemporaryDirectory(prefix="specrestore-memory-") if args.workdir is None else None
    root = args.workdir or Path(scratch.name)
    peaks = {}
    for copies in (1, args.copies):
        corpus = root / f"corpus_x{copies}"
        repeated_corpus(source, corpus, copies)
        jobs = run_pipeline(root / f"run_x{copies}", bench_config(corpus), args.cores)
        peaks[f"x{copies} (MB)"] = jobs.groupby("rule")["max_rss_mb"].max()
    table = pd.DataFrame(peaks)
    table["change"] = table.iloc[:, 1] / table.iloc[:, 0] - 1
    minutes = sum(1 for _ in find_audio_files(source))
    print(f"peak resident memory per job, largest per rule; corpus x1 and x{args.copies} ({minutes} files each copy)")
    print(table.to_string(float_format=lambda v: f"{v:.0f}", formatters={"change": lambda v: f"{100 * v:+.0f} %"}))
    worst = table["change"].abs().max()
    print(f"largest change: {100 * worst:.0f} % (target: under 20 %)")
    if scratch is not None:
        scratch.cleanup()


if __name__ == "__main__":
    main()
