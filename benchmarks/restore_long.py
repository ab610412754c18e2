"""Peak memory and speed of restoring long recordings (``specrestore restore``).

Builds recordings of several lengths (one hour by default as the longest) from the real
speech in ../shared/data/realmini, resampled to 16 kHz and concatenated, with a seeded
dropout of 10-200 ms every two seconds on average, written as 16-bit WAV. Each length
is restored in a fresh process, whose peak resident memory (``resource.getrusage``,
ru_maxrss) and wall time are printed; memory must not grow with the length, and the
longest must stay under the bound given (``--bound-mb``).

    python benchmarks/restore_long.py [--minutes 5 20 60] [--model results/models/gap/unet]
                                      [--no-quality] [--bound-mb 1500]
"""

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[variable] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
REALMINI = REPO.parent / "shared" / "data" / "realmini"
sys.path.insert(0, str(REPO / "workflow"))

from specrestore import dsp
from specrestore.audio import find_audio_files
from specrestore.detection import Gap, match_gaps

RATE = 16000


def build_recording(path: Path, minutes: float, seed: int = 0) -> list[tuple[int, int]]:
    """Write ``minutes`` of realmini speech with dropouts to ``path``, piece by piece.
    Each file's leading and trailing digital silence is trimmed, so that the joins are
    not dropouts themselves. Returns the dropouts placed, as [start, end) samples."""
    files = find_audio_files(REALMINI)
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * RATE)
    written, placed = 0, []
    with sf.SoundFile(str(path), "w", RATE, 1, "PCM_16", format="WAV") as sink:
        while written < total:
            x, rate = sf.read(files[rng.integers(len(files))], dtype="float32")
            x = dsp.normalise_level(dsp.resample(np.trim_zeros(x), rate, RATE), RATE, -26)[0]
            x = np.trim_zeros(np.round(x * 32768) / 32768)[: total - written].astype(np.float32)
            position = int(rng.uniform(0.3, 1.5) * RATE)
            while position < len(x) - int(0.5 * RATE):
                length = int(rng.uniform(10, 200) * RATE / 1000)
                x[position : position + length] = 0
                placed.append((written + position, written + position + length))
                position += length + int(rng.uniform(1.0, 3.0) * RATE)
            sink.write(x)
            written += len(x)
    return placed


def child(folder: str, out: str, model: str | None, quality: bool) -> None:
    """Restore in this process and print what it cost, as JSON on the last line."""
    from specrestore.recordings import RestoreOptions, make_restorer, restore_folder

    started = time.perf_counter()
    restorer = make_restorer("gap", model or None)
    report = restore_folder(folder, out, restorer, RestoreOptions(task="gap", quality=quality), io.StringIO())
    row = report.iloc[0].to_dict()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(json.dumps({"peak_mb": peak_mb, "seconds": time.perf_counter() - started, **row}, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[5, 20, 60])
    parser.add_argument("--model", help="a trained model folder (default: LPC, no model)")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--bound-mb", type=float, default=1500)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(*arguments.child, arguments.model, not arguments.no_quality)
        return
    if not REALMINI.is_dir():
        sys.exit(f"needs real speech in {REALMINI}")
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for minutes in arguments.minutes:
            folder = Path(scratch) / f"in{minutes:g}"
            folder.mkdir()
            placed = build_recording(folder / "long.wav", minutes)
            command = [sys.executable, __file__, "--child", str(folder), str(Path(scratch) / f"out{minutes:g}")]
            command += ["--model", arguments.model] if arguments.model else []
            command += ["--no-quality"] if arguments.no_quality else []
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(done.stderr[-3000:])
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(result)
            mask = pd.read_csv(Path(scratch) / f"out{minutes:g}" / "gaps" / "long.wav.csv")
            found = [Gap(int(a), int(b), "") for a, b in zip(mask["start_sample"], mask["end_sample"])]
            hits, correct = match_gaps(found, placed)
            quality = (
                f"{result['quality_metric']} {result['quality_before']} -> {result['quality_after']}"
                if result["quality_metric"]
                else "quality not scored"
            )
            print(
                f"{minutes:5g} min, {len(placed)} dropouts placed, {len(found)} found (recall "
                f"{hits / len(placed):.3f}, precision {correct / max(len(found), 1):.3f}): peak memory "
                f"{result['peak_mb']:.0f} MB, {result['seconds']:.0f} s ({minutes * 60 / result['seconds']:.1f}x "
                f"real time), {quality}, restored with {result['restored_with']}",
                flush=True,
            )
    peak = max(r["peak_mb"] for r in results)
    growth = results[-1]["peak_mb"] - results[0]["peak_mb"]
    print(
        f"peak memory at most {peak:.0f} MB (bound {arguments.bound_mb:.0f} MB); "
        f"longest minus shortest {growth:+.0f} MB"
    )
    if peak > arguments.bound_mb:
        sys.exit("peak memory above the bound")


if __name__ == "__main__":
    main()
