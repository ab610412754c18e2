"""``specrestore restore IN OUT``: restore one's own recordings from the command line,
with the same library code as ``snakemake restore``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .detection import DetectionParams
from .recordings import TASKS, RecordingError, RestoreOptions, make_restorer, restore_folder


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="specrestore", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    restore = commands.add_parser(
        "restore",
        help="restore a folder (or one file) of recordings",
        description="Restore every recording under IN into OUT: same names, formats, rates and lengths, "
        "OUT/restore_report.csv with a line per file, and OUT/gaps/<file>.csv with the dropouts "
        "each was restored with (edit them and pass --masks OUT/gaps to a rerun into another folder). "
        "A run that would write over a recording or a mask file given stops before it writes anything.",
    )
    restore.add_argument(
        "input", type=Path, metavar="IN", help="a recording or a folder of them (searched recursively)"
    )
    restore.add_argument(
        "output",
        type=Path,
        metavar="OUT",
        help="the folder to write to; a run that would write over a recording or a --masks file is refused",
    )
    restore.add_argument(
        "--task",
        choices=TASKS,
        default="auto",
        help="what to repair; auto: what the model was trained for (dropouts without a model)",
    )
    restore.add_argument("--model", type=Path, help="a trained model folder, e.g. results/models/gap/unet")
    restore.add_argument(
        "--method",
        help="method where no model is given: for dropouts lpc (default), interp.corrupted, "
        "interp.reconstruct; for noise deepfilternet3 (default), rnnoise, spectral_gating",
    )
    restore.add_argument(
        "--phase",
        choices=("corrupted", "reconstruct"),
        help="phase for spectrogram models (default: reconstruct for dropouts, corrupted for noise)",
    )
    restore.add_argument("--masks", type=Path, help="folder of mask files <file>.csv to use instead of detection")
    restore.add_argument(
        "--detect-only", action="store_true", help="find dropouts and write the masks; restore nothing"
    )
    restore.add_argument("--min-gap-ms", type=float, default=DetectionParams.min_gap_ms)
    restore.add_argument(
        "--max-gap-ms",
        type=float,
        default=DetectionParams.max_gap_ms,
        help="longer silences are pauses, not dropouts (default %(default)s)",
    )
    restore.add_argument(
        "--sudden-db",
        type=float,
        default=DetectionParams.sudden_db,
        help="how far a dropout's surroundings must lie above it (default %(default)s dB)",
    )
    restore.add_argument("--chunk-seconds", type=float, default=30.0, help="length of the pieces long files are cut in")
    restore.add_argument("--no-quality", action="store_true", help="skip PLCMOS/DNSMOS before and after")
    restore.add_argument("--threads", type=int, default=1)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        options = RestoreOptions(
            task=arguments.task,
            detection=DetectionParams(
                min_gap_ms=arguments.min_gap_ms, max_gap_ms=arguments.max_gap_ms, sudden_db=arguments.sudden_db
            ),
            chunk_s=arguments.chunk_seconds,
            quality=not arguments.no_quality,
            masks=arguments.masks,
            detect_only=arguments.detect_only,
            threads=arguments.threads,
        )
        if arguments.model is not None:
            from .training import configure_backend

            configure_backend(arguments.threads)
        restorer = make_restorer(arguments.task, arguments.model, arguments.method, arguments.phase)
        report = restore_folder(arguments.input, arguments.output, restorer, options)
    except (RecordingError, ValueError) as err:
        print(f"specrestore restore: {err}", file=sys.stderr)
        return 2
    counts = report["status"].value_counts().to_dict()
    print(
        f"{len(report)} recordings: "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        + f"; report in {arguments.output / 'restore_report.csv'}",
        file=sys.stderr,
    )
    return 1 if counts.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
