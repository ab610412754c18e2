"""ESC-50: 2,000 five-second environmental recordings, 50 classes in 5 folds, 44.1 kHz
(CC BY-NC 3.0, K. J. Piczak). Layout of the GitHub archive at a commit, unpacked without
its ``ESC-50-<commit>/`` folder: ``audio/<fold>-<freesound id>-<take>-<target>.wav`` and
``meta/esc50.csv`` (filename, fold, target, category, esc10, src_file, take). Clips cut
from one source recording share a fold, so splitting by fold keeps test noise unheard.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def listing(root: Path, folds: dict[str, list[int]]) -> pd.DataFrame:
    """The clips of each split's folds: split -> fold numbers."""
    root = Path(root)
    meta_file = root / "meta" / "esc50.csv"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{root}: no meta/esc50.csv (is it the ESC-50 archive?)")
    meta = pd.read_csv(meta_file)
    split_of_fold = {fold: split for split, numbers in folds.items() for fold in numbers}
    meta = meta[meta["fold"].isin(split_of_fold)].copy()
    meta["split"] = meta["fold"].map(split_of_fold)
    meta["path"] = [str(root / "audio" / name) for name in meta["filename"]]
    return meta[["path", "split", "fold", "category", "target", "src_file"]].reset_index(drop=True)
