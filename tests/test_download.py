"""The downloader against a real HTTP server on 127.0.0.1 (tests/http_server.py)."""

import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pytest

from specrestore.corpora.archives import esc50_archive, librispeech_archives
from specrestore.download import Archive, DownloadError, extract, fetch

PAYLOAD = np.random.default_rng(0).bytes(3_000_000)
SHA256 = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()
MD5 = "md5:" + hashlib.md5(PAYLOAD).hexdigest()


def archive(server, checksum=SHA256, **changes):
    url = server.add("resources/12/dev-clean.tar.gz", PAYLOAD)
    return Archive(**{"name": "dev-clean.tar.gz", "url": url, "checksum": checksum, **changes})


def gets(server):
    return [r for r in server.requests if r["method"] == "GET"]


def test_a_clean_download_is_verified_and_put_in_place(archive_server, tmp_path, caplog):
    caplog.set_level("INFO")
    target = fetch(archive(archive_server, MD5), tmp_path / "dev-clean.tar.gz", backoff_s=0)
    assert target.read_bytes() == PAYLOAD
    assert not list(tmp_path.glob("*.partial"))
    assert "(100 %)" in caplog.text  # the progress line in the log
    # Already there and verified: no second request.
    fetch(archive(archive_server, MD5), target, backoff_s=0)
    assert len(gets(archive_server)) == 1


def test_a_cut_connection_resumes_where_it_stopped(archive_server, tmp_path):
    entry = archive(archive_server)
    archive_server.cut_next("resources/12/dev-clean.tar.gz", after_bytes=1_000_000)
    target = fetch(entry, tmp_path / "dev-clean.tar.gz", backoff_s=0)
    assert target.read_bytes() == PAYLOAD
    first, second = gets(archive_server)
    assert first["range"] is None and first["bytes_sent"] == 1_000_000
    resumed_from = int(second["range"].removeprefix("bytes=").rstrip("-"))
    assert second["status"] == 206 and 0 < resumed_from <= 1_000_000
    assert second["bytes_sent"] == len(PAYLOAD) - resumed_from  # not restarted


def test_a_server_error_is_retried(archive_server, tmp_path):
    entry = archive(archive_server)
    archive_server.fail_next("resources/12/dev-clean.tar.gz", status=500, times=2)
    assert fetch(entry, tmp_path / "a.tar.gz", backoff_s=0).read_bytes() == PAYLOAD
    assert [r["status"] for r in gets(archive_server)] == [500, 500, 200]


def test_retries_run_out_with_a_message_that_says_what_to_do(archive_server, tmp_path):
    entry = archive(archive_server)
    archive_server.fail_next("resources/12/dev-clean.tar.gz", status=503, times=10)
    with pytest.raises(DownloadError) as error:
        fetch(entry, tmp_path / "dev-clean.tar.gz", retries=2, backoff_s=0)
    message = str(error.value)
    assert entry.url in message and str(tmp_path / "dev-clean.tar.gz") in message and "`path`" in message
    assert len(gets(archive_server)) == 3


def test_an_unpinned_archive_logs_its_sha256_and_where_to_pin_it(archive_server, tmp_path, caplog):
    commit = "0123456789abcdef0123456789abcdef01234567"
    url = archive_server.add(f"karolpiczak/ESC-50/archive/{commit}.zip", PAYLOAD)
    entry = esc50_archive({"commit": commit, "archive": {"url": url, "checksum": None}})
    fetch(entry, tmp_path / entry.name, backoff_s=0)
    assert f"noise_sources.esc50.archive.checksum: {SHA256}" in caplog.text


