"""Mozilla Common Voice: crowd-sourced read speech, MP3 clips, CC0.

Layout of an unpacked ``<release>-<language>.tar.gz``: ``<release>/<language>/clips/
common_voice_<language>_<N>.mp3`` and tab-separated tables (``train.tsv``, ``dev.tsv``,
``test.tsv``, ``validated.tsv`` ...) with ``client_id`` (the speaker, a 128-digit hash),
``path`` (the clip's file name), ``sentence``, ``age``, ``gender``, ``accents``. The
train/dev/test tables are Mozilla's speaker-disjoint official splits. Sentences may hold
double quotes, so the tables are read without quote handling.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

SPLIT_TABLES = {"train": "train.tsv", "valid": "dev.tsv", "test": "test.tsv"}
# 64 bits of the client id: unique among any release's speakers, short enough for ids.
SPEAKER_DIGITS = 16


def listing(root: Path, release: str, language: str) -> pd.DataFrame:
    """The clips of the official train/dev/test tables, under ``root`` (the unpacked archive)."""
    base = Path(root) / release / language
    missing = [name for name in SPLIT_TABLES.values() if not (base / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{root}: no {release}/{language}/{missing[0]} (is it the Common Voice archive of release "
            f"{release!r} for language {language!r}? corpora.commonvoice.release and .language must match it)"
        )
    tables = []
    for split, name in SPLIT_TABLES.items():
        table = pd.read_csv(
            base / name, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False, on_bad_lines="warn"
        )
        table["split"] = split
        tables.append(table)
    clips = pd.concat(tables, ignore_index=True)
    return pd.DataFrame(
        {
            "path": [str(base / "clips" / name) for name in clips["path"]],
            "speaker": [f"cv{client[:SPEAKER_DIGITS]}" for client in clips["client_id"]],
            "split": clips["split"],
            "text": clips["sentence"],
            "age": clips.get("age"),
            "gender": clips.get("gender"),
            "accents": clips.get("accents", clips.get("accent")),
        }
    )
