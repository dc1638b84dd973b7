"""A real HTTP/1.1 loopback server for tests: scripted replies, fault injection, request recording.

It listens on 127.0.0.1 (ephemeral port) in a daemon thread and writes every response byte itself, so a
test controls the status line, the headers and each chunk of a ``Transfer-Encoding: chunked`` body.

Each request pops the next queued :class:`Reply` (a queue routed to its path first, then the general
queue), else ``server.default``, else a 500 JSON error saying no reply was queued.

Connections: HTTP/1.1 persistent connections are kept open, as real APIs do, so clients that reuse
connections (httpx, the anthropic SDK) are exercised as in production. A connection ends when the client
sends ``Connection: close`` (echoed back), when a reply carries a ``connection: close`` header, after a
fault (``stall_after``, ``drop_after``, ``no_response``), or at :meth:`LoopbackServer.close`, which cuts
every open connection and waits for its handler so that teardown never hangs.

The server adds ``server``, ``date`` and the framing header (``content-length`` for ``body``,
``transfer-encoding: chunked`` for ``chunks``) to every response. Request bodies are read by their
``content-length`` (httpx always sends one for ``json=`` and ``content=bytes``).

In a test, take the ``loopback_server`` fixture::

    def test_stream(loopback_server):
        loopback_server.enqueue(Reply.from_wire("anthropic_stream_text.sse", split="byte"))
        ...  # point the client at loopback_server.base_url

Stand-alone, ``python -m tests.loopback --wire anthropic_stream_text.sse`` (from the repository root)
prints the base URL as its first stdout line, then serves that file for every request until killed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import socketserver
import ssl
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NoReturn, cast
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
WIRE_DIR = REPO_ROOT / "tests" / "data" / "wire"
"""Recorded wire files, copied from the spec into the repository (tests/data/README.md)."""

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"

Header = tuple[str, str]
Split = Literal["event", "byte", "line"] | int

_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})
_SERVER_HEADERS = _FRAMING_HEADERS | {"date", "server"}
_SSE_EVENT = re.compile(rb".+?(?:\r\n\r\n|\n\n|\r\r|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP response.

    ``body`` is sent with a content-length. When ``chunks`` is given instead, each chunk is written as
    its own HTTP/1.1 chunk, so a test can cut an SSE stream at any byte; the fault options below apply
    to chunked replies only.
    """

    status: int = 200
    headers: list[Header] = field(default_factory=list)
    body: bytes = b""
    chunks: list[bytes] | None = None
    delay_s: float = 0.0
    """Pause between two chunks."""
    stall_after: int | None = None
    """Send that many chunks, then nothing more; hold the connection until the client closes it."""
    drop_after: int | None = None
    """Send that many chunks, then close the socket without the terminating zero-length chunk."""
    no_response: bool = False
    """Read the request and never answer; hold the connection until the client closes it."""

    def __post_init__(self) -> None:
        framing = {name.lower() for name, _ in self.headers} & _FRAMING_HEADERS
        if framing:
            raise ValueError(f"the server writes {sorted(framing)} itself")
        if self.chunks is None and (self.stall_after is not None or self.drop_after is not None):
            raise ValueError("stall_after and drop_after apply to chunks")
        if self.chunks is not None and (self.body or not all(self.chunks)):
            raise ValueError("chunks exclude body, and an empty chunk would end the body early")
        if self.stall_after is not None and self.drop_after is not None:
            raise ValueError("give stall_after or drop_after, not both")

    @property
    def closes(self) -> bool:
        """Whether the reply asks for the connection to be closed after it."""
        return any(name.lower() == "connection" and value.lower() == "close" for name, value in self.headers)

    @classmethod
    def json(cls, obj: Any, *, status: int = 200, headers: Sequence[Header] = ()) -> Reply:
        """An ``application/json`` reply; ``bytes`` are sent verbatim, anything else is serialised."""
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        return cls(status=status, headers=_with_default(headers, "content-type", "application/json"), body=body)

    @classmethod
    def sse(
        cls,
        data: str | bytes,
        *,
        split: Split = "event",
        status: int = 200,
        headers: Sequence[Header] = (),
        delay_s: float = 0.0,
        stall_after: int | None = None,
        drop_after: int | None = None,
    ) -> Reply:
        """A chunked ``text/event-stream`` reply of ``data`` cut per event (at blank lines), per line,
        per byte, or in pieces of ``split`` bytes."""
        raw = data.encode() if isinstance(data, str) else data
        return cls(
            status=status,
            headers=_with_default(headers, "content-type", SSE_CONTENT_TYPE),
            chunks=_split(raw, split),
            delay_s=delay_s,
            stall_after=stall_after,
            drop_after=drop_after,
        )

    @classmethod
    def from_wire(cls, name: str, **options: Any) -> Reply:
        """The reply recorded in ``WIRE_DIR / name``: ``*.sse`` through :meth:`sse` and ``*.json`` through
        :meth:`json` (``options`` go to them), ``*.headers`` through :meth:`from_wire_error`."""
        path = WIRE_DIR / name
        if path.suffix == ".headers":
            return cls.from_wire_error(path.stem, **options)
        if path.suffix == ".sse":
            return cls.sse(path.read_bytes(), **options)
        if path.suffix == ".json":
            return cls.json(path.read_bytes(), **options)
        raise ValueError(f"no reply format for {name!r}")

    @classmethod
    def from_wire_error(cls, stem: str) -> Reply:
        """An HTTP error replayed from ``<stem>.headers`` (raw status line and headers) and ``<stem>.body``.

        content-length, date and server are dropped: the loopback server writes its own.
        """
        status_line, *lines = (WIRE_DIR / f"{stem}.headers").read_text(encoding="latin-1").strip().splitlines()
        headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines)]
        return cls(
            status=int(status_line.split()[1]),
            headers=[(name, value) for name, value in headers if name.lower() not in _SERVER_HEADERS],
            body=(WIRE_DIR / f"{stem}.body").read_bytes(),
        )


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it.

    ``path`` is the raw request target, query included; ``headers`` has lower-cased names (the last of
    repeated headers wins); ``json`` is the parsed body, or None when the body is empty or not JSON.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    closed_by_client: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)
    """Set when the client closed the connection before the response to this request was complete."""


