"""The loopback server, driven by a real httpx client (and a raw socket where bytes on the wire matter)."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.loopback import (
    REPO_ROOT,
    WIRE_DIR,
    LoopbackServer,
    Reply,
    Split,
    loopback_server,  # noqa: F401  (the exported fixture; no conftest.py needed)
)

STREAM = (WIRE_DIR / "anthropic_stream_text.sse").read_bytes()


@pytest.fixture
def server(loopback_server: LoopbackServer) -> LoopbackServer:  # noqa: F811  (takes the imported fixture)
    """The exported ``loopback_server`` fixture under a short name."""
    return loopback_server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0, verify=False) as client:  # plain HTTP: skip loading the CA bundle
        yield client


def exchange(server: LoopbackServer, request: bytes) -> bytes:
    """Send raw request bytes and read everything the server sends until it closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=2.0) as sock:
        sock.sendall(request)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def test_json_reply(server: LoopbackServer, client: httpx.Client) -> None:
    server.enqueue(Reply.json({"ok": True}, headers=[("request-id", "req_1")]))
    response = client.post(server.url("/v1/messages"), json={})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["request-id"] == "req_1"


def test_sse_split_per_byte_arrives_intact(server: LoopbackServer, client: httpx.Client) -> None:
    reply = Reply.sse(STREAM, split="byte")
    assert reply.chunks is not None and len(reply.chunks) == len(STREAM)
    server.enqueue(reply)
    with client.stream("POST", server.url("/v1/messages")) as response:
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["transfer-encoding"] == "chunked"
        assert b"".join(response.iter_raw()) == STREAM


@pytest.mark.parametrize(
    ("data", "split", "chunks"),
    [
        (
            b"event: a\ndata: 1\n\ndata: 2\r\n\r\ndata: 3",
            "event",
            [b"event: a\ndata: 1\n\n", b"data: 2\r\n\r\n", b"data: 3"],
        ),
        (b"data: 1\n\ndata: 2\r\n", "line", [b"data: 1\n", b"\n", b"data: 2\r\n"]),
        (b"abc", "byte", [b"a", b"b", b"c"]),
        (b"abcdefg", 3, [b"abc", b"def", b"g"]),
    ],
)
def test_sse_split_modes(data: bytes, split: Split, chunks: list[bytes]) -> None:
    assert Reply.sse(data, split=split).chunks == chunks


def test_chunks_are_framed_one_by_one(server: LoopbackServer) -> None:
    server.enqueue(Reply(chunks=[b"ab", b"c" * 17]))
    raw = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.endswith(b"\r\n\r\n2\r\nab\r\n11\r\n" + b"c" * 17 + b"\r\n0\r\n\r\n")


def test_connection_persists_until_the_client_asks_to_close(server: LoopbackServer) -> None:
    server.enqueue_many([Reply(body=b"one"), Reply(body=b"two")])
    first = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    second = b"GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    kept, closed = exchange(server, first + second).split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert b"connection:" not in kept and kept.endswith(b"\r\n\r\none")
    assert b"connection: close\r\n" in closed and closed.endswith(b"\r\n\r\ntwo")


def test_requests_are_recorded(server: LoopbackServer, client: httpx.Client) -> None:
    client.post(server.url("/v1/messages"), json={"model": "m"}, headers={"X-Api-Key": "k"})
    client.get(server.url("/v1/models?limit=2"))
    post, get = server.requests
    assert (post.method, post.path, post.json) == ("POST", "/v1/messages", {"model": "m"})
    assert post.headers["x-api-key"] == "k"
    assert post.headers["content-type"] == "application/json"
    assert json.loads(post.body) == {"model": "m"}
    assert (get.method, get.path, get.body, get.json) == ("GET", "/v1/models?limit=2", b"", None)


def test_queue_routing_default_and_reset(server: LoopbackServer, client: httpx.Client) -> None:
    def get(path: str) -> httpx.Response:
        return client.get(server.url(path))

    server.enqueue_many([Reply(body=b"1"), Reply(body=b"2")])
    server.enqueue(Reply(body=b"models"), path="/v1/models")
    assert [get("/v1/models?x=1").text, get("/v1/models").text, get("/x").text] == ["models", "1", "2"]
    missing = get("/x")
    assert missing.status_code == 500
    assert "no reply queued for GET /x" in missing.json()["error"]["message"]
    server.default = Reply(body=b"default")
    assert get("/x").text == "default"
    server.enqueue(Reply(body=b"queued"))
    server.reset()
    assert server.requests == []
    assert get("/x").status_code == 500


def test_status_and_retry_headers(server: LoopbackServer, client: httpx.Client) -> None:
    headers = [("retry-after", "2"), ("retry-after-ms", "1500"), ("request-id", "req_9")]
    server.enqueue(Reply.json({"type": "error"}, status=429, headers=headers))
    response = client.post(server.url("/v1/messages"))
    assert response.status_code == 429
    assert response.reason_phrase == "Too Many Requests"
    assert [response.headers[name] for name, _ in headers] == ["2", "1500", "req_9"]


def test_delay_s_paces_the_chunks(server: LoopbackServer, client: httpx.Client) -> None:
    server.enqueue(Reply(chunks=[b"a", b"b", b"c"], delay_s=0.05))
    started = time.monotonic()
    assert client.get(server.url("/")).content == b"abc"
    assert time.monotonic() - started >= 0.1


