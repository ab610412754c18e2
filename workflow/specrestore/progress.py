"""A progress bar for long restorations, on stderr.

On a terminal it redraws one line; in a log file (a Snakemake job, a SLURM job) it
writes a line at every tenth of the work instead of thousands of carriage returns.
"""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: float, unit: str = "s", stream=None, width: int = 30):
        self.total = max(float(total), 1e-9)
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0.0
        self.label = ""
        self.started = time.perf_counter()
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_tenth = -1

    def update(self, amount: float, label: str | None = None) -> None:
        self.done = min(self.total, self.done + amount)
        if label is not None:
            self.label = label
        fraction = self.done / self.total
        if self.interactive:
            self.stream.write("\r" + self.line(fraction))
            self.stream.flush()
        elif int(fraction * 10) > self._last_tenth:
            self._last_tenth = int(fraction * 10)
            self.stream.write(self.line(fraction) + "\n")
            self.stream.flush()

    def line(self, fraction: float) -> str:
        filled = int(round(fraction * self.width))
        elapsed = time.perf_counter() - self.started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else float("nan")
        return (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {100 * fraction:5.1f}% "
            f"{self.done:.0f}/{self.total:.0f} {self.unit} of audio, {elapsed:.0f} s elapsed, "
            f"about {eta:.0f} s left  {self.label}"
        )

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
