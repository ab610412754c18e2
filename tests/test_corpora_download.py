"""Real corpora through the workflow: archives in each corpus's real layout, served from
127.0.0.1 and named in the config exactly as a user would name a mirror."""

import hashlib

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import corpus_archives
from conftest import run, tiny_config

pytestmark = pytest.mark.slow

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SUBSETS = {"train": "train-clean-100", "valid": "dev-clean", "test": "test-clean"}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def serve_librispeech_and_esc50(server) -> dict:
    archives = {}
    for subset in SUBSETS.values():
        data = corpus_archives.librispeech(subset)
        server.add(f"resources/12/{subset}.tar.gz", data)
        archives[subset] = {"checksum": sha256(data)}
    esc = corpus_archives.esc50(COMMIT)
    url = server.add(f"karolpiczak/ESC-50/archive/{COMMIT}.zip", esc)
    return {
        "corpus": "librispeech",
        "corpora": {"librispeech": {"mirror": f"{server.base_url}/resources/12", "archives": archives}},
        "noise": "esc50",
        "noise_sources": {"esc50": {"commit": COMMIT, "archive": {"url": url, "checksum": sha256(esc)}}},
        "downloads": {"backoff_s": 0},
        "tasks": [{"name": "noise", "noise": {}}],
    }


def test_librispeech_and_esc50_are_downloaded_and_prepared(archive_server, tmp_path):
    config = tiny_config(**serve_librispeech_and_esc50(archive_server))
    size = len(corpus_archives.librispeech("dev-clean"))
    assert size > 4 * 2**14  # more than the downloader's reads, so the cut leaves some behind
    archive_server.cut_next("resources/12/dev-clean.tar.gz", after_bytes=size // 2)
    archive_server.fail_next("resources/12/test-clean.tar.gz", status=500)
    result = run(tmp_path, config, "results/manifest/utterances.parquet", "results/noise/bank.parquet")
    assert result.returncode == 0, result.stderr[-4000:]
    manifest = pd.read_parquet(tmp_path / "results/manifest/utterances.parquet")
    # Official splits: each subset is one split, and the subsets are speaker-disjoint.
    by_split = manifest.groupby("split")["subset"].unique()
    assert {split: list(subsets) for split, subsets in by_split.items()} == {s: [v] for s, v in SUBSETS.items()}
    assert manifest["text"].notna().all() and (manifest["sample_rate"] == 16000).all()
    assert manifest.groupby("speaker")["split"].nunique().max() == 1
    bank = pd.read_parquet(tmp_path / "results/noise/bank.parquet")
    meta = pd.read_csv(tmp_path / "resources/esc50/unpacked/ESC-50/meta/esc50.csv")
    folds = {"train": {1, 2, 3}, "valid": {4}, "test": {5}}
    for row in bank.itertuples():
        clip = meta.set_index("filename").loc[row.sources + ".wav"]
        assert clip["fold"] in folds[row.split] and row.kind == clip["category"]
    assert set(bank["split"]) == {"train", "valid", "test"}
    statuses = [(r["path"].rsplit("/", 1)[-1], r["status"]) for r in archive_server.requests if r["method"] == "GET"]
    assert ("dev-clean.tar.gz", 206) in statuses  # resumed after the cut
    assert ("test-clean.tar.gz", 500) in statuses and ("test-clean.tar.gz", 200) in statuses
    assert not list((tmp_path / "resources").rglob("*.partial"))


def test_a_wrong_checksum_stops_before_anything_is_unpacked(archive_server, tmp_path):
    settings = serve_librispeech_and_esc50(archive_server)
    settings["corpora"]["librispeech"]["archives"]["dev-clean"]["checksum"] = "md5:" + "0" * 32
    result = run(tmp_path, tiny_config(**settings), "results/manifest/utterances.parquet")
    assert result.returncode != 0
    log = (tmp_path / "results/logs/download/librispeech/dev-clean.tar.gz.log").read_text()
    assert "expected 00000000000000000000000000000000" in log
    assert not (tmp_path / "resources/librispeech/unpacked/dev-clean").exists()
    assert not (tmp_path / "resources/librispeech/archives/dev-clean.tar.gz").exists()
    assert not (tmp_path / "results/manifest/utterances.parquet").exists()


def test_vctk_listing_keeps_its_known_gaps(tmp_path):
    from specrestore.corpora import vctk
    from specrestore.download import extract

    archive = tmp_path / "VCTK-Corpus-0.92.zip"
    archive.write_bytes(corpus_archives.vctk())
    root = extract(archive, tmp_path / "vctk")
    mic1, mic2 = vctk.listing(root, "mic1"), vctk.listing(root, "mic2")
    assert set(mic1["speaker"]) == {"p225", "p226", "p227", "p228", "p280", "p315"}
    assert "p280" not in set(mic2["speaker"])  # the release has no mic2 for p280
    assert mic1.loc[mic1.speaker == "p315", "text"].isna().all()  # nor transcripts for p315
    assert mic1.loc[mic1.speaker != "p315", "text"].notna().all()
    assert set(mic1["gender"]) <= {"F", "M"}


def test_vctk_is_downloaded_and_split_by_speaker(archive_server, tmp_path):
    data = corpus_archives.vctk()
    url = archive_server.add("bitstream/handle/10283/3443/VCTK-Corpus-0.92.zip", data)
    settings = {
        "corpus": "vctk",
        "corpora": {"vctk": {"mic": "mic2", "archive": {"url": url, "checksum": sha256(data)}}},
        "preprocess": {"min_duration_s": 0.1},
        "splits": {"train": 0.6, "valid": 0.2, "test": 0.2},
    }
    result = run(tmp_path, tiny_config(**settings), "results/manifest/utterances.parquet")
    assert result.returncode == 0, result.stderr[-4000:]
    manifest = pd.read_parquet(tmp_path / "results/manifest/utterances.parquet")
    assert manifest["path"].str.endswith("_mic2.flac").all() and (manifest["sample_rate"] == 48000).all()
    assert set(manifest["speaker"]) == {"p225", "p226", "p227", "p228", "p315"}  # p280 has no mic2
    assert manifest.groupby("speaker")["split"].nunique().max() == 1
    assert set(manifest["split"]) == {"train", "valid", "test"}
    assert manifest.loc[manifest.speaker == "p315", "text"].isna().all()


def serve_voicebank(server) -> dict:
    archives = {}
    for part in corpus_archives.VOICEBANK_PARTS:
        if part.endswith("_wav"):
            data = corpus_archives.voicebank(part)
            url = server.add(f"bitstreams/{part}/download", data)
            archives[part] = {"url": url, "checksum": "md5:" + hashlib.md5(data).hexdigest()}
    return {
        "corpus": "voicebank_demand",
        "corpora": {"voicebank_demand": {"valid_speakers": ["p287"], "archives": archives}},
        "noise": "paired",
        "sample_rate": 48000,
        "preprocess": {"min_duration_s": 0.1},
        "downloads": {"backoff_s": 0},
        "tasks": [{"name": "noise", "noise": {}}],
    }


def test_voicebank_demand_noise_task_uses_its_own_pairs(archive_server, tmp_path):
    from specrestore.store import ArrayFile

    config = tiny_config(**serve_voicebank(archive_server))
    shards = [f"results/corrupt/noise/{i:03d}.parquet" for i in range(config["shards"])]
    result = run(tmp_path, config, "results/manifest/utterances.parquet", *shards)
    assert result.returncode == 0, result.stderr[-4000:]
    manifest = pd.read_parquet(tmp_path / "results/manifest/utterances.parquet")
    speakers = manifest.groupby("split")["speaker"].unique().map(sorted).to_dict()
    assert speakers == {"test": ["p232", "p257"], "train": ["p226"], "valid": ["p287"]}
    assert manifest["noisy_path"].str.contains("/noisy_").all()
    assert not (tmp_path / "results/noise/bank.npz").exists()  # nothing is mixed
    table = pd.concat(pd.read_parquet(tmp_path / s) for s in shards)
    assert len(table) == len(manifest) and set(table["noise_kind"]) == {"recorded"}
    # The corrupted audio is the published noisy file: its SNR is the one it was made at.
    expected = table["id"].map(lambda utt: corpus_archives.VOICEBANK_SNRS[utt][1])
    assert (table["snr_db"] - expected).abs().max() < 0.05
    with ArrayFile(tmp_path / "results/corrupt/noise/000.npz") as corrupted:
        utt = corrupted.ids("audio")[0]
        row = manifest.set_index("id").loc[utt]
        gain = (corrupted.get("audio", utt).std()) / max(1e-9, float(np.std(sf.read(row["noisy_path"])[0])))
        assert 0.01 < gain < 100  # same recording, scaled by the clean one's level gain


def test_voicebank_demand_publishes_its_md5s():
    from specrestore.corpora.archives import voicebank_archives

    archives = voicebank_archives({"archives": {}})
    assert archives["noisy_testset_wav"].checksum == "md5:fb1b86caa31e8ba5b506c0c64da9aab5"
    assert archives["noisy_trainset_28spk_wav"].checksum == "md5:1fca9e8bafb8cd069f6653c6d92f9e9c"
    assert all(a.url.startswith("https://datashare.ed.ac.uk/bitstreams/") for a in archives.values())


CV_RELEASE = "cv-corpus-17.0-2024-03-15"


def test_commonvoice_says_where_to_put_the_archive(tmp_path):
    result = run(tmp_path, tiny_config(corpus="commonvoice"), "results/manifest/utterances.parquet")
    assert result.returncode != 0
    destination = tmp_path / "resources" / "commonvoice" / "archives" / f"{CV_RELEASE}-en.tar.gz"
    message = result.stderr
    assert "datacollective.mozillafoundation.org" in message and str(destination) in message, message[-3000:]
    assert "corpora.commonvoice.archive.path" in message
    assert not (tmp_path / "resources/commonvoice/unpacked").exists()


def test_commonvoice_placed_archive_is_verified_and_prepared(tmp_path):
    data = corpus_archives.commonvoice(CV_RELEASE, "en")
    placed = tmp_path / "downloads" / "mcv-scripted-en.tar.gz"  # named as the user saved it
    placed.parent.mkdir()
    placed.write_bytes(data)
    archive = {"path": str(placed), "checksum": sha256(data)}
    config = tiny_config(corpus="commonvoice", corpora={"commonvoice": {"archive": archive}})
    config["preprocess"]["min_duration_s"] = 0.1
    result = run(tmp_path / "run", config, "results/manifest/utterances.parquet")
    assert result.returncode == 0, result.stderr[-4000:]
    manifest = pd.read_parquet(tmp_path / "run/results/manifest/utterances.parquet")
    assert manifest.groupby("split").size().to_dict() == {"test": 2, "train": 8, "valid": 2}  # train/dev/test.tsv
    assert manifest["speaker"].nunique() == 6 and manifest.groupby("speaker")["split"].nunique().max() == 1
    assert (manifest["format"] == "MP3").all() and (manifest["sample_rate"] == 32000).all()
    assert manifest["text"].str.contains('"').any()  # the sentence with quotes survives the TSV

    # The same archive under a release it is not: the layout check names both.
    config["corpora"]["commonvoice"]["release"] = "cv-corpus-18.0-2024-06-14"
    result = run(tmp_path / "wrong", config, "results/manifest/utterances.parquet")
    assert result.returncode != 0 and "cv-corpus-18.0-2024-06-14/en/train.tsv" in result.stderr
