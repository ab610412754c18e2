"""Logging for pipeline jobs: everything a job prints, from Python, from C libraries
(TensorFlow, libsndfile) and from child processes, goes to its log file; a failure also
prints one line to the terminal that names the log, so the reason is visible without
opening it."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path


def job_log(path: str | Path, name: str = "specrestore") -> logging.Logger:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    terminal = os.fdopen(os.dup(2), "w", buffering=1)
    stream = open(path, "w", buffering=1)  # noqa: SIM115 - stays open for the life of the job
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(stream.fileno(), 1)
    os.dup2(stream.fileno(), 2)
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.StreamHandler(sys.stderr)],
        force=True,
    )
    logging.captureWarnings(True)

    def report(kind, value, tb):
        traceback.print_exception(kind, value, tb, file=sys.stderr)
        sys.stderr.flush()
        print(f"error: {value} (details in {path})", file=terminal)

    sys.excepthook = report
    return logging.getLogger(name)
