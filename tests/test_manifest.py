import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from specrestore.manifest import (
    MANIFEST_COLUMNS,
    ManifestError,
    assign_splits,
    build_manifest,
    prepare_manifest,
    scan_folder,
    split_summary,
)
from specrestore.seeding import shard_of

FRACTIONS = {"train": 0.8, "valid": 0.1, "test": 0.1}


def _write(path, seconds=1.0, rate=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, 0.1 * np.sin(2 * np.pi * 200 * t), rate)


def test_speaker_from_parent_folder_or_regex(tmp_path):
    _write(tmp_path / "libri" / "103" / "103-1240-0000.flac")
    _write(tmp_path / "arctic" / "bdl" / "arctic_a0001.wav")
    _write(tmp_path / "flat" / "spk7-take2.wav")
    entries, rejected = scan_folder(tmp_path)
    assert rejected.empty
    assert dict(zip(entries["id"], entries["speaker"])) == {
        "103-1240-0000": "103",  # already starts with its speaker
        "bdl_arctic_a0001": "bdl",
        "flat_spk7-take2": "flat",
    }
    entries, rejected = scan_folder(tmp_path, speaker_regex=r"(?P<speaker>spk\d+)")
    assert list(entries["speaker"]) == ["spk7"]
    assert len(rejected) == 2 and rejected["reason"].str.contains("speaker_regex").all()


def test_duplicate_ids_get_a_path_hash(tmp_path):
    _write(tmp_path / "a" / "s1" / "x.wav")
    _write(tmp_path / "b" / "s1" / "x.wav")
    entries, _ = scan_folder(tmp_path)
    assert entries["id"].is_unique and all(i.startswith("s1_x_") for i in entries["id"])


def test_duration_limits(tmp_path):
    _write(tmp_path / "s" / "short.wav", 0.2)
    _write(tmp_path / "s" / "long.wav", 3.0)
    _write(tmp_path / "s" / "fine.wav", 1.0)
    entries, rejected = scan_folder(tmp_path, min_duration_s=0.5, max_duration_s=2.0)
    assert list(entries["id"]) == ["s_fine"]
    reasons = dict(zip(rejected["path"].map(lambda p: p.split("/")[-1]), rejected["reason"]))
    assert reasons == {
        "short.wav": "too short: 0.200 s (3200 samples at 16000 Hz); at least 0.5 s needed (preprocess.min_duration_s)",
        "long.wav": "too long: 3.000 s (48000 samples at 16000 Hz); at most 2 s allowed (preprocess.max_duration_s)",
    }


def test_a_length_that_rounds_to_the_limit_or_to_zero_is_given_in_samples(tmp_path):
    (tmp_path / "s").mkdir()
    for name, frames, rate in (
        ("one.wav", 1, 16000),
        ("seven.wav", 7, 16000),
        ("seven44k.wav", 7, 44100),
        ("almost.wav", 7999, 16000),
        ("enough.wav", 8000, 16000),
    ):
        sf.write(tmp_path / "s" / name, np.full(frames, 0.1), rate)
    entries, rejected = scan_folder(tmp_path, min_duration_s=0.5)
    assert list(entries["id"]) == ["s_enough"]
    reasons = dict(zip(rejected["path"].map(lambda p: p.split("/")[-1]), rejected["reason"]))
    needed = "; at least 0.5 s needed (preprocess.min_duration_s)"
    assert reasons == {
        "one.wav": "too short: 1 sample (0.0000625 s) at 16000 Hz" + needed,
        "seven.wav": "too short: 7 samples (0.000438 s) at 16000 Hz" + needed,
        "seven44k.wav": "too short: 7 samples (0.000159 s) at 44100 Hz" + needed,
        "almost.wav": "too short: 0.500 s (7999 samples at 16000 Hz)" + needed,
    }


def _groups(n, rng):
    return {f"spk{i:03d}": float(rng.uniform(10, 300)) for i in range(n)}


def test_splits_are_deterministic_and_follow_the_fractions():
    groups = _groups(200, np.random.default_rng(0))
    first = assign_splits(groups, FRACTIONS, seed=5)
    assert first == assign_splits(dict(reversed(list(groups.items()))), FRACTIONS, seed=5)
    assert first != assign_splits(groups, FRACTIONS, seed=6)
    total = sum(groups.values())
    for split, fraction in FRACTIONS.items():
        share = sum(d for g, d in groups.items() if first[g] == split) / total
        assert share == pytest.approx(fraction, abs=0.02)


def test_every_split_gets_a_speaker_even_when_one_speaker_dominates():
    groups = {"huge": 1000.0, "a": 10.0, "b": 12.0, "c": 9.0}
    for seed in range(20):
        assert set(assign_splits(groups, FRACTIONS, seed).values()) == {"train", "valid", "test"}


