"""A progress bar for long restorations, on stderr.

On a terminal it redraws one line; in a log file (a Snakemake job, a SLURM job) it
writes a line at every tenth of the work instead of thousands of carriage returns.

Work that goes over the same audio more than once (a scan, then a restoration) is
counted per pass, each against the audio's own length: ``scanned 6/6, written 3/6 s of
audio`` for a 6 s recording half restored.
"""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: float, unit: str = "s", stream=None, width: int = 30, passes: tuple[str, ...] = ("",)):
        if not passes:
            raise ValueError("a progress bar needs at least one pass")
        self.total = max(float(total), 1e-9)
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = dict.fromkeys(passes, 0.0)
        self.label = ""
        self.started = time.perf_counter()
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_tenth = -1

    def update(self, amount: float, label: str | None = None, stage: str | None = None) -> None:
        """Count ``amount`` more done in pass ``stage`` (the first pass by default)."""
        stage = next(iter(self.done)) if stage is None else stage
        self.done[stage] = min(self.total, self.done[stage] + amount)
        self._draw(label)

    def reach(self, position: float, label: str | None = None) -> None:
        """Every pass has done at least ``position``, as when an item needs no more passes."""
        for stage, done in self.done.items():
            self.done[stage] = min(self.total, max(done, position))
        self._draw(label)

    @property
    def fraction(self) -> float:
        return sum(self.done.values()) / (self.total * len(self.done))

    def _draw(self, label: str | None) -> None:
        if label is not None:
            self.label = label
        fraction = self.fraction
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
        done = ", ".join(f"{stage} {amount:.0f}/{self.total:.0f}".lstrip() for stage, amount in self.done.items())
        return (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {100 * fraction:5.1f}% "
            f"{done} {self.unit} of audio, {elapsed:.0f} s elapsed, about {eta:.0f} s left  {self.label}"
        )

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
