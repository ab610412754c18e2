"""Seed 3's gap-versus-context experiment: how restoration of one gap depends on the
gap's length and on how much signal either side of it the restorer is shown.

For each clean utterance one gap centre is drawn (``rng_for(seed, "gap_context",
utterance id)``) and shared by every gap length, so that lengths are compared on the
same stretch of speech. For each gap length the gap is zeroed; for each context width
the restorer receives only the window ``[start - context, end + context)`` of the
corrupted signal, and its output is pasted back into the full corrupted utterance.
Scores: the SNR inside the gap (dB) and PESQ of the whole utterance against the clean
one. The centre keeps the largest context clear on both sides, so every context width
is really available and the window is never cut by the utterance's ends.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable

import numpy as np
import pandas as pd

from . import dsp, metrics, restoration
from .restoration import Utterance
from .seeding import rng_for
from .tables import _interval

Restorer = Callable[[Utterance], np.ndarray]

BASELINE = "corrupted"
SWEEP_METRICS = ("in_gap_snr_db", "pesq")
SWEEP_COLUMNS = ["id", "gap_ms", "context_ms", "system", "in_gap_snr_db", "pesq", "missing"]
METRIC_TITLES = {"in_gap_snr_db": "In-gap SNR", "pesq": "PESQ"}
METRIC_UNITS = {"in_gap_snr_db": "dB", "pesq": "MOS-LQO"}
DPI = 120
PANEL_INCHES = (3.0, 2.8)
# region_snr with a sample mask and no band holes never uses the STFT; it only has to be valid.
_UNUSED_PARAMS = dsp.StftParams(512, 128)


def _samples(ms: float, sample_rate: int) -> int:
    return int(round(ms * sample_rate / 1000))


def place_gap(
    n_samples: int,
    sample_rate: int,
    gap_ms: float,
    max_context_ms: float,
    seed: int,
    utt_id: str,
    max_gap_ms: float | None = None,
) -> tuple[int, int] | None:
    """The [start, end) span of one gap of exactly ``gap_ms``, with at least
    ``max_context_ms`` of signal on both sides; None when the utterance is too short.

    The centre is drawn from the range that fits a gap of ``max_gap_ms`` (default
    ``gap_ms``): pass the longest gap of a sweep and every shorter gap of the same
    utterance shares its centre."""
    gap = _samples(gap_ms, sample_rate)
    widest = max(gap, _samples(max_gap_ms if max_gap_ms is not None else gap_ms, sample_rate))
    context = _samples(max_context_ms, sample_rate)
    lowest = context + widest // 2
    highest = n_samples - context - (widest - widest // 2)
    if gap < 1 or highest < lowest:
        return None
    centre = int(rng_for(seed, "gap_context", utt_id).integers(lowest, highest + 1))
    start = centre - gap // 2
    return start, start + gap


def context_window(n: int, start: int, end: int, context_samples: int) -> tuple[int, int]:
    """The [lo, hi) window a restorer sees: the gap and ``context_samples`` either
    side, clipped to the signal."""
    return max(0, start - context_samples), min(n, end + context_samples)


def classical_restorer(system: str, sample_rate: int, params: dsp.StftParams, options: dict) -> Restorer:
    """A classical system as a restorer. ``options`` is the config's ``evaluation``
    section; note that LPC also caps its context at ``options["lpc"]["context_ms"]``,
    so set that to at least the widest context of the sweep."""
    return lambda utterance: restoration.restore(system, utterance, sample_rate, params, options)


def _score(clean: np.ndarray, restored: np.ndarray, mask: np.ndarray, sample_rate: int) -> dict:
    """In-gap SNR and whole-utterance PESQ; a score that cannot be computed is NaN and
    its reason goes to ``missing``."""
    compute = {
        "in_gap_snr_db": lambda: metrics.region_snr(clean, restored, mask, None, _UNUSED_PARAMS),
        "pesq": lambda: metrics.pesq_score(clean, restored, sample_rate),
    }
    row, reasons = {}, []
    for name, function in compute.items():
        try:
            row[name] = float(function())
        except metrics.Missing as reason:
            row[name] = math.nan
            reasons.append(f"{name}: {reason}")
    return row | {"missing": "; ".join(reasons) or None}


def _restore_window(restorer: Restorer, utterance: Utterance, system: str) -> np.ndarray:
    restored = np.asarray(restorer(utterance), dtype=np.float32)
    if restored.shape != utterance.corrupted.shape:
        raise ValueError(
            f"{utterance.id}: {system} returned {restored.shape} samples for a window of {utterance.corrupted.shape}"
        )
    return restored


def sweep_utterance(
    utt_id: str,
    clean: np.ndarray,
    sample_rate: int,
    gap_ms_list: list[float],
    context_ms_list: list[float],
    restorers: dict[str, Restorer],
    seed: int,
    max_context_ms: float | None = None,
) -> list[dict]:
    """One row per (gap length, context width, system) with columns id, gap_ms,
    context_ms, system, in_gap_snr_db, pesq, missing. The ``corrupted`` baseline is
    always included (first). ``max_context_ms`` (default: the widest context) sets the
    margin the gap keeps from the ends; [] when the utterance is too short for it."""
    clean = np.asarray(clean, dtype=np.float32)
    n = len(clean)
    max_context_ms = max(context_ms_list) if max_context_ms is None else max_context_ms
    # "corrupted" is the input as it is whoever passes it; it is scored once per gap.
    systems = [system for system in restorers if system != BASELINE]
    rows = []
    for gap_ms in gap_ms_list:
        span = place_gap(n, sample_rate, gap_ms, max_context_ms, seed, utt_id, max_gap_ms=max(gap_ms_list))
        if span is None:
            return []
        start, end = span
        mask = np.zeros(n, dtype=bool)
        mask[start:end] = True
        corrupted = np.where(mask, 0, clean).astype(np.float32)
        baseline = _score(clean, corrupted, mask, sample_rate)
        for context_ms in context_ms_list:
            lo, hi = context_window(n, start, end, _samples(context_ms, sample_rate))
            window = Utterance(utt_id, corrupted[lo:hi].copy(), sample_mask=mask[lo:hi].copy(), clean=clean[lo:hi])
            key = {"id": utt_id, "gap_ms": gap_ms, "context_ms": context_ms}
            rows.append(key | {"system": BASELINE} | baseline)
            for system in systems:
                restored = corrupted.copy()
                restored[lo:hi] = _restore_window(restorers[system], window, system)
                rows.append(key | {"system": system} | _score(clean, restored, mask, sample_rate))
    return rows


def summarise_sweep(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (system, gap_ms, context_ms): n (utterances), and for each metric its mean,
    the number scored and the 95% Student-t interval of the mean. Systems keep their
    order of first appearance (the baseline first)."""
    system_order = list(dict.fromkeys(rows["system"]))
    summary = []
    for (system, gap_ms, context_ms), group in rows.groupby(["system", "gap_ms", "context_ms"], sort=False):
        row = {"system": system, "gap_ms": gap_ms, "context_ms": context_ms, "n": len(group)}
        for metric in SWEEP_METRICS:
            values = group[metric].to_numpy(dtype=float)
            present = values[np.isfinite(values)]
            low, high = _interval(present)
            row |= {
                f"{metric}_mean": present.mean() if len(present) else math.nan,
                f"{metric}_n": len(present),
                f"{metric}_ci_low": low,
                f"{metric}_ci_high": high,
            }
        summary.append(row)
    table = pd.DataFrame(summary)
    table["_order"] = table["system"].map(system_order.index)
    return table.sort_values(["_order", "gap_ms", "context_ms"]).drop(columns="_order").reset_index(drop=True)


