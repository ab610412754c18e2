"""Metric tables: one per task (Markdown, CSV, LaTeX) and a summary across tasks.

Rows are systems, the corrupted input first. For every metric a table gives the mean,
the standard deviation, n (utterances scored), how many were missing, the 95%
confidence interval of the mean (Student t) and the change from the corrupted input:
the mean of the per-utterance differences over the utterances both were scored on,
with its own 95% interval. The same paired change, from the strongest system of each
other kind, says where each learned model stands (:func:`versus`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.stats

from .metrics import HIGHER_IS_BETTER, UNITS

METRIC_NAMES = {
    "pesq": "PESQ",
    "stoi": "STOI",
    "estoi": "ESTOI",
    "lsd": "LSD",
    "lsd_seed2": "LSD (seed 2)",
    "snr": "SNR",
    "si_sdr": "SI-SDR",
    "region_snr": "region SNR",
    "region_lsd": "region LSD",
    "plcmos": "PLCMOS",
    "dnsmos_sig": "DNSMOS SIG",
    "dnsmos_bak": "DNSMOS BAK",
    "dnsmos_ovrl": "DNSMOS OVRL",
}
REFERENCE = "corrupted"


def _interval(values: np.ndarray) -> tuple[float, float]:
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    half = scipy.stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)
    mean = values.mean()
    return mean - half, mean + half


def _paired_change(own: pd.Series, other: pd.Series) -> tuple[float, float, float]:
    """Mean of the per-utterance differences ``own - other`` (both indexed by utterance)
    over the utterances both were scored on, and its 95% interval."""
    paired = (own - other.reindex(own.index)).to_numpy(dtype=float)
    paired = paired[np.isfinite(paired)]
    low, high = _interval(paired)
    return (paired.mean() if len(paired) else math.nan), low, high


def summarise(scores: pd.DataFrame, metrics: list[str], systems: list[str]) -> pd.DataFrame:
    """One row per system, ``<metric>_<statistic>`` columns. ``scores`` holds one row
    per (system, utterance) with the metric columns of :mod:`specrestore.metrics`."""
    reference = scores[scores["system"] == REFERENCE].set_index("id")
    rows = []
    for system in systems:
        own = scores[scores["system"] == system].set_index("id")
        row = {"system": system, "utterances": len(own)}
        for metric in metrics:
            values = own[metric].to_numpy(dtype=float)
            present = values[np.isfinite(values)]
            low, high = _interval(present)
            row |= {
                f"{metric}_mean": present.mean() if len(present) else math.nan,
                f"{metric}_std": present.std(ddof=1) if len(present) > 1 else math.nan,
                f"{metric}_n": len(present),
                f"{metric}_missing": len(values) - len(present),
                f"{metric}_ci_low": low,
                f"{metric}_ci_high": high,
            }
            if system != REFERENCE and not reference.empty:
                delta, delta_low, delta_high = _paired_change(own[metric], reference[metric])
                row |= {
                    f"{metric}_delta": delta,
                    f"{metric}_delta_ci_low": delta_low,
                    f"{metric}_delta_ci_high": delta_high,
                }
        rows.append(row)
    return pd.DataFrame(rows)


def _number(value: float, digits: int = 2, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _heading(metric: str) -> str:
    arrow = "↑" if HIGHER_IS_BETTER[metric] else "↓"
    unit = f" ({UNITS[metric]})" if metric in UNITS else ""
    return f"{METRIC_NAMES[metric]}{unit} {arrow}"


def _missing_reasons(scores: pd.DataFrame, metrics: list[str]) -> list[str]:
    lines = []
    for metric in metrics:
        reasons = scores[f"{metric}_missing"].dropna()
        if len(reasons):
            counts = reasons.value_counts()
            detail = "; ".join(f"{count} × {reason}" for reason, count in counts.items())
            lines.append(f"- {METRIC_NAMES[metric]}: {len(reasons)} missing ({detail})")
    return lines


def markdown_table(
    summary: pd.DataFrame,
    scores: pd.DataFrame,
    metrics: list[str],
    labels: dict[str, str],
    title: str,
    notes: list[str],
) -> str:
    header = "| system | " + " | ".join(_heading(m) for m in metrics) + " |"
    rule = "|---|" + "---|" * len(metrics)
    lines = [
        f"# {title}",
        "",
        *notes,
        "",
        "Mean ± standard deviation; in brackets, the change from the corrupted input.",
        "",
    ]
    lines += [header, rule]
    for row in summary.itertuples(index=False):
        row = row._asdict()
        cells = []
        for metric in metrics:
            cell = f"{_number(row[f'{metric}_mean'])} ± {_number(row[f'{metric}_std'])}"
            if row["system"] != REFERENCE:
                cell += f" ({_number(row.get(f'{metric}_delta', math.nan), sign=True)})"
            cells.append(cell)
        lines.append(f"| {labels[row['system']]} | " + " | ".join(cells) + " |")
    lines += ["", "95% confidence interval of the mean, and n scored / missing.", "", header, rule]
    for row in summary.itertuples(index=False):
        row = row._asdict()
        cells = [
            f"[{_number(row[f'{m}_ci_low'])}, {_number(row[f'{m}_ci_high'])}] n={row[f'{m}_n']}"
            + (f", {row[f'{m}_missing']} missing" if row[f"{m}_missing"] else "")
            for m in metrics
        ]
        lines.append(f"| {labels[row['system']]} | " + " | ".join(cells) + " |")
    reasons = _missing_reasons(scores, metrics)
    if reasons:
        lines += ["", "Missing values:", *reasons]
    return "\n".join(lines) + "\n"


# The measures a learned model is held against the other systems on: overall quality
# for every task, the dropout and noise tasks' own measures, and the spectral distance
# that band holes are judged by.
VERSUS_METRICS = ("pesq", "plcmos", "dnsmos_ovrl", "lsd")
VERSUS_COLUMNS = ["system", "metric", "kind", "rival", "rival_mean", "mean", "change", "ci_low", "ci_high", "verdict"]


def _strongest(summary: pd.DataFrame, metric: str, systems: list[str]) -> str | None:
    """Of ``systems``, the one with the best mean on ``metric`` (the first of equals);
    None where none of them was scored on it."""
    means = summary.set_index("system").loc[systems, f"{metric}_mean"].dropna()
    if means.empty:
        return None
    return str(means.idxmax() if HIGHER_IS_BETTER[metric] else means.idxmin())


def _verdict(metric: str, low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    direction = 1 if HIGHER_IS_BETTER[metric] else -1
    if direction * low > 0 and direction * high > 0:
        return "better"
    if direction * low < 0 and direction * high < 0:
        return "worse"
    return "level"


def versus(
    scores: pd.DataFrame, summary: pd.DataFrame, metrics: list[str], learned: list[str], rivals: dict[str, list[str]]
) -> pd.DataFrame:
    """Every learned system against the strongest system of each kind in ``rivals``
    (kind -> systems), metric by metric: one row per (system, metric, kind) with that
    rival, the paired change (learned minus rival), its 95% interval and the verdict:
    better or worse where the interval leaves out zero, level where it does not. The
    strongest rival is chosen per metric, so a model is held against interpolation on
    one measure and LPC on another where each leads its own."""
    by_system = {system: rows.set_index("id") for system, rows in scores.groupby("system")}
    rows = []
    for metric in [m for m in VERSUS_METRICS if m in metrics]:
        strongest = {kind: _strongest(summary, metric, systems) for kind, systems in rivals.items() if systems}
        means = summary.set_index("system")[f"{metric}_mean"]
        for system in learned:
            for kind, rival in strongest.items():
                if rival is None:
                    continue
                change, low, high = _paired_change(by_system[system][metric], by_system[rival][metric])
                rows.append(
                    {
                        "system": system,
                        "metric": metric,
                        "kind": kind,
                        "rival": rival,
                        "rival_mean": means[rival],
                        "mean": means[system],
                        "change": change,
                        "ci_low": low,
                        "ci_high": high,
                        "verdict": _verdict(metric, low, high),
                    }
                )
    return pd.DataFrame(rows, columns=VERSUS_COLUMNS)


def versus_markdown(comparison: pd.DataFrame, labels: dict[str, str]) -> str:
    """The comparisons of :func:`versus` as a section of a task's Markdown table: one
    table per metric, a row per learned system, a column per kind of rival."""
    if comparison.empty:
        return ""
    lines = [
        "## Learned models against the strongest other systems",
        "",
        "For each measure, every learned model against the system of each kind with the best mean on "
        "that measure. In each cell: the mean per-utterance change from that system, its 95% interval, "
        "and **better** or **worse** where the interval leaves out zero, level where it does not.",
    ]
    for metric, rows in comparison.groupby("metric", sort=False):
        rivals = rows.drop_duplicates("kind")
        header = ["learned system", "mean"] + [
            f"vs {labels[r.rival]} ({_number(r.rival_mean)})" + ("" if r.rival == REFERENCE else f", the best {r.kind}")
            for r in rivals.itertuples()
        ]
        lines += ["", f"### {_heading(metric)}", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
        for system, own in rows.groupby("system", sort=False):
            cells = [labels[system], _number(own["mean"].iloc[0])]
            for r in own.itertuples():
                verdict = f"**{r.verdict}**" if r.verdict in ("better", "worse") else r.verdict
                cells.append(
                    f"{_number(r.change, sign=True)} [{_number(r.ci_low, sign=True)}, "
                    f"{_number(r.ci_high, sign=True)}] {verdict}"
                )
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def standing_markdown(per_task: dict[str, pd.DataFrame], labels: dict[str, str]) -> str:
    """Per task and measure, the learned model with the best mean against the best of
    all other systems, from each task's :func:`versus` rows; empty without any."""
    lines = []
    for task, comparison in per_task.items():
        for metric, rows in comparison.groupby("metric", sort=False):
            pick = max if HIGHER_IS_BETTER[metric] else min
            best = pick(rows["system"].unique(), key=lambda system: rows.loc[rows["system"] == system, "mean"].iloc[0])
            own = rows[rows["system"] == best]
            row = own.loc[own["rival_mean"].idxmax() if HIGHER_IS_BETTER[metric] else own["rival_mean"].idxmin()]
            lines.append(
                f"| {task} | {_heading(metric)} | {labels[best]} ({_number(row['mean'])}) | "
                f"{labels[row['rival']]} ({_number(row['rival_mean'])}) | {_number(row['change'], sign=True)} "
                f"[{_number(row['ci_low'], sign=True)}, {_number(row['ci_high'], sign=True)}] {row['verdict']} |"
            )
    if not lines:
        return ""
    return (
        "\n".join(
            [
                "## Where the learned models stand",
                "",
                "Per task and measure, the learned model with the best mean against the best of all the other "
                "systems (the corrupted input, classical methods, peer denoisers): the mean per-utterance change, "
                "its 95% interval, and better, worse or level. Both are picked on the test split, so this says "
                "where the models stand, not which one to use: choose on the valid split.",
                "",
                "| task | measure | best learned model | best other system | change [95% interval] |",
                "|---|---|---|---|---|",
                *lines,
            ]
        )
        + "\n"
    )


