"""Downloading and unpacking corpus archives.

Every archive is streamed to ``<name>.partial`` beside its destination and renamed into
place only after its checksum matched, so a file at the destination is always a
complete, verified archive. An interrupted download resumes with an HTTP ``Range``
request; a server that ignores ``Range`` (answers 200) makes it start again from zero.
Transient failures (connection errors, timeouts, 5xx, 429) are retried with exponential
backoff. Extraction goes into a temporary folder that is renamed into place when it is
complete, so a crash never leaves a half-extracted corpus that looks finished.

A user who already has an archive names it in the config (``path``); it is verified
and used instead of the network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import requests

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
# Small reads from the network: what a dropped connection loses is at most one of them.
STREAM_CHUNK_BYTES = 1 << 14
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
# Extraction needs room for the unpacked files beside the archive; compressed audio
# (FLAC in tar.gz or zip) unpacks to about the archive's size.
EXTRACTION_FACTOR = 1.1


class DownloadError(Exception):
    pass


@dataclass(frozen=True)
class Archive:
    """One file to fetch: where from, what it must hash to, and roughly how big it is."""

    name: str  # file name on disk
    url: str | None  # None: cannot be downloaded (a user must place it)
    checksum: str | None = None  # "md5:<hex>" or "sha256:<hex>"; None: not pinned
    size_bytes: int | None = None  # expected size, for the free-space check
    path: str | None = None  # a pre-downloaded copy to use instead of the network
    instructions: str | None = None  # how a user gets an archive that has no URL
    config_key: str | None = None  # its entry in the config ("corpora.vctk.archive"), for messages

    @classmethod
    def from_config(cls, name: str, entry: dict, config_key: str | None = None) -> Archive:
        return cls(
            name=name,
            url=entry.get("url"),
            checksum=entry.get("checksum"),
            size_bytes=entry.get("size_bytes"),
            path=entry.get("path"),
            config_key=config_key,
        )

    def with_instructions(self, instructions: str) -> Archive:
        return replace(self, instructions=instructions)

    def config_field(self, field: str) -> str:
        """How a message names one of this archive's settings."""
        return f"{self.config_key}.{field}" if self.config_key else f"this archive's `{field}`"


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def check_checksum(path: Path, checksum: str | None, origin: str) -> str:
    """Verify ``path`` against ``checksum`` ("md5:..." or "sha256:..."); returns the
    file's SHA-256 (logged for an archive whose checksum is not pinned yet)."""
    sha256 = file_digest(path, "sha256")
    if checksum is None:
        return sha256
    algorithm, _, expected = checksum.partition(":")
    if algorithm not in ("md5", "sha256") or not expected:
        raise DownloadError(f"checksum {checksum!r} for {origin}: expected 'md5:<hex>' or 'sha256:<hex>'")
    actual = sha256 if algorithm == "sha256" else file_digest(path, algorithm)
    if actual.lower() != expected.lower():
        raise DownloadError(
            f"{origin}: {algorithm} is {actual}, expected {expected}; the file is corrupt or not the "
            "published archive (delete it and download again, or check the checksum in the config)"
        )
    return sha256


def ensure_free_space(folder: Path, needed_bytes: int | None, what: str) -> None:
    if not needed_bytes:
        return
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise DownloadError(
            f"{what} needs about {needed_bytes / 1e9:.2f} GB in {folder}, which has {free / 1e9:.2f} GB free"
        )


