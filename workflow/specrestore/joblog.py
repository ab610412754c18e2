"""Logging for pipeline jobs: everything a job says, warnings and tracebacks included,
goes to its log file; a failure also prints one line to the terminal that names the
log, so the reason is visible without opening it."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path


def job_log(path: str | Path, name: str = "specrestore") -> logging.Logger:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    terminal = sys.stderr
    stream = open(path, "w", buffering=1)  # noqa: SIM115 - stays open for the life of the job
    sys.stderr = stream
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.StreamHandler(stream)],
        force=True,
    )
    logging.captureWarnings(True)

    def report(kind, value, tb):
        traceback.print_exception(kind, value, tb, file=stream)
        stream.flush()
        print(f"error: {value} (details in {path})", file=terminal)

    sys.excepthook = report
    return logging.getLogger(name)
