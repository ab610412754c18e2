"""Checks of the test-support modules corpus_archives and http_server."""

import csv
import http.client
import io
import tarfile
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pytest
import soundfile as sf

import corpus_archives as ca
from http_server import ArchiveServer, archive_server  # noqa: F401 - the fixture

COMMIT = "33e8a6f5a0c5a2b0b2d9ac1b3e4e2c7d2e1f0a9b"


def _tar(data: bytes) -> tarfile.TarFile:
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


def _read(archive, name: str) -> bytes:
    if isinstance(archive, zipfile.ZipFile):
        return archive.read(name)
    return archive.extractfile(name).read()


# ---------------------------------------------------------------------------------------------------------------------
# archives


@pytest.mark.parametrize("subset", ["dev-clean", "test-clean", "train-clean-100"])
def test_librispeech_layout(subset):
    tar = _tar(ca.librispeech(subset))
    names = tar.getnames()
    for meta in ["SPEAKERS.TXT", "CHAPTERS.TXT", "BOOKS.TXT", "LICENSE.TXT"]:
        assert f"LibriSpeech/{meta}" in names
    flacs = {n for n in names if n.endswith(".flac")}
    listed = set()
    for trans in [n for n in names if n.endswith(".trans.txt")]:
        folder = trans.rsplit("/", 1)[0]
        _, sub, speaker, chapter = folder.split("/")
        assert sub == subset and trans.endswith(f"/{speaker}-{chapter}.trans.txt")
        for line in _read(tar, trans).decode().splitlines():
            utt, text = line.split(" ", 1)
            assert utt.startswith(f"{speaker}-{chapter}-") and len(utt.rsplit("-", 1)[1]) == 4
            assert text == text.upper()
            listed.add(f"{folder}/{utt}.flac")
    assert listed == flacs and len(flacs) == 3 * len(ca.LIBRISPEECH_SPEAKERS[subset])
    info = sf.info(io.BytesIO(_read(tar, sorted(flacs)[0])))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_16", 16000, 1)
    speakers = [
        line for line in _read(tar, "LibriSpeech/SPEAKERS.TXT").decode().splitlines() if not line.startswith(";")
    ]
    rows = {cols[0]: cols for cols in ([c.strip() for c in line.split("|")] for line in speakers)}
    for speaker in ca.LIBRISPEECH_SPEAKERS[subset]:
        assert rows[speaker][2] == subset and rows[speaker][1] in "FM"


def test_librispeech_subsets_are_speaker_disjoint_and_custom_speakers():
    seen = [set(ca.LIBRISPEECH_SPEAKERS[s]) for s in ["dev-clean", "test-clean", "train-clean-100"]]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    names = _tar(ca.librispeech("dev-clean", {"7": {"11": 2, "12": 1}})).getnames()
    assert sorted(n for n in names if n.endswith(".flac")) == [
        "LibriSpeech/dev-clean/7/11/7-11-0000.flac",
        "LibriSpeech/dev-clean/7/11/7-11-0001.flac",
        "LibriSpeech/dev-clean/7/12/7-12-0000.flac",
    ]


def test_archives_are_deterministic():
    assert ca.sha256(ca.librispeech("dev-clean")) == ca.sha256(ca._librispeech.__wrapped__("dev-clean", (
        ("84", (("121123", 3),)), ("174", (("50561", 3),)))))  # fmt: skip
    assert ca.md5(ca.vctk()) == ca.md5(ca.vctk.__wrapped__())


def test_vctk_layout_and_quirks():
    z = zipfile.ZipFile(io.BytesIO(ca.vctk()))
    names = z.namelist()
    assert {"README.txt", "license_text", "speaker-info.txt"} <= set(names)
    assert not any(n.startswith("VCTK") for n in names)
    header, *rows = z.read("speaker-info.txt").decode().splitlines()
    assert header.split() == ["ID", "AGE", "GENDER", "ACCENTS", "REGION", "COMMENTS"]
    speakers = [row.split()[0] for row in rows]
    assert speakers == ["p225", "p226", "p227", "p228", "p280", "p315"]
    for spk in speakers:
        for i in range(1, 4):
            utt = f"{spk}_{i:03d}"
            assert f"wav48_silence_trimmed/{spk}/{utt}_mic1.flac" in names
            assert (f"wav48_silence_trimmed/{spk}/{utt}_mic2.flac" in names) == (spk != "p280")
            assert (f"txt/{spk}/{utt}.txt" in names) == (spk != "p315")
    assert not any(n.startswith("txt/p315") for n in names)
    x, sr = sf.read(io.BytesIO(z.read("wav48_silence_trimmed/p225/p225_001_mic1.flac")))
    y, _ = sf.read(io.BytesIO(z.read("wav48_silence_trimmed/p225/p225_001_mic2.flac")))
    assert sr == 48000 and x.ndim == 1 and len(x) == len(y) > 0.3 * sr
    assert z.read("txt/p225/p225_001.txt").decode() == "Please call Stella.\n"


