"""The utterance manifest: one row per usable recording with its speaker, split and shard.

Splits are speaker-disjoint: whole speakers (or groups of speakers that must stay
together, such as two speakers reading the same prompts) are assigned to a split.
Groups are put in an order fixed by a stable hash of the group name and the seed,
then cut at the configured fractions of the total duration, so a split's share of the
audio follows the fractions even when speakers have very different amounts of speech.
Utterances go to shards by a stable hash of their id.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .audio import AudioError, AudioInfo, find_audio_files, probe
from .seeding import shard_of, stable_hash

SPLITS = ("train", "valid", "test")
MANIFEST_COLUMNS = [
    "id",
    "speaker",
    "split",
    "shard",
    "path",
    "duration_s",
    "sample_rate",
    "channels",
    "frames",
    "format",
    "subtype",
]
REJECTED_COLUMNS = ["path", "id", "stage", "reason"]


class ManifestError(Exception):
    pass


def scan_folder(
    root: str | Path,
    extensions=("wav", "flac", "ogg"),
    speaker_regex: str | None = None,
    min_duration_s: float = 0.0,
    max_duration_s: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Probe every recording under ``root``. Returns the usable ones (id, speaker, path,
    header facts) and the rejected ones (path, reason).

    The speaker is the name of the file's parent folder, or the ``speaker`` group (else
    group 1) of ``speaker_regex`` searched in the path relative to ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise ManifestError(f"corpus folder {root} does not exist or is not a directory")
    pattern = re.compile(speaker_regex) if speaker_regex else None
    rows, rejected = [], []
    for path in find_audio_files(root, extensions):
        relative = path.relative_to(root).as_posix()
        if pattern is not None:
            match = pattern.search(relative)
            if match is None:
                rejected.append(_rejection(path, "", "manifest", f"speaker_regex {speaker_regex!r} does not match"))
                continue
            speaker = match.group("speaker") if "speaker" in pattern.groupindex else match.group(1)
        else:
            speaker = path.parent.name
        row, rejection = _probe_entry(path, speaker, relative, min_duration_s, max_duration_s)
        if rejection:
            rejected.append(rejection)
        else:
            rows.append(row)
    # The header facts (path onwards) keep the manifest's column order.
    entries = pd.DataFrame(rows, columns=["speaker", "stem", "relative", *MANIFEST_COLUMNS[4:]])
    entries.insert(0, "id", _utterance_ids(entries))
    return entries.drop(columns=["stem", "relative"]), pd.DataFrame(rejected, columns=REJECTED_COLUMNS)


def _probe_entry(
    path: Path, speaker: str, relative: str, min_duration_s: float, max_duration_s: float | None
) -> tuple[dict | None, dict | None]:
    """One recording's manifest row from its header, or why it cannot be used."""
    try:
        info = probe(path)
    except AudioError as err:
        return None, _rejection(path, "", "manifest", err.reason)
    if info.duration_s < min_duration_s:
        reason = f"too short: {_length(info)}; at least {min_duration_s:g} s needed (preprocess.min_duration_s)"
        return None, _rejection(path, "", "manifest", reason)
    if max_duration_s is not None and info.duration_s > max_duration_s:
        reason = f"too long: {_length(info)}; at most {max_duration_s:g} s allowed (preprocess.max_duration_s)"
        return None, _rejection(path, "", "manifest", reason)
    row = {
        "speaker": _safe(speaker),
        "stem": path.stem,
        "relative": relative,
        "path": str(path.resolve()),
        "duration_s": info.duration_s,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "frames": info.frames,
        "format": info.format,
        "subtype": info.subtype,
    }
    return row, None


