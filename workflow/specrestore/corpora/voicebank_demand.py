"""VoiceBank-DEMAND (Valentini-Botinhao et al., Edinburgh DataShare 10283/2791, CC BY 4.0):
VCTK sentences recorded at 48 kHz, each with a noisy copy (DEMAND and artificial noises
at 0/5/10/15 dB for training, 2.5/7.5/12.5/17.5 dB for testing).

Layout of the unpacked zips: ``<part>/<speaker>_<NNN>.wav`` for the parts
``clean_trainset_28spk_wav``, ``noisy_trainset_28spk_wav``, ``clean_testset_wav`` and
``noisy_testset_wav``; a noisy file has its clean file's name and length. The test set
(speakers p232 and p257) is the official test split; the training speakers named in the
config are held out for validation.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PARTS = {
    "train": ("clean_trainset_28spk_wav", "noisy_trainset_28spk_wav"),
    "test": ("clean_testset_wav", "noisy_testset_wav"),
}


def recordings(folder: Path) -> dict[str, Path]:
    """utterance id -> wav under one unpacked part (the zips hold a folder of the same name)."""
    found = {}
    for wav in sorted(Path(folder).rglob("*.wav")):
        if not wav.name.startswith(".") and "__MACOSX" not in wav.parts:
            found[wav.stem] = wav
    return found


def listing(folders: dict[str, Path], valid_speakers: list[str]) -> pd.DataFrame:
    """Every clean recording with its noisy partner (``noisy_path``; None where the
    release lacks one) and its split: test set -> test, held-out speakers -> valid."""
    rows = []
    for release_split, (clean_part, noisy_part) in PARTS.items():
        clean, noisy = recordings(folders[clean_part]), recordings(folders[noisy_part])
        if not clean:
            raise FileNotFoundError(f"{folders[clean_part]}: no .wav files (is it {clean_part}.zip?)")
        for utt, path in clean.items():
            speaker = utt.split("_")[0]
            split = release_split if release_split == "test" else ("valid" if speaker in valid_speakers else "train")
            partner = noisy.get(utt)
            rows.append(
                {
                    "path": str(path),
                    "speaker": speaker,
                    "split": split,
                    "noisy_path": str(partner.resolve()) if partner else None,
                }
            )
    table = pd.DataFrame(rows, columns=["path", "speaker", "split", "noisy_path"])
    training_speakers = set(table.loc[table["split"] != "test", "speaker"])
    unknown = sorted(set(valid_speakers) - training_speakers)
    if unknown:
        raise ValueError(
            f"corpora.voicebank_demand.valid_speakers: {unknown} are not training speakers "
            f"(they are {sorted(training_speakers)})"
        )
    if not (table["split"] == "train").any():
        raise ValueError("corpora.voicebank_demand.valid_speakers holds out every training speaker")
    return table