def test_esc50_layout():
    z = zipfile.ZipFile(io.BytesIO(ca.esc50(COMMIT)))
    root = f"ESC-50-{COMMIT}"
    names = z.namelist()
    assert all(n.startswith(root + "/") for n in names)
    assert {f"{root}/README.md", f"{root}/LICENSE", f"{root}/meta/esc50.csv"} <= set(names)
    rows = list(csv.DictReader(io.StringIO(z.read(f"{root}/meta/esc50.csv").decode())))
    assert len(rows) == 10 and list(rows[0]) == ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
    assert sorted(int(r["fold"]) for r in rows) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    for r in rows:
        assert r["filename"] == f"{r['fold']}-{r['src_file']}-{r['take']}-{r['target']}.wav"
        assert f"{root}/audio/{r['filename']}" in names
        assert r["category"] == ca.ESC50_CLASSES[int(r["target"])] and r["esc10"] in ("True", "False")
    assert {f"{root}/audio/{r['filename']}" for r in rows} == {n for n in names if n.endswith(".wav")}
    info = sf.info(io.BytesIO(z.read(f"{root}/audio/{rows[0]['filename']}")))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (44100, 1, 5 * 44100, "PCM_16")


def test_voicebank_noisy_matches_log():
    logged = {}
    for line in ca.log("testset").splitlines() + ca.log("trainset_28spk").splitlines():
        utt, noise, snr = line.split()
        logged[utt] = (noise, float(snr))
    assert logged == ca.VOICEBANK_SNRS and len(logged) == 12
    for kind, speakers in [("testset", {"p232", "p257"}), ("trainset_28spk", {"p226", "p287"})]:
        clean = zipfile.ZipFile(io.BytesIO(ca.voicebank(f"clean_{kind}_wav")))
        noisy = zipfile.ZipFile(io.BytesIO(ca.voicebank(f"noisy_{kind}_wav")))
        text = zipfile.ZipFile(io.BytesIO(ca.voicebank(f"{kind}_txt")))
        wavs = [n for n in clean.namelist() if n.endswith(".wav")]
        assert [n.replace("clean_", "noisy_", 1) for n in wavs] == [n for n in noisy.namelist() if n.endswith(".wav")]
        assert {n.split("/")[1][:4] for n in wavs} == speakers and len(wavs) == 6
        assert sorted(n for n in text.namelist() if n.endswith(".txt")) == sorted(
            n.replace(f"clean_{kind}_wav", f"{kind}_txt").replace(".wav", ".txt") for n in wavs
        )
        for name in wavs:
            s, sr = sf.read(io.BytesIO(clean.read(name)), dtype="int16")
            y, sr2 = sf.read(io.BytesIO(noisy.read(name.replace("clean_", "noisy_", 1))), dtype="int16")
            assert sr == sr2 == 48000 and s.shape == y.shape and s.ndim == 1
            s, y = s.astype(float), y.astype(float)
            snr = 10 * np.log10(np.sum(s**2) / np.sum((y - s) ** 2))
            assert abs(snr - ca.VOICEBANK_SNRS[name.split("/")[1][:-4]][1]) < 0.2


def test_commonvoice_layout():
    version = "cv-corpus-17.0-2024-03-15"
    tar = _tar(ca.commonvoice())
    names = tar.getnames()
    base = f"{version}/en"
    clips = {n.rsplit("/", 1)[1] for n in names if n.startswith(f"{base}/clips/") and n.endswith(".mp3")}
    assert len(clips) == 12 and all(len(c) == len("common_voice_en_12345678.mp3") for c in clips)

    def table(name):
        return list(csv.DictReader(io.StringIO(_read(tar, f"{base}/{name}").decode()), delimiter="\t"))

    splits = {s: table(f"{s}.tsv") for s in ["train", "dev", "test", "validated", "invalidated", "other"]}
    assert list(splits["train"][0])[:4] == ["client_id", "path", "sentence_id", "sentence"]
    assert {r["path"] for r in splits["validated"]} == clips
    speakers = {s: {r["client_id"] for r in splits[s]} for s in ["train", "dev", "test"]}
    assert [len(speakers[s]) for s in ["train", "dev", "test"]] == [4, 1, 1]
    assert not (speakers["train"] & speakers["dev"] or speakers["train"] & speakers["test"])
    assert all(len(c) == 128 for c in speakers["train"])
    assert {r["clip"] for r in table("clip_durations.tsv")} == clips
    info = sf.info(io.BytesIO(_read(tar, f"{base}/clips/{sorted(clips)[0]}")))
    assert info.format == "MP3" and info.samplerate == 32000 and info.channels == 1


