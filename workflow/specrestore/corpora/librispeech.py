"""LibriSpeech (OpenSLR resource 12): read English audiobooks, 16 kHz FLAC.

Layout of an unpacked subset archive: ``LibriSpeech/<subset>/<speaker>/<chapter>/``
holding ``<speaker>-<chapter>-<NNNN>.flac`` and ``<speaker>-<chapter>.trans.txt`` (one
``<id> TRANSCRIPT`` line per utterance). The subsets are speaker-disjoint, so they are
the official splits: train-clean-100 for training, dev-clean for validation,
test-clean for testing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def transcripts(chapter_dir: Path) -> dict[str, str]:
    texts = {}
    for trans in chapter_dir.glob("*.trans.txt"):
        for line in trans.read_text(encoding="utf-8").splitlines():
            utt, _, text = line.strip().partition(" ")
            if utt:
                texts[utt] = text
    return texts


def listing(subset_roots: dict[str, tuple[str, Path]]) -> pd.DataFrame:
    """Every utterance of the given subsets: split -> (subset name, unpacked folder)."""
    rows = []
    for split, (subset, root) in subset_roots.items():
        base = Path(root) / "LibriSpeech" / subset
        if not base.is_dir():
            raise FileNotFoundError(f"{root}: no LibriSpeech/{subset} folder (is it the {subset} archive?)")
        for chapter_dir in sorted(p for p in base.glob("*/*") if p.is_dir()):
            texts = transcripts(chapter_dir)
            for flac in sorted(chapter_dir.glob("*.flac")):
                rows.append(
                    {
                        "path": str(flac),
                        "speaker": chapter_dir.parent.name,
                        "split": split,
                        "subset": subset,
                        "chapter": chapter_dir.name,
                        "text": texts.get(flac.stem),
                    }
                )
    return pd.DataFrame(rows, columns=["path", "speaker", "split", "subset", "chapter", "text"])