def _entries(speakers, per_speaker=5):
    rows = []
    for s in speakers:
        for i in range(per_speaker):
            rows.append(
                {
                    "id": f"{s}_{i}",
                    "speaker": s,
                    "path": f"/x/{s}/{i}.wav",
                    "duration_s": 2.0,
                    "sample_rate": 16000,
                    "channels": 1,
                    "frames": 32000,
                    "format": "WAV",
                    "subtype": "PCM_16",
                }
            )
    return pd.DataFrame(rows)


def test_manifest_splits_are_speaker_disjoint_and_groups_stay_together():
    entries = _entries([f"s{i}" for i in range(30)] + ["bdl", "slt"])
    manifest = build_manifest(entries, FRACTIONS, seed=3, n_shards=4, split_groups=[["bdl", "slt"]])
    assert list(manifest.columns[: len(MANIFEST_COLUMNS)]) == MANIFEST_COLUMNS
    assert (manifest.groupby("speaker")["split"].nunique() == 1).all()
    assert (
        manifest.loc[manifest.speaker == "bdl", "split"].iloc[0]
        == manifest.loc[manifest.speaker == "slt", "split"].iloc[0]
    )
    assert set(manifest["split"]) == {"train", "valid", "test"}
    assert all(manifest["shard"] == [shard_of(i, 4) for i in manifest["id"]])
    assert set(manifest["shard"]) == {0, 1, 2, 3}
    summary = split_summary(manifest)
    assert summary["utterances"].sum() == len(manifest) and summary["share"].sum() == pytest.approx(1, abs=0.01)


def test_shards_do_not_move_when_the_corpus_grows():
    small = build_manifest(_entries(["a", "b", "c"]), FRACTIONS, 1, 8).set_index("id")["shard"]
    large = build_manifest(_entries(["a", "b", "c", "d", "e"]), FRACTIONS, 1, 8).set_index("id")["shard"]
    assert (large.loc[small.index] == small).all()


def test_nothing_usable_says_so(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "empty.wav").write_bytes(b"")
    with pytest.raises(ManifestError, match=r"no usable recordings.*all 1 recordings were rejected"):
        prepare_manifest(tmp_path, {}, {}, FRACTIONS, 1, 2)
    with pytest.raises(ManifestError, match="no recording was found"):
        prepare_manifest(tmp_path / "s" / "..", {"extensions": ["flac"]}, {}, FRACTIONS, 1, 2)


def test_realmini_manifest(realmini):
    manifest, rejected = prepare_manifest(
        realmini,
        {"extensions": ["wav", "flac"], "split_groups": [["bdl", "slt"]]},
        {"min_duration_s": 0.5},
        FRACTIONS,
        1234,
        8,
    )
    assert rejected.empty
    assert len(manifest) == 362 and manifest["speaker"].nunique() == 106
    assert (manifest.groupby("speaker")["split"].nunique() == 1).all()
    arctic = manifest[manifest.speaker.isin(["bdl", "slt"])]
    assert arctic["split"].nunique() == 1
    shares = split_summary(manifest).set_index("split")["share"]
    assert shares["train"] > 0.6 and shares["test"] > 0.05


def test_paired_recordings_without_a_usable_partner_are_rejected(tmp_path):
    from specrestore.manifest import scan_listing

    clean, noisy = tmp_path / "clean", tmp_path / "noisy"
    for name, seconds in (("p1_001", 1.0), ("p1_002", 1.0), ("p1_003", 1.0), ("p1_004", 1.0)):
        _write(clean / f"{name}.wav", seconds)
    _write(noisy / "p1_001.wav", 1.0)
    _write(noisy / "p1_002.wav", 0.5)  # not the clean one's length
    (noisy / "p1_003.wav").write_bytes(b"RIFF....")  # unreadable
    listing = pd.DataFrame(
        {
            "path": [str(clean / f"p1_00{i}.wav") for i in range(1, 5)],
            "speaker": "p1",
            "split": "train",
            "noisy_path": [str(noisy / f"p1_00{i}.wav") for i in range(1, 4)] + [None],
        }
    )
    entries, rejected = scan_listing(listing, tmp_path)
    assert list(entries["id"]) == ["p1_001"] and entries["noisy_path"].iloc[0].endswith("noisy/p1_001.wav")
    reasons = dict(zip(rejected["path"].map(lambda p: p[-10:]), rejected["reason"]))
    assert "8000 samples" in reasons["p1_002.wav"] and "16000" in reasons["p1_002.wav"]
    assert "not a readable audio file" in reasons["p1_003.wav"]
    assert "no noisy recording" in reasons["p1_004.wav"]