def _latex_escape(text: str) -> str:
    for char, replacement in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(char, replacement)
    return text.replace("↑", r"$\uparrow$").replace("↓", r"$\downarrow$").replace("±", r"$\pm$")


def latex_table(summary: pd.DataFrame, metrics: list[str], labels: dict[str, str], caption: str) -> str:
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{_latex_escape(caption)}}}",
        r"\begin{tabular}{l" + "c" * len(metrics) + "}",
        r"\toprule",
        "System & " + " & ".join(_latex_escape(_heading(m)) for m in metrics) + r" \\",
        r"\midrule",
    ]
    for row in summary.itertuples(index=False):
        row = row._asdict()
        cells = [f"{_number(row[f'{m}_mean'])} $\\pm$ {_number(row[f'{m}_std'])}" for m in metrics]
        lines.append(_latex_escape(labels[row["system"]]) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def summary_markdown(
    per_task: dict[str, pd.DataFrame], labels: dict[str, str], metrics=("pesq", "stoi", "lsd", "region_snr")
) -> str:
    """Tasks side by side: one row per system, the main metrics of every task."""
    systems = []
    for summary in per_task.values():
        systems += [s for s in summary["system"] if s not in systems]
    columns = [(task, metric) for task in per_task for metric in metrics]
    lines = [
        "# Summary",
        "",
        "Mean per task (– where a system does not apply to a task). Per-task tables, with standard "
        "deviations, confidence intervals and changes from the corrupted input, are beside this file.",
        "",
        "| system | " + " | ".join(f"{task}: {_heading(metric)}" for task, metric in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for system in systems:
        cells = []
        for task, metric in columns:
            rows = per_task[task][per_task[task]["system"] == system]
            cells.append(_number(rows[f"{metric}_mean"].iloc[0]) if len(rows) else "–")
        lines.append(f"| {labels.get(system, system)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