def test_drop_after_cuts_the_chunked_body(server: LoopbackServer, client: httpx.Client) -> None:
    reply = Reply.sse(STREAM, drop_after=2)
    server.enqueue(reply)
    received = bytearray()
    with (
        client.stream("POST", server.url("/v1/messages")) as response,
        pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"),
    ):
        for piece in response.iter_bytes():
            received += piece
    assert reply.chunks is not None and bytes(received) == b"".join(reply.chunks[:2])


def test_stall_after_makes_the_client_time_out(server: LoopbackServer, client: httpx.Client) -> None:
    reply = Reply.sse(STREAM, stall_after=1)
    server.enqueue(reply)
    received = bytearray()
    with (
        client.stream("POST", server.url("/v1/messages"), timeout=0.2) as response,
        pytest.raises(httpx.ReadTimeout),
    ):
        for piece in response.iter_bytes():
            received += piece
    assert reply.chunks is not None and bytes(received) == reply.chunks[0]


def test_no_response_times_out(server: LoopbackServer, client: httpx.Client) -> None:
    server.enqueue(Reply(no_response=True))
    with pytest.raises(httpx.ReadTimeout):
        client.post(server.url("/v1/messages"), json={"a": 1}, timeout=0.2)
    assert server.requests[0].json == {"a": 1}
    assert server.wait_for_disconnect(1.0)


@pytest.mark.parametrize(
    "reply",
    [Reply.sse(STREAM, stall_after=1), Reply.sse(STREAM, split=64, delay_s=0.02)],
    ids=["stalled", "paced"],
)
def test_client_disconnect_is_detected(server: LoopbackServer, client: httpx.Client, reply: Reply) -> None:
    server.enqueue(reply)
    with client.stream("POST", server.url("/v1/messages")) as response:
        next(response.iter_raw())
    assert server.wait_for_disconnect(1.0)
    assert server.requests[0].closed_by_client.is_set()
    assert server.disconnects == 1


def test_complete_response_is_not_a_disconnect(server: LoopbackServer, client: httpx.Client) -> None:
    server.enqueue(Reply.sse(STREAM))
    assert client.post(server.url("/v1/messages")).content == STREAM
    client.close()  # ends the idle keep-alive connection
    assert not server.wait_for_disconnect(0.1)
    assert not server.requests[0].closed_by_client.is_set()


def test_wait_for_requests(server: LoopbackServer) -> None:
    server.enqueue(Reply(no_response=True))
    assert not server.wait_for_requests(timeout=0.05)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        assert server.wait_for_requests(timeout=1.0)
        assert server.requests[0].path == "/slow"


def test_close_cuts_open_connections_promptly(client: httpx.Client) -> None:
    with LoopbackServer() as server:
        server.enqueue_many([Reply(body=b"idle afterwards"), Reply.sse(STREAM, stall_after=0)])
        client.get(server.url("/"))
        with client.stream("GET", server.url("/")) as stalled:
            started = time.monotonic()
            server.close()
            assert time.monotonic() - started < 0.5
            with pytest.raises(httpx.RemoteProtocolError):
                stalled.read()
        assert server.disconnects == 0


def test_from_wire_serves_the_file_bytes(server: LoopbackServer, client: httpx.Client) -> None:
    server.enqueue_many([Reply.from_wire("openai_stream_text.sse"), Reply.from_wire("openai_nonstream.json")])
    stream = client.post(server.url("/v1/chat/completions"))
    assert stream.content == (WIRE_DIR / "openai_stream_text.sse").read_bytes()
    reply = client.post(server.url("/v1/chat/completions"))
    assert reply.headers["content-type"] == "application/json"
    assert reply.content == (WIRE_DIR / "openai_nonstream.json").read_bytes()


def test_from_wire_error_replays_status_headers_and_body(server: LoopbackServer, client: httpx.Client) -> None:
    server.enqueue(Reply.from_wire("anthropic_http_429.headers"))
    response = client.post(server.url("/v1/messages"))
    body = (WIRE_DIR / "anthropic_http_429.body").read_bytes()
    assert (response.status_code, response.content) == (429, body)
    assert response.headers["retry-after"] == "1"
    assert response.headers["request-id"] == "req_011CodmoI6urbFiYyaOO3jCd"
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "3999"
    assert response.headers["content-length"] == str(len(body))
    assert response.headers.get_list("server") == ["loopback"]


def test_from_wire_error_keeps_an_unknown_status(server: LoopbackServer) -> None:
    server.enqueue(Reply.from_wire_error("anthropic_http_529"))
    raw = exchange(server, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 529 \r\n")
    assert raw.endswith(b"\r\n\r\n" + (WIRE_DIR / "anthropic_http_529.body").read_bytes())


@pytest.mark.parametrize(
    "options",
    [
        {"headers": [("Content-Length", "3")]},
        {"stall_after": 1},
        {"chunks": [b"a", b""]},
        {"chunks": [b"a"], "body": b"b"},
        {"chunks": [b"a"], "stall_after": 1, "drop_after": 1},
    ],
)
def test_inconsistent_replies_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Reply(**options)  # type: ignore[arg-type]


def test_runs_stand_alone() -> None:
    command = [sys.executable, "-m", "tests.loopback", "--wire", "anthropic_stream_text.sse"]
    with subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            assert select.select([process.stdout], [], [], 5.0)[0], "no base URL printed"
            base_url = process.stdout.readline().strip()
            for _ in range(2):
                assert httpx.post(f"{base_url}/v1/messages", timeout=2.0, verify=False).content == STREAM
        finally:
            process.terminate()
