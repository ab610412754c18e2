"""CSTR VCTK 0.92: 110 English speakers, 48 kHz FLAC, two microphones.

Layout of the unpacked ``VCTK-Corpus-0.92.zip``: ``wav48_silence_trimmed/<spk>/
<spk>_<NNN>_mic<1|2>.flac``, ``txt/<spk>/<spk>_<NNN>.txt``, ``speaker-info.txt``. Known
gaps in the release: p315 has no transcripts, p280 has no mic2 recordings. VCTK has no
official split; the manifest splits it by speaker.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def speaker_info(root: Path) -> pd.DataFrame:
    """speaker-info.txt as a table (ID, AGE, GENDER, ACCENTS, REGION)."""
    rows = []
    lines = (Path(root) / "speaker-info.txt").read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        parts = line.split()
        if len(parts) >= 4:
            rows.append({"speaker": parts[0], "age": parts[1], "gender": parts[2], "accent": parts[3]})
    return pd.DataFrame(rows, columns=["speaker", "age", "gender", "accent"])


def listing(root: Path, mic: str = "mic1") -> pd.DataFrame:
    """Every recording of one microphone, with its transcript where the release has one."""
    root = Path(root)
    audio = root / "wav48_silence_trimmed"
    if not audio.is_dir():
        raise FileNotFoundError(f"{root}: no wav48_silence_trimmed folder (is it VCTK-Corpus-0.92?)")
    info = speaker_info(root).set_index("speaker") if (root / "speaker-info.txt").is_file() else None
    rows = []
    for flac in sorted(audio.glob(f"*/*_{mic}.flac")):
        speaker = flac.parent.name
        utt = flac.name.removesuffix(f"_{mic}.flac")
        text_file = root / "txt" / speaker / f"{utt}.txt"
        row = {
            "path": str(flac),
            "speaker": speaker,
            "text": text_file.read_text(encoding="utf-8").strip() if text_file.is_file() else None,
            "mic": mic,
        }
        if info is not None and speaker in info.index:
            row["gender"], row["accent"] = info.at[speaker, "gender"], info.at[speaker, "accent"]
        rows.append(row)
    return pd.DataFrame(rows, columns=["path", "speaker", "text", "mic", "gender", "accent"])