def test_messages_name_the_archive_entry_in_the_config(archive_server, tmp_path):
    options = {"subsets": {"test": "test-clean"}, "mirror": f"{archive_server.base_url}/resources/12", "archives": {}}
    entry = librispeech_archives(options)["test-clean"]
    assert entry.checksum == "md5:32fa31d27d2e1cad72775fee3f4849a9"  # OpenSLR's, kept when none is configured
    # Not on the mirror: refused at once, not retried.
    with pytest.raises(DownloadError, match=r"HTTP 404.*put it at .*corpora\.librispeech\.archives\.test-clean\.path"):
        fetch(entry, tmp_path / entry.name, retries=3, backoff_s=0)
    assert len(gets(archive_server)) == 1


def test_offline_names_the_url_and_where_to_put_the_archive(tmp_path):
    entry = Archive("test-clean.tar.gz", "http://127.0.0.1:9/resources/12/test-clean.tar.gz", SHA256)
    with pytest.raises(DownloadError, match=r"127\.0\.0\.1:9/resources/12/test-clean\.tar\.gz.*put it at"):
        fetch(entry, tmp_path / "test-clean.tar.gz", retries=1, backoff_s=0)


def test_a_wrong_checksum_fails_and_leaves_nothing_behind(archive_server, tmp_path):
    entry = archive(archive_server, "md5:" + "0" * 32)
    with pytest.raises(DownloadError, match=r"md5 is .* expected 0{32}"):
        fetch(entry, tmp_path / "dev-clean.tar.gz", backoff_s=0)
    assert list(tmp_path.iterdir()) == []


def test_a_server_without_range_support_restarts_cleanly(archive_server, tmp_path):
    entry = archive(archive_server)
    archive_server.supports_range = False
    archive_server.cut_next("resources/12/dev-clean.tar.gz", after_bytes=1_000_000)
    assert fetch(entry, tmp_path / "a.tar.gz", backoff_s=0).read_bytes() == PAYLOAD
    _, second = gets(archive_server)
    assert second["status"] == 200 and second["bytes_sent"] == len(PAYLOAD)


def test_a_pre_downloaded_archive_is_used_instead_of_the_network(archive_server, tmp_path):
    copy = tmp_path / "mine" / "dev-clean.tar.gz"
    copy.parent.mkdir()
    copy.write_bytes(PAYLOAD)
    entry = archive(archive_server, path=str(copy))
    assert fetch(entry, tmp_path / "dev-clean.tar.gz").read_bytes() == PAYLOAD
    assert gets(archive_server) == []
    copy.write_bytes(PAYLOAD[:-1] + b"x")
    with pytest.raises(DownloadError, match=str(copy)):
        fetch(entry, tmp_path / "other.tar.gz")


def test_too_little_disk_space_is_said_before_downloading(archive_server, tmp_path):
    entry = archive(archive_server, size_bytes=10**18)
    with pytest.raises(DownloadError, match=r"needs about .* GB"):
        fetch(entry, tmp_path / "a.tar.gz")
    assert gets(archive_server) == []


def _tar(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as handle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            handle.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_extraction_is_complete_or_absent(tmp_path):
    good = tmp_path / "good.tar.gz"
    good.write_bytes(_tar({"LibriSpeech/a.txt": b"a", "LibriSpeech/b/c.txt": b"c"}))
    target = extract(good, tmp_path / "out")
    assert (target / "LibriSpeech/b/c.txt").read_bytes() == b"c"
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(DownloadError, match="cannot be unpacked"):
        extract(truncated, tmp_path / "broken")
    assert not (tmp_path / "broken").exists() and not list(tmp_path.glob(".broken*"))


def test_members_outside_the_target_are_refused(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as handle:
        handle.writestr("../escaped.txt", b"x")
    with pytest.raises(DownloadError, match="outside the target"):
        extract(evil, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_a_single_top_folder_can_be_stripped(tmp_path):
    github = tmp_path / "esc.zip"
    with zipfile.ZipFile(github, "w") as handle:
        handle.writestr("ESC-50-abc/meta/esc50.csv", b"filename\n")
    target = extract(github, tmp_path / "esc50", strip_top_level=True)
    assert (target / "meta/esc50.csv").is_file()