def scan_listing(
    listing: pd.DataFrame, root: str | Path, min_duration_s: float = 0.0, max_duration_s: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`scan_folder` for a corpus that names its own recordings and speakers
    (``listing``: path, speaker and any metadata such as split or text). Listed files
    that are missing or unreadable are rejected with the reason, like any other."""
    root = Path(root)
    rows, rejected, extra = [], [], []
    metadata = [c for c in listing.columns if c not in ("path", "speaker")]
    for record in listing.to_dict("records"):
        path = Path(record["path"])
        relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
        row, rejection = _probe_entry(path, str(record["speaker"]), relative, min_duration_s, max_duration_s)
        if rejection is None and "noisy_path" in record:
            rejection = _pair_problem(path, record["noisy_path"], row)
        if rejection:
            rejected.append(rejection)
            continue
        rows.append(row)
        extra.append({c: record[c] for c in metadata})
    entries = pd.DataFrame(rows, columns=["speaker", "stem", "relative", *MANIFEST_COLUMNS[4:]])
    entries.insert(0, "id", _utterance_ids(entries))
    entries = pd.concat([entries, pd.DataFrame(extra, columns=metadata, index=entries.index)], axis=1)
    return entries.drop(columns=["stem", "relative"]), pd.DataFrame(rejected, columns=REJECTED_COLUMNS)


def _pair_problem(path: Path, noisy_path: str | None, row: dict) -> dict | None:
    """Why a clean recording cannot be paired with its noisy one, if it cannot."""
    if not isinstance(noisy_path, str) or not noisy_path:  # None, or NaN once in a table
        return _rejection(path, "", "manifest", "no noisy recording of the same name to pair with")
    try:
        noisy = probe(noisy_path)
    except AudioError as err:
        return _rejection(path, "", "manifest", f"its noisy recording {noisy_path}: {err.reason}")
    if (noisy.frames, noisy.sample_rate) != (row["frames"], row["sample_rate"]):
        reason = (
            f"its noisy recording {noisy_path} has {noisy.frames} samples at {noisy.sample_rate} Hz, "
            f"the clean one {row['frames']} at {row['sample_rate']} Hz"
        )
        return _rejection(path, "", "manifest", reason)
    return None


def _length(info: AudioInfo) -> str:
    """A recording's length for a rejection reason. The sample count comes along, since
    seconds rounded to a few digits can read as zero (one sample) or as the very limit
    that rejected the file (7999 samples at 16 kHz against 0.5 s)."""
    samples = f"{info.frames} sample{'' if info.frames == 1 else 's'}"
    if round(info.duration_s, 3) == 0:
        seconds = np.format_float_positional(info.duration_s, precision=3, unique=False, fractional=False, trim="-")
        return f"{samples} ({seconds} s) at {info.sample_rate} Hz"
    return f"{info.duration_s:.3f} s ({samples} at {info.sample_rate} Hz)"


def _rejection(path, utt_id: str, stage: str, reason: str) -> dict:
    return {"path": str(path), "id": utt_id, "stage": stage, "reason": reason}


def _safe(text: str) -> str:
    """Ids go into file names and archive keys: keep them to letters, digits, _ . -"""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "unnamed"


def _utterance_ids(entries: pd.DataFrame) -> list[str]:
    """``<speaker>_<stem>`` unless the file name already starts with the speaker (as in
    LibriSpeech's ``103-1240-0000``); a short hash of the relative path breaks ties."""
    ids = []
    for speaker, stem in zip(entries["speaker"], entries["stem"]):
        stem = _safe(stem)
        ids.append(stem if stem.startswith(speaker) else f"{speaker}_{stem}")
    counts = pd.Series(ids).value_counts()
    return [
        f"{utt}_{stable_hash(rel) % 16**6:06x}" if counts[utt] > 1 else utt
        for utt, rel in zip(ids, entries["relative"])
    ]


def assign_splits(group_durations: dict[str, float], fractions: dict[str, float], seed: int) -> dict[str, str]:
    """Map each group to a split. Groups are ordered by a stable hash of (seed, group)
    and cut at the cumulative duration fractions (a group goes where its midpoint
    falls). Every split with a positive fraction gets at least one group whenever
    there are enough groups."""
    names = [s for s in SPLITS if fractions.get(s, 0) > 0]
    if not names:
        raise ManifestError("every split fraction is zero")
    if not group_durations:
        return {}
    total_fraction = sum(fractions[s] for s in names)
    bounds, upper = [], 0.0
    for s in names:
        upper += fractions[s] / total_fraction
        bounds.append(upper)
    order = sorted(group_durations, key=lambda g: (stable_hash(seed, "split", g), g))
    total = sum(group_durations.values()) or 1.0
    assignment, cumulative = {}, 0.0
    for group in order:
        middle = (cumulative + group_durations[group] / 2) / total
        assignment[group] = next((s for s, b in zip(names, bounds) if middle < b), names[-1])
        cumulative += group_durations[group]
    _fill_empty_splits(assignment, names, group_durations, order)
    return assignment


def _fill_empty_splits(assignment, names, durations, order) -> None:
    """A large group can swallow a small split's whole interval; then move the nearest
    group (in hash order) from a split that has more than one."""
    for split in names:
        while split not in assignment.values():
            counts = {s: list(assignment.values()).count(s) for s in names}
            donors = [g for g in order if counts[assignment[g]] > 1]
            if not donors:
                return
            target = names.index(split)
            group = min(donors, key=lambda g: (abs(names.index(assignment[g]) - target), durations[g]))
            assignment[group] = split


def build_manifest(
    entries: pd.DataFrame,
    fractions: dict[str, float],
    seed: int,
    n_shards: int,
    split_groups: list[list[str]] | None = None,
) -> pd.DataFrame:
    """Add split and shard to probed entries. ``split_groups`` lists speakers that must
    share a split; every other speaker is a group of its own."""
    if entries.empty:
        raise ManifestError("no usable recordings: every file was rejected or none was found")
    group_of = {s: s for s in entries["speaker"]}
    for group in split_groups or []:
        for speaker in group:
            group_of[speaker] = group[0]
    groups = entries["speaker"].map(group_of)
    manifest = entries.copy()
    if "split" in entries.columns and entries["split"].notna().all():
        # The corpus's own (official) splits, such as LibriSpeech's subsets.
        if set(entries["split"]) - set(SPLITS):
            raise ManifestError(f"unknown split names {sorted(set(entries['split']) - set(SPLITS))}")
    else:
        durations = entries.groupby(groups)["duration_s"].sum().to_dict()
        manifest["split"] = groups.map(assign_splits(durations, fractions, seed))
    manifest["shard"] = [shard_of(i, n_shards) for i in manifest["id"]]
    extra = [c for c in manifest.columns if c not in MANIFEST_COLUMNS]
    return manifest[MANIFEST_COLUMNS + extra].sort_values("id", ignore_index=True)


def prepare_manifest(
    root: str | Path,
    options: dict,
    preprocess: dict,
    fractions: dict[str, float],
    seed: int,
    n_shards: int,
    metadata: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scan a corpus folder and build its manifest. ``metadata`` (keyed by ``id``) adds
    columns such as the demo corpus's text and voice. Returns manifest and rejections."""
    entries, rejected = scan_folder(
        root,
        options.get("extensions", ("wav", "flac", "ogg")),
        options.get("speaker_regex"),
        preprocess.get("min_duration_s", 0.0),
        preprocess.get("max_duration_s"),
    )
    if entries.empty:
        found = "no recording was found" if rejected.empty else f"all {len(rejected)} recordings were rejected"
        raise ManifestError(f"no usable recordings under {root}: {found}")
    manifest = build_manifest(entries, fractions, seed, n_shards, options.get("split_groups"))
    if metadata is not None:
        extra = metadata.drop(columns=[c for c in metadata.columns if c in manifest.columns and c != "id"])
        manifest = manifest.merge(extra, on="id", how="left")
    return manifest, rejected


def split_summary(utterances: pd.DataFrame, splits=()) -> pd.DataFrame:
    """Speakers, utterances and minutes per split, with a row of zeros for each of
    ``splits`` that has no utterance (one whose every recording was rejected)."""
    summary = utterances.groupby("split").agg(
        speakers=("speaker", "nunique"), utterances=("id", "size"), minutes=("duration_s", lambda d: d.sum() / 60)
    )
    present = set(summary.index) | set(splits)
    summary = summary.reindex([s for s in SPLITS if s in present], fill_value=0).reset_index()
    summary["share"] = summary["minutes"] / summary["minutes"].sum()
    return summary.round({"minutes": 2, "share": 3})


def corpus_listing(corpus: str, options: dict) -> tuple[pd.DataFrame, Path]:
    """The recordings a downloaded corpus names (path, speaker, split where it has
    official ones, text), and the folder they are under. ``options["unpacked"]`` maps
    each archive key to its unpacked folder."""
    from .corpora import commonvoice, librispeech, vctk, voicebank_demand

    folders = {key: Path(folder) for key, folder in options["unpacked"].items()}
    if corpus == "librispeech":
        roots = {split: (subset, folders[subset]) for split, subset in options["subsets"].items()}
        return librispeech.listing(roots), Path(next(iter(folders.values()))).parent
    if corpus == "vctk":
        root = folders["VCTK-Corpus-0.92"]
        return vctk.listing(root, options["mic"]), root
    if corpus == "voicebank_demand":
        return voicebank_demand.listing(folders, options["valid_speakers"]), next(iter(folders.values())).parent
    if corpus == "commonvoice":
        root = next(iter(folders.values()))
        return commonvoice.listing(root, options["release"], options["language"]), root
    raise ManifestError(f"corpus {corpus!r} is not a downloaded corpus")


def prepare_listed_manifest(
    corpus: str, options: dict, preprocess: dict, fractions: dict[str, float], seed: int, n_shards: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`prepare_manifest` for a downloaded corpus: its own listing, its official
    splits where it has them (otherwise split by speaker)."""
    listing, root = corpus_listing(corpus, options)
    if listing.empty:
        raise ManifestError(f"{corpus}: no recordings found under {root}")
    entries, rejected = scan_listing(
        listing, root, preprocess.get("min_duration_s", 0.0), preprocess.get("max_duration_s")
    )
    if entries.empty:
        raise ManifestError(f"{corpus}: all {len(rejected)} recordings under {root} were rejected")
    manifest = build_manifest(entries, fractions, seed, n_shards, options.get("split_groups"))
    return manifest, rejected