# ---------------------------------------------------------------------------------------------------------------------
# server


def _get(url: str, range_: str | None = None):
    """(status, headers, body) of a GET; an HTTP error status raises HTTPError, its connection closed."""
    request = urllib.request.Request(url, headers={"Range": range_} if range_ else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        error.read()
        error.close()
        raise


def test_server_full_and_ranged(archive_server):  # noqa: F811
    data = bytes(range(256)) * 40
    url = archive_server.add("resources/12/dev-clean.tar.gz", data)
    assert url == archive_server.base_url + "/resources/12/dev-clean.tar.gz"
    status, headers, body = _get(url)
    assert (status, body, headers["Accept-Ranges"], headers["Content-Length"]) == (200, data, "bytes", str(len(data)))
    assert headers["Content-Type"] == "application/octet-stream"
    status, headers, body = _get(url, "bytes=1000-")
    assert (status, body, headers["Content-Range"]) == (206, data[1000:], f"bytes 1000-{len(data) - 1}/{len(data)}")
    status, headers, body = _get(url, "bytes=10-19")
    assert (status, body, headers["Content-Length"]) == (206, data[10:20], "10")
    with pytest.raises(urllib.error.HTTPError) as error:
        _get(url, f"bytes={len(data)}-")
    assert error.value.code == 416 and error.value.headers["Content-Range"] == f"bytes */{len(data)}"
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=10) as head:
        assert head.status == 200 and head.headers["Content-Length"] == str(len(data)) and head.read() == b""
    assert [(r["method"], r["range"], r["status"]) for r in archive_server.requests] == [
        ("GET", None, 200),
        ("GET", "bytes=1000-", 206),
        ("GET", "bytes=10-19", 206),
        ("GET", f"bytes={len(data)}-", 416),
        ("HEAD", None, 200),
    ]
    assert archive_server.requests[1]["bytes_sent"] == len(data) - 1000
    assert archive_server.requests[0]["path"] == "/resources/12/dev-clean.tar.gz"


def test_server_without_ranges_and_404(archive_server):  # noqa: F811
    data = b"x" * 5000
    url = archive_server.add("a/b.zip", data)
    archive_server.supports_range = False
    status, headers, body = _get(url, "bytes=100-")
    assert (status, body) == (200, data) and "Accept-Ranges" not in headers
    with pytest.raises(urllib.error.HTTPError) as error:
        _get(archive_server.url("a/missing.zip"))
    assert error.value.code == 404


def test_server_fail_next(archive_server):  # noqa: F811
    url = archive_server.add("f.bin", b"payload")
    archive_server.fail_next("f.bin", 500)
    with pytest.raises(urllib.error.HTTPError) as error:
        _get(url)
    assert error.value.code == 500
    assert _get(url)[::2] == (200, b"payload")
    archive_server.fail_next("/f.bin", 503, times=2)
    for _ in range(2):
        with pytest.raises(urllib.error.HTTPError):
            _get(url)
    assert _get(url)[0] == 200
    assert [r["status"] for r in archive_server.requests] == [500, 200, 503, 503, 200]


def _cut_read(url: str, range_: str | None = None) -> bytes:
    """The body of a GET that must end early: http.client raises IncompleteRead (or the connection resets)."""
    request = urllib.request.Request(url, headers={"Range": range_} if range_ else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except http.client.IncompleteRead as error:
        return error.partial
    except ConnectionError:
        return b""
    raise AssertionError("the whole body arrived")


def test_server_cut_next(archive_server):  # noqa: F811
    data = bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8))
    url = archive_server.add("big.bin", data)
    archive_server.cut_next("big.bin", after_bytes=1234)
    got = _cut_read(url)
    assert len(got) <= 1234 and data.startswith(got)
    # the next GET is whole again; a cut ranged GET cuts the partial body
    assert _get(url)[2] == data
    archive_server.cut_next("big.bin", after_bytes=100)
    assert data[150_000:].startswith(_cut_read(url, "bytes=150000-"))
    assert [(r["status"], r["bytes_sent"]) for r in archive_server.requests] == [
        (200, 1234),
        (200, len(data)),
        (206, 100),
    ]


def test_server_lifecycle():
    server = ArchiveServer()
    with server:
        url = server.add("x", b"1")
        assert _get(url)[2] == b"1"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