def test_voicebank_listing_holds_out_validation_speakers(tmp_path):
    import corpus_archives
    from specrestore.corpora import voicebank_demand
    from specrestore.download import extract

    folders = {}
    for part in ("clean_trainset_28spk_wav", "noisy_trainset_28spk_wav", "clean_testset_wav", "noisy_testset_wav"):
        (tmp_path / f"{part}.zip").write_bytes(corpus_archives.voicebank(part))
        folders[part] = extract(tmp_path / f"{part}.zip", tmp_path / part)
    listing = voicebank_demand.listing(folders, ["p287"])
    assert listing.groupby("split")["speaker"].unique().map(sorted).to_dict() == {
        "test": ["p232", "p257"],
        "train": ["p226"],
        "valid": ["p287"],
    }
    assert all(n.replace("noisy_", "clean_") == c for c, n in zip(listing["path"], listing["noisy_path"]))
    with pytest.raises(ValueError, match=r"\['p999'\] are not training speakers"):
        voicebank_demand.listing(folders, ["p999"])
    with pytest.raises(ValueError, match="every training speaker"):
        voicebank_demand.listing(folders, ["p226", "p287"])


def test_a_split_that_lost_every_utterance_stays_in_the_summary_as_zeros():
    utterances = _entries(["a", "b"], per_speaker=3).assign(split=["train"] * 3 + ["valid"] * 3)
    summary = split_summary(utterances, ["train", "valid", "test"]).set_index("split")
    assert list(summary.index) == ["train", "valid", "test"]
    assert summary.loc["test"].tolist() == [0, 0, 0.0, 0.0]
    assert summary.loc["train", "utterances"] == 3 and summary["share"].sum() == pytest.approx(1)
    assert list(split_summary(utterances)["split"]) == ["train", "valid"]


def _corpus_with_unusable_samples(root):
    """Eight speakers of good recordings and the bad-input set, whose truncated, all-zero
    and NaN files pass the manifest's header checks and fail the resample stage."""
    from conftest import write_bad_input_set

    rate = 16000
    t = np.arange(rate) / rate
    voice = (0.2 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    expected = write_bad_input_set(root, voice, rate)
    for speaker in range(8):
        for take in range(2):
            _write(root / f"good{speaker}" / f"take{take}.wav", 1.0 + 0.1 * take)
    return expected


def test_final_split_counts_leave_out_recordings_the_resample_stage_rejects(tmp_path):
    from specrestore.features import prepare_shard

    expected = _corpus_with_unusable_samples(tmp_path / "corpus")
    manifest, rejected = prepare_manifest(tmp_path / "corpus", {}, {"min_duration_s": 0.5}, FRACTIONS, 1, 2)
    assert list(rejected["reason"].str.split(":").str[0]) == ["zero-length file"]
    shards = [prepare_shard(manifest[manifest["shard"] == s], 16000, -26) for s in (0, 1)]
    utterances = pd.concat([table for _, table, _ in shards], ignore_index=True)
    late = pd.concat([rejects for _, _, rejects in shards], ignore_index=True)
    assert sorted(late["path"].map(lambda p: p.split("/")[-1])) == sorted(
        name for name, reason in expected.items() if reason and name != "empty.wav"
    )

    before = split_summary(manifest).set_index("split")
    after = split_summary(utterances, manifest["split"].unique()).set_index("split")
    lost = manifest[manifest["id"].isin(late["id"])].groupby("split").size()
    assert lost.sum() == 3
    for split in before.index:
        assert after.loc[split, "utterances"] == before.loc[split, "utterances"] - lost.get(split, 0)
        assert after.loc[split, "minutes"] == pytest.approx(
            utterances.loc[utterances["split"] == split, "duration_s"].sum() / 60, abs=0.005
        )
    assert after["utterances"].sum() == len(manifest) - 3 == len(utterances)


@pytest.mark.slow
def test_the_run_writes_the_final_split_counts_after_the_sample_checks(tmp_path):
    from conftest import run, tiny_config

    _corpus_with_unusable_samples(tmp_path / "corpus")
    config = tiny_config(
        corpus="folder", corpora={"folder": {"path": str(tmp_path / "corpus")}}, tasks=[{"name": "gap", "gap": {}}]
    )
    result = run(tmp_path / "run", config, "results/audio/splits.csv")
    assert result.returncode == 0, result.stderr[-5000:]
    results = tmp_path / "run" / "results"
    manifest = pd.read_parquet(results / "manifest" / "utterances.parquet")
    utterances = pd.read_parquet(results / "audio" / "utterances.parquet")
    splits = pd.read_csv(results / "audio" / "splits.csv")
    assert list(splits.columns) == ["split", "speakers", "utterances", "minutes", "share"]
    assert splits["utterances"].sum() == len(utterances) == len(manifest) - 3
    counts = utterances.groupby("split")["id"].size()
    assert dict(zip(splits["split"], splits["utterances"])) == {s: counts.get(s, 0) for s in splits["split"]}
    assert set(splits["split"]) == set(manifest["split"])
    assert not (results / "manifest" / "splits.csv").exists()
