"""Real corpora through the workflow: archives in each corpus's real layout, served from
127.0.0.1 and named in the config exactly as a user would name a mirror."""

import hashlib

import pandas as pd
import pytest

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