class LoopbackServer:
    """The server; use it as a context manager, or through the ``loopback_server`` fixture."""

    def __init__(self, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: a server-side context, to serve HTTPS (each handshake happens in its connection's thread)."""
        self.default: Reply | None = None
        self._cond = threading.Condition()
        self._queues: dict[str | None, deque[Reply]] = {}
        self._requests: list[Recorded] = []
        self._disconnects = 0
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._tcp = _TCPServer(self, port, tls)
        self.port: int = self._tcp.server_address[1]
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def named_as(self, provider: str) -> str:
        """How chatstream's messages name this server when it answers for ``provider``: not the vendor's own
        host, so a gateway's ``provider at host:port``."""
        return f"{provider} at 127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> LoopbackServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._tcp.serve_forever, kwargs={"poll_interval": 0.01}, name="loopback-server", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, cut every open connection, and wait for the handlers to finish."""
        self._stopping.set()
        if self._thread is not None:
            self._tcp.shutdown()
            self._thread.join()
            self._thread = None
        with self._cond:
            for sock in self._connections:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            finished = self._cond.wait_for(lambda: not self._connections, timeout=5.0)
        self._tcp.server_close()
        if not finished:
            raise RuntimeError("a loopback connection handler did not stop")

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def enqueue(self, reply: Reply, path: str | None = None) -> None:
        """Queue ``reply`` for the next request, or for the next request to ``path`` (query ignored)."""
        self.enqueue_many([reply], path)

    def enqueue_many(self, replies: Iterable[Reply], path: str | None = None) -> None:
        with self._cond:
            self._queues.setdefault(path, deque()).extend(replies)

    def reset(self) -> None:
        """Forget queued replies, the default reply, recorded requests and disconnects."""
        with self._cond:
            self._queues.clear()
            self._requests.clear()
            self._disconnects = 0
            self.default = None

    @property
    def requests(self) -> list[Recorded]:
        """A snapshot of the requests received so far, oldest first."""
        with self._cond:
            return list(self._requests)

    @property
    def disconnects(self) -> int:
        """How many responses the client abandoned by closing the connection before they were complete."""
        with self._cond:
            return self._disconnects

    def wait_for_requests(self, count: int = 1, timeout: float = 2.0) -> bool:
        """Whether at least ``count`` requests have arrived within ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._requests) >= count, timeout)

    def wait_for_disconnect(self, timeout: float = 2.0, count: int = 1) -> bool:
        """Whether clients have abandoned at least ``count`` responses within ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self._disconnects >= count, timeout)

    def wait_until_idle(self, timeout: float = 2.0) -> bool:
        """Whether every client connection has closed within ``timeout`` seconds (none lingers)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._connections, timeout)

    def _accept(self, record: Recorded) -> Reply:
        """Record a request and pick its reply."""
        with self._cond:
            self._requests.append(record)
            self._cond.notify_all()
            for key in (urlsplit(record.path).path, None):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
        return self.default if self.default is not None else _no_reply(record)

    def _note_disconnect(self, record: Recorded) -> None:
        """Count an unfinished response, unless the connection ended because the server is closing."""
        if self._stopping.is_set():
            return
        record.closed_by_client.set()
        with self._cond:
            self._disconnects += 1
            self._cond.notify_all()

    def _track(self, sock: socket.socket) -> None:
        with self._cond:
            self._connections.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._cond:
            self._connections.discard(sock)
            self._cond.notify_all()


class _Stopped(Exception):
    """The server is closing while a response is in progress."""


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """One thread per connection; tells its LoopbackServer which connections are open."""

    daemon_threads = True
    block_on_close = False  # LoopbackServer.close() cuts the connections and waits for their handlers
    allow_reuse_address = True

    def __init__(self, owner: LoopbackServer, port: int, tls: ssl.SSLContext | None) -> None:
        self.owner = owner
        self.tls = tls
        super().__init__(("127.0.0.1", port), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        self.owner._track(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.owner._untrack(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that went away; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each chunk leaves at once

    @property
    def _owner(self) -> LoopbackServer:
        return cast(_TCPServer, self.server).owner

    def _serve(self) -> None:
        record = self._read_request()
        reply = self._owner._accept(record)
        try:
            self._respond(reply)
        except (ConnectionError, _Stopped):
            self.close_connection = True
            self._owner._note_disconnect(record)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """No access log."""

    def _read_request(self) -> Recorded:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        return Recorded(self.command, self.path, headers, body, _parse_json(body))

    def _respond(self, reply: Reply) -> None:
        if reply.no_response:
            self._hold_until_client_closes()
        self._write_head(reply)
        if reply.chunks is None:
            self.wfile.write(reply.body)
        else:
            self._write_chunks(reply, reply.chunks)
        self.close_connection = self.close_connection or reply.closes

    def _write_head(self, reply: Reply) -> None:
        chunked = reply.chunks is not None
        framing = ("transfer-encoding", "chunked") if chunked else ("content-length", str(len(reply.body)))
        headers = [*reply.headers, ("server", "loopback"), ("date", formatdate(usegmt=True)), framing]
        if self.close_connection and not reply.closes:
            headers.append(("connection", "close"))
        lines = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}", *(f"{n}: {v}" for n, v in headers), "", ""]
        self.wfile.write("\r\n".join(lines).encode("latin-1"))

    def _write_chunks(self, reply: Reply, chunks: list[bytes]) -> None:
        cut = reply.stall_after if reply.stall_after is not None else reply.drop_after
        for index, chunk in enumerate(chunks[:cut]):
            if index and reply.delay_s and self._owner._stopping.wait(reply.delay_s):
                raise _Stopped
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if reply.stall_after is not None:
            self._hold_until_client_closes()
        if reply.drop_after is not None:
            self.close_connection = True  # the socket closes without the terminating chunk
        else:
            self.wfile.write(b"0\r\n\r\n")

    def _hold_until_client_closes(self) -> NoReturn:
        """Block until the client closes the connection, or the server closes (it shuts the socket down)."""
        while self.connection.recv(4096):
            pass
        if self._owner._stopping.is_set():
            raise _Stopped
        raise ConnectionAbortedError("client closed the connection")


def _split(data: bytes, split: Split) -> list[bytes]:
    if split == "event":
        return _SSE_EVENT.findall(data)
    if split == "line":
        return data.splitlines(keepends=True)
    size = 1 if split == "byte" else split
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"split must be 'event', 'line', 'byte' or a positive int, not {split!r}")
    return [data[start : start + size] for start in range(0, len(data), size)]


def _with_default(headers: Sequence[Header], name: str, value: str) -> list[Header]:
    given = list(headers)
    return given if any(key.lower() == name for key, _ in given) else [(name, value), *given]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _no_reply(record: Recorded) -> Reply:
    message = f"loopback server: no reply queued for {record.method} {record.path}"
    return Reply.json({"error": {"type": "loopback_error", "message": message}}, status=500)


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    """A running :class:`LoopbackServer`, closed at teardown."""
    with LoopbackServer() as server:
        yield server


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.loopback", description=__doc__.splitlines()[0])
    parser.add_argument("--wire", required=True, help="file in tests/data/wire/ served for every request")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    args = parser.parse_args(argv)
    with LoopbackServer(args.port) as server:
        server.default = Reply.from_wire(args.wire)
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