def _number(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "–"


def _cell(row: pd.Series, metric: str, uniform_n: bool) -> str:
    text = f"{_number(row[f'{metric}_mean'])} [{_number(row[f'{metric}_ci_low'])}, {_number(row[f'{metric}_ci_high'])}]"
    return text if uniform_n else f"{text} n={row[f'{metric}_n']}"


def _ms(value: float) -> str:
    return f"{value:g}"


def sweep_markdown(summary: pd.DataFrame, metric: str, labels: dict[str, str]) -> str:
    """A Markdown table of one metric: a row per (system, gap length), a column per
    context width, cells "mean [95% interval]"."""
    contexts = sorted(summary["context_ms"].unique())
    counts = summary[f"{metric}_n"].unique()
    uniform_n = len(counts) == 1
    lines = [
        f"## {METRIC_TITLES[metric]} ({METRIC_UNITS[metric]}) by gap length and context width",
        "",
        "Mean [95% confidence interval of the mean]"
        + (f" over {counts[0]} utterances per cell." if uniform_n else "; n = utterances scored.")
        + " Context: signal shown to the restorer on each side of the gap.",
        "",
        "| system | gap (ms) | " + " | ".join(f"context {_ms(c)} ms" for c in contexts) + " |",
        "|---|---:|" + "---:|" * len(contexts),
    ]
    for (system, gap_ms), group in summary.groupby(["system", "gap_ms"], sort=False):
        by_context = group.set_index("context_ms")
        cells = [_cell(by_context.loc[c], metric, uniform_n) if c in by_context.index else "–" for c in contexts]
        lines.append(f"| {labels.get(system, system)} | {_ms(gap_ms)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def heatmap_figsize(n_systems: int) -> tuple[float, float]:
    """Figure size in inches: one panel per system and metric, plus room for the
    colour bars and the title."""
    return PANEL_INCHES[0] * n_systems + 1.2, PANEL_INCHES[1] * len(SWEEP_METRICS) + 0.6


def _grid(summary: pd.DataFrame, system: str, metric: str, gaps: list, contexts: list) -> np.ndarray:
    """Means as a (gap length x context width) array, NaN where absent."""
    own = summary[summary["system"] == system]
    table = own.pivot(index="gap_ms", columns="context_ms", values=f"{metric}_mean")
    return table.reindex(index=gaps, columns=contexts).to_numpy(dtype=float)


def _annotate(ax, grid: np.ndarray, image) -> None:
    """Write each cell's value in black or white, whichever reads on its colour."""
    for (row, col), value in np.ndenumerate(grid):
        if not math.isfinite(value):
            ax.text(col, row, "–", ha="center", va="center", fontsize=8)
            continue
        red, green, blue, _ = image.cmap(image.norm(value))
        colour = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
        text = f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
        ax.text(col, row, text, ha="center", va="center", fontsize=8, color=colour)


def gap_context_heatmaps(
    summary: pd.DataFrame, systems: list[str], labels: dict[str, str], path: str, title: str
) -> None:
    """PNG of the mean scores: a row per metric (in-gap SNR, PESQ), a column per system,
    context width across, gap length up; one colour scale per metric, shared by every
    system so that panels compare at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gaps = sorted(summary["gap_ms"].unique())
    contexts = sorted(summary["context_ms"].unique())
    fig, axes = plt.subplots(
        len(SWEEP_METRICS), len(systems), figsize=heatmap_figsize(len(systems)), squeeze=False, layout="constrained"
    )
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="lightgrey")
    for row, metric in enumerate(SWEEP_METRICS):
        grids = [_grid(summary, system, metric, gaps, contexts) for system in systems]
        finite = np.concatenate([g[np.isfinite(g)] for g in grids])
        vmin, vmax = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        for col, (system, grid) in enumerate(zip(systems, grids)):
            ax = axes[row, col]
            image = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
            _annotate(ax, grid, image)
            ax.set_xticks(range(len(contexts)), [_ms(c) for c in contexts])
            ax.set_yticks(range(len(gaps)), [_ms(g) for g in gaps])
            ax.set_title(textwrap.fill(f"{labels.get(system, system)}: {METRIC_TITLES[metric]}", 30), fontsize=9)
            ax.set_xlabel("context each side (ms)", fontsize=8)
            if col == 0:
                ax.set_ylabel("gap length (ms)", fontsize=8)
            ax.tick_params(labelsize=7)
        colorbar = fig.colorbar(image, ax=axes[row, :], shrink=0.9)
        colorbar.set_label(f"{METRIC_TITLES[metric]} ({METRIC_UNITS[metric]})", fontsize=8)
        colorbar.ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def sweep_shard(
    audio,
    table: pd.DataFrame,
    grid: dict,
    restorers_by_context: dict,
    sample_rate: int,
    seed: int,
    max_utterances: int | None = None,
) -> tuple[pd.DataFrame, int]:
    """Every test utterance of one shard (``audio``: its ArrayFile) over the grid;
    ``restorers_by_context`` maps each context width to its restorers, so that a
    per-context model restores only with its own context. Returns the rows and how
    many utterances were too short for the widest context."""
    contexts = grid["context_ms"]
    test = table[table["split"] == "test"].sort_values("id")
    if max_utterances:
        test = test.head(max_utterances)
    rows, skipped = [], 0
    for utt_id in test["id"]:
        clean = audio.get("audio", utt_id)
        found = []
        for context in contexts:
            found += sweep_utterance(
                utt_id, clean, sample_rate, grid["gap_ms"], [context], restorers_by_context[context], seed,
                max(contexts),
            )  # fmt: skip
        skipped += not found
        rows += found
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS), skipped
