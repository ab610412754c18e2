"""A real HTTP/1.1 file server on 127.0.0.1 for testing downloaders.

It serves in-memory bytes, honours (or, on request, ignores) ``Range: bytes=...`` headers, and can be told to
fail the next requests of a path with an HTTP status or to cut the body short and drop the connection.

    with ArchiveServer().start() as server:
        url = server.add("resources/12/dev-clean.tar.gz", data)
        server.fail_next("resources/12/dev-clean.tar.gz", 503)
        ...
        assert [r["status"] for r in server.requests] == [503, 200]
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def _normalise(path: str) -> str:
    """The lookup key of a path: percent-decoded, without query, with exactly one leading slash."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
    return "/" + path.lstrip("/")


def _parse_range(header: str, total: int) -> tuple[int, int] | str | None:
    """``(start, end)`` (end exclusive) of a single ``bytes=`` range, "unsatisfiable", or None to ignore it.

    Multiple ranges and malformed headers are ignored (a full 200 answer), as RFC 9110 allows.
    """
    match = _RANGE.match(header)
    if match is None or not (match.group(1) or match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        if last and int(last) < start:
            return None
        if start >= total:
            return "unsatisfiable"
        return start, min(int(last) + 1, total) if last else total
    suffix = int(last)  # "bytes=-N": the last N bytes
    if suffix == 0 or total == 0:
        return "unsatisfiable"
    return max(total - suffix, 0), total


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ArchiveServer/1.0"
    timeout = 30  # an idle keep-alive connection does not hold its thread forever
    server: _Server

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._respond(head=False)

    def do_HEAD(self):
        self._respond(head=True)

    def _respond(self, head: bool) -> None:
        owner = self.server.owner
        key = _normalise(self.path)
        range_header = self.headers.get("Range")
        # Recorded before anything is sent (and filled in as it goes), so that a client that has seen the response
        # also sees its record.
        record = {"method": self.command, "path": key, "range": range_header, "status": None, "bytes_sent": 0}
        owner._record(record)
        try:
            data = owner._files.get(key)
            if data is None:
                self._simple(404, b"not found\n", head, record)
                return
            failure = None if head else owner._take(owner._failures, key)
            if failure is not None:
                self._simple(failure, f"injected failure {failure}\n".encode(), head, record)
                return
            cut = None if head else owner._take(owner._cuts, key)

            total = len(data)
            status, start, end = 200, 0, total  # end exclusive
            span = _parse_range(range_header, total) if (range_header and owner.supports_range) else None
            if span == "unsatisfiable":
                self._simple(416, b"range not satisfiable\n", head, record, {"Content-Range": f"bytes */{total}"})
                return
            if span is not None:
                status, (start, end) = 206, span
            body = data[start:end]

            record["status"] = status
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            if owner.supports_range:
                self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{total}")
            self.end_headers()
            if head:
                return
            if cut is not None:
                partial = body[:cut]
                record["bytes_sent"] = len(partial)
                self.wfile.write(partial)
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            record["bytes_sent"] = len(body)
            self.wfile.write(body)
        except OSError:  # the client went away
            self.close_connection = True

    def _simple(self, status: int, body: bytes, head: bool, record: dict, headers: dict | None = None) -> None:
        record["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            record["bytes_sent"] = len(body)
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: ArchiveServer


class ArchiveServer:
    """Serves in-memory files over HTTP/1.1 on 127.0.0.1 from a background thread."""

    def __init__(self):
        self.supports_range: bool = True
        self.requests: list[dict] = []
        self._files: dict[str, bytes] = {}
        self._failures: dict[str, list[int]] = {}
        self._cuts: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> ArchiveServer:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ArchiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # content

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, path: str, data: bytes) -> str:
        """Serves ``data`` at ``/path``; returns its full URL (the server must be started for the URL)."""
        with self._lock:
            self._files[_normalise(path)] = bytes(data)
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base_url + urllib.parse.quote(_normalise(path))

    # fault injection

    def fail_next(self, path: str, status: int = 500, times: int = 1) -> None:
        """The next ``times`` GETs of ``path`` answer ``status`` with a short body."""
        with self._lock:
            self._failures.setdefault(_normalise(path), []).extend([status] * times)

    def cut_next(self, path: str, after_bytes: int, times: int = 1) -> None:
        """The next ``times`` GETs of ``path`` send full headers, then ``after_bytes`` of the body, then drop."""
        with self._lock:
            self._cuts.setdefault(_normalise(path), []).extend([after_bytes] * times)

    # internals, called from the handler threads

    def _take(self, queue: dict[str, list[int]], key: str) -> int | None:
        with self._lock:
            pending = queue.get(key)
            if not pending:
                return None
            value = pending.pop(0)
            if not pending:
                del queue[key]
            return value

    def _record(self, record: dict) -> None:
        with self._lock:
            self.requests.append(record)


@pytest.fixture
def archive_server():
    with ArchiveServer().start() as server:
        yield server