def fetch(
    archive: Archive,
    destination: Path,
    *,
    retries: int = 5,
    backoff_s: float = 2.0,
    timeout_s: float = 60.0,
    session: requests.Session | None = None,
) -> Path:
    """Put the verified archive at ``destination``: from ``archive.path`` if given, from
    an already verified file there, else from ``archive.url``."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if archive.path:
        source = Path(archive.path).expanduser()
        if not source.is_file():
            raise DownloadError(f"{archive.name}: the configured archive {source} does not exist")
        log.info("%s: using %s instead of downloading", archive.name, source)
        check_checksum(source, archive.checksum, str(source))
        _link_or_copy(source, destination)
        return destination
    if destination.is_file():
        check_checksum(destination, archive.checksum, str(destination))
        log.info("%s: %s is already there and verified", archive.name, destination)
        return destination
    if not archive.url:
        where = f"put it at {destination.resolve()}"
        if archive.config_key:
            where += f", or name where it is in the config as {archive.config_field('path')}"
        how = f"{archive.instructions}. " if archive.instructions else ""
        raise DownloadError(
            f"{archive.name} is not here and cannot be downloaded automatically. {how}Then {where}; "
            "it will be verified and extracted on the next run."
        )
    partial = destination.with_name(destination.name + ".partial")
    have = partial.stat().st_size if partial.exists() else 0
    ensure_free_space(destination.parent, (archive.size_bytes or 0) - have, archive.name)
    session = session or requests.Session()
    attempt = 0
    while True:
        try:
            _stream(session, archive, partial, timeout_s)
            break
        except _Refused as error:
            message = f"could not download {archive.url} ({error}); {_by_hand(archive, destination)}"
            raise DownloadError(message) from None
        except _Transient as error:
            attempt += 1
            if attempt > retries:
                raise DownloadError(
                    f"could not download {archive.url} ({error}) after {retries + 1} attempts; "
                    + _by_hand(archive, destination)
                ) from None
            wait = backoff_s * 2 ** (attempt - 1)
            log.warning("%s: %s; retrying in %.1f s (attempt %d of %d)", archive.name, error, wait, attempt, retries)
            time.sleep(wait)
    try:
        sha256 = check_checksum(partial, archive.checksum, archive.url)
    except DownloadError:
        partial.unlink(missing_ok=True)  # a corrupt file must not be resumed
        raise
    if archive.checksum is None:
        log.warning(
            "%s: no checksum is pinned in the config; pin this download's as %s: sha256:%s",
            archive.name,
            archive.config_field("checksum"),
            sha256,
        )
    os.replace(partial, destination)
    return destination


def _by_hand(archive: Archive, destination: Path) -> str:
    return (
        f"download it by hand and put it at {destination}, or name it in the config as {archive.config_field('path')}"
    )


class _Transient(Exception):
    """A failure worth another attempt."""


class _Refused(Exception):
    """The server answered, and another attempt would get the same answer."""


def _stream(session: requests.Session, archive: Archive, partial: Path, timeout_s: float) -> None:
    have = partial.stat().st_size if partial.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = session.get(archive.url, headers=headers, stream=True, timeout=timeout_s)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise _Transient(f"{type(error).__name__}: {error}") from None
    with response:
        if response.status_code == 416 and have:
            # The partial file already holds everything (or more): check it as it is.
            total = _total_from_content_range(response.headers.get("Content-Range"))
            if total is not None and have == total:
                return
            partial.unlink()
            raise _Transient("the server rejected the resume range; starting again")
        if response.status_code in RETRY_STATUS:
            raise _Transient(f"HTTP {response.status_code}")
        if response.status_code not in (200, 206):
            raise _Refused(f"HTTP {response.status_code} {response.reason}")
        if response.status_code == 200 and have:
            log.warning("%s: the server does not resume downloads; starting again from zero", archive.name)
            have = 0
        total = _expected_total(response, have)
        mode = "ab" if response.status_code == 206 else "wb"
        progress = _Progress(archive.name, have, total)
        try:
            with open(partial, mode) as handle:
                for block in response.iter_content(STREAM_CHUNK_BYTES):
                    handle.write(block)
                    progress.advance(len(block))
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
            raise _Transient(f"connection lost after {progress.done} bytes ({type(error).__name__})") from None
        if total is not None and progress.done < total:
            raise _Transient(f"connection closed after {progress.done} of {total} bytes")
        progress.finish()


def _total_from_content_range(value: str | None) -> int | None:
    if value and "/" in value:
        total = value.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    return None


def _expected_total(response: requests.Response, have: int) -> int | None:
    if response.status_code == 206:
        return _total_from_content_range(response.headers.get("Content-Range"))
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


class _Progress:
    """A progress line in the log at every 10 % (or every 100 MB when the size is unknown)."""

    def __init__(self, name: str, done: int, total: int | None):
        self.name, self.done, self.total = name, done, total
        self.started, self.start_bytes = time.monotonic(), done
        self.next_mark = self._mark_after(done)

    def _mark_after(self, done: int) -> int:
        step = self.total // 10 if self.total else 100 * 2**20
        step = max(step, 1)
        return (done // step + 1) * step

    def advance(self, count: int) -> None:
        self.done += count
        if self.done >= self.next_mark:
            self._report()
            self.next_mark = self._mark_after(self.done)

    def finish(self) -> None:
        self._report()

    def _report(self) -> None:
        seconds = max(time.monotonic() - self.started, 1e-6)
        rate = (self.done - self.start_bytes) / seconds / 2**20
        if self.total:
            log.info(
                "%s: %.1f of %.1f MB (%.0f %%) at %.1f MB/s",
                self.name, self.done / 2**20, self.total / 2**20, 100 * self.done / self.total, rate,
            )  # fmt: skip
        else:
            log.info("%s: %.1f MB at %.1f MB/s", self.name, self.done / 2**20, rate)


def _link_or_copy(source: Path, destination: Path) -> None:
    if destination.exists() or destination.is_symlink():
        destination.unlink()
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


def extract(archive: Path, target: Path, *, strip_top_level: bool = False) -> Path:
    """Unpack a .tar.gz/.tgz/.tar or .zip into ``target``, through a temporary folder
    renamed into place when everything is out. Members that would land outside the
    target (absolute paths, ``..``) are refused. ``strip_top_level`` removes a single
    enclosing folder (GitHub archives wrap everything in ``<repo>-<commit>/``)."""
    archive, target = Path(archive), Path(target)
    staging = target.with_name(f".{target.name}.extracting")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    size = archive.stat().st_size
    ensure_free_space(target.parent, int(size * EXTRACTION_FACTOR), f"extracting {archive.name}")
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as handle:
                for member in handle.namelist():
                    _check_member(member, archive)
                handle.extractall(staging)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as handle:
                handle.extractall(staging, filter="data")
        else:
            raise DownloadError(f"{archive}: not a zip or tar archive")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(f"{archive}: cannot be unpacked ({error})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    root = staging
    if strip_top_level:
        entries = list(staging.iterdir())
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
    if target.exists():
        shutil.rmtree(target)
    os.replace(root, target)
    if root != staging:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _check_member(name: str, archive: Path) -> None:
    path = Path(name)
    if path.is_absolute() or ".." in path.parts:
        raise DownloadError(f"{archive}: member {name!r} would be written outside the target folder")
