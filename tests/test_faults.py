"""Fault injection: every network provider, run as a real ``chatstream`` process against the loopback server.

Every case ends as cli.md says: the exit code, exactly one ``chatstream: error:`` line on stderr (none
on success), the text that arrived before the fault kept on stdout, no traceback, and no connection
left open. What chatstream does with a malformed stream (decided here, and held for both providers):

=========================================  =====  ================================================
fault                                      exit   behaviour
=========================================  =====  ================================================
invalid JSON in a data line                4      "... not JSON": a malformed stream; text kept
unknown event types                        0      ignored (the APIs may add event types)
data lines with no event line              0 / 4  OpenAI: its normal format. Anthropic: ignored, as
                                                  the SDK ignores them, so a stream made only of
                                                  them is "not an Anthropic message stream"
comment lines, CRLF, any split, UTF-8      0      the reply, byte for byte
split inside a character, a 1 MB delta
a character sent as two UTF-16 halves      0      joined again (a proxy slicing UTF-16 strings
(``"\\ud83d"`` then ``"\\udc1f"``)                sends them); a half alone becomes U+FFFD
an empty stream (200, no events)           4      "not a ... stream", never a silent exit 0
=========================================  =====  ================================================
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHATSTREAM, cli_env
from tests.loopback import SSE_CONTENT_TYPE, LoopbackServer, Reply, loopback_server  # noqa: F401  (its fixture)

PIECES = ["Hello", " there", "!", " Nice", " to", " meet", " you", "."]
TEXT = "".join(PIECES)
SHOWN = 3
"""Faults in the middle of a reply come after this many pieces: their text must stay on stdout."""
PARTIAL = "".join(PIECES[:SHOWN]) + "\n"
RETRY_SOON = [("retry-after-ms", "10")]
MODES = [pytest.param([], id="stream"), pytest.param(["--async"], id="async")]


def sse_event(data: dict[str, Any] | str, event: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)  # UTF-8, as the APIs send
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


@dataclass(frozen=True)
class Wire:
    """What one provider's server says, and how chatstream is pointed at it."""

    name: str
    model: str
    key_env: str
    url_suffix: str
    head: Callable[[], list[str]]
    delta: Callable[[str], str]
    tail: Callable[[], list[str]]
    error_event: Callable[[str, str], str]
    error_body: Callable[[str, str], dict[str, Any]]

    def events(self, pieces: list[str] = PIECES) -> list[str]:
        return [*self.head(), *(self.delta(piece) for piece in pieces), *self.tail()]

    def stream(self, pieces: list[str] = PIECES) -> bytes:
        return "".join(self.events(pieces)).encode()

    def stream_with(self, inserted: str, after: int = SHOWN) -> bytes:
        """The reply's stream with ``inserted`` right after the first ``after`` pieces."""
        events = self.events()
        cut = len(self.head()) + after
        return "".join([*events[:cut], inserted, *events[cut:]]).encode()

    def error_reply(self, status: int, kind: str, message: str, headers: list[tuple[str, str]] = RETRY_SOON) -> Reply:
        return Reply.json(self.error_body(kind, message), status=status, headers=headers)


ANTHROPIC = Wire(
    name="anthropic",
    model="anthropic:claude-haiku-4-5",
    key_env="ANTHROPIC_API_KEY",
    url_suffix="",
    head=lambda: [
        sse_event(
            {
                "type": "message_start",
                "message": {
                    "model": "claude-haiku-4-5",
                    "id": "msg_faults",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 5, "output_tokens": 1},
                },
            },
            "message_start",
        ),
        sse_event(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
    ],
    delta=lambda text: sse_event(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
        "content_block_delta",
    ),
    tail=lambda: [
        sse_event({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse_event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(PIECES)},
            },
            "message_delta",
        ),
        sse_event({"type": "message_stop"}, "message_stop"),
    ],
    error_event=lambda kind, message: sse_event(
        {"type": "error", "error": {"type": kind, "message": message}}, "error"
    ),
    error_body=lambda kind, message: {"type": "error", "error": {"type": kind, "message": message}},
)


def _openai_chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    return sse_event(
        {
            "id": "chatcmpl-faults",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [choice],
        }
    )


OPENAI = Wire(
    name="openai",
    model="openai:gpt-4o-mini",
    key_env="OPENAI_API_KEY",
    url_suffix="/v1",
    head=lambda: [_openai_chunk({"role": "assistant", "content": ""})],
    delta=lambda text: _openai_chunk({"content": text}),
    tail=lambda: [
        _openai_chunk({}, "stop"),
        sse_event({"id": "chatcmpl-faults", "object": "chat.completion.chunk", "choices": [], "usage": None}),
        "data: [DONE]\n\n",
    ],
    error_event=lambda kind, message: sse_event({"error": {"message": message, "type": kind}}),
    error_body=lambda kind, message: {"error": {"message": message, "type": kind, "param": None, "code": None}},
)


@pytest.fixture(
    params=[(ANTHROPIC, "httpx"), (ANTHROPIC, "sdk"), (OPENAI, None)], ids=["anthropic", "anthropic-sdk", "openai"]
)
def wire(request: pytest.FixtureRequest, isolated_env: Path) -> Wire:
    """Each network provider in turn, Anthropic over both its transports (chosen in config.toml, as a user
    does); one whose module is not there yet is skipped."""
    wire, transport = request.param
    if importlib.util.find_spec(f"chatstream_cli.providers.{wire.name}") is None:
        pytest.skip(f"no {wire.name} provider")
    if transport is not None:
        choose_transport(isolated_env, transport)
    return wire


def choose_transport(home: Path, transport: str) -> None:
    """``[providers.anthropic] transport`` in the config.toml of chatstream's home."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[providers.anthropic]\ntransport = "{transport}"\n')


@pytest.fixture
def server(loopback_server: LoopbackServer) -> LoopbackServer:  # noqa: F811
    return loopback_server


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    error: str
    """The ``chatstream: error:`` line without its prefix; "" on success."""


def chat(
    server: LoopbackServer | None,
    wire: Wire,
    *args: str,
    retries: int = 0,
    timeout: float = 5.0,
    base_url: str | None = None,
) -> Outcome:
    """Run chatstream against the server and check what every outcome must satisfy."""
    url = base_url or (server.base_url if server else "") + wire.url_suffix
    argv = [*CHATSTREAM, "-m", wire.model, "--base-url", url, "--retries", str(retries), "--timeout", str(timeout)]
    result = subprocess.run(
        [*argv, *args, "Greet me"],
        env=cli_env(**{wire.key_env: f"sk-faults-{wire.name}"}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    if result.returncode == 0:
        assert lines == [], stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("chatstream: error: "), stderr
    if server is not None:
        assert server.wait_until_idle(), "chatstream exited but a connection to the server stayed open"
    error = lines[0].removeprefix("chatstream: error: ") if lines else ""
    return Outcome(result.returncode, result.stdout.decode(), error)


def closed_by_client(server: LoopbackServer) -> bool:
    """Whether the client hung up before the server finished its (stalled or unsent) response."""
    return server.requests[-1].closed_by_client.wait(2.0)


# -- HTTP errors ---------------------------------------------------------------------------------


def test_rate_limited_with_retry_after_then_success(server: LoopbackServer, wire: Wire) -> None:
    limited = wire.error_reply(429, "rate_limit_error", "Slow down", headers=[("retry-after", "0.05")])
    server.enqueue_many([limited, Reply.sse(wire.stream())])
    assert chat(server, wire, retries=2) == Outcome(0, TEXT + "\n", "")
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "kind", "what"), [(529, "overloaded_error", "overloaded"), (503, "api_error", "unavailable")]
)
def test_overloaded_more_times_than_retries(
    server: LoopbackServer, wire: Wire, status: int, kind: str, what: str
) -> None:
    server.enqueue_many([wire.error_reply(status, kind, "Try later")] * 4)
    outcome = chat(server, wire, retries=2)
    assert (outcome.code, outcome.stdout) == (4, "")
    assert what in outcome.error and "after 2 retries" in outcome.error
    assert len(server.requests) == 3


def test_internal_server_error(server: LoopbackServer, wire: Wire) -> None:
    server.enqueue_many([wire.error_reply(500, "api_error", "Internal server error")] * 2)
    outcome = chat(server, wire, retries=1)
    assert (outcome.code, outcome.stdout) == (4, "")
    assert f"{server.named_as(wire.name)} failed (HTTP 500: Internal server error)" in outcome.error
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "kind", "what"),
    [
        (401, "authentication_error", "rejected the API key"),
        (403, "permission_error", "refused this API key access"),
        (404, "not_found_error", "does not know the model"),
    ],
)
def test_configuration_errors_exit_3_without_retrying(
    server: LoopbackServer, wire: Wire, status: int, kind: str, what: str
) -> None:
    server.enqueue_many([wire.error_reply(status, kind, "No such model")] * 3)
    outcome = chat(server, wire, retries=2)
    assert (outcome.code, outcome.stdout) == (3, "")
    assert what in outcome.error
    assert len(server.requests) == 1


def test_bad_request_with_a_long_message_is_one_short_line(server: LoopbackServer, wire: Wire) -> None:
    message = "prompt is too long: " + "many tokens " * 1000 + "\nsee the docs\n"
    server.enqueue(wire.error_reply(400, "invalid_request_error", message))
    outcome = chat(server, wire, retries=2)
    assert (outcome.code, outcome.stdout) == (4, "")
    assert "rejected the request (HTTP 400: prompt is too long: many tokens" in outcome.error
    assert len(outcome.error) < 500
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [502, 200])
def test_html_page_from_a_proxy_instead_of_json(server: LoopbackServer, wire: Wire, status: int) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n"
    server.enqueue(Reply(status=status, headers=[("content-type", "text/html")], body=page))
    outcome = chat(server, wire)
    assert (outcome.code, outcome.stdout) == (4, "")
    assert "<" not in outcome.error
    if status == 200:
        assert "not" in outcome.error and "stream" in outcome.error


# -- faults in the middle of a reply, and of the connection ---------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_error_event_mid_stream_keeps_the_text(server: LoopbackServer, wire: Wire, mode: list[str]) -> None:
    events = wire.events()[: len(wire.head()) + SHOWN]
    stream = "".join([*events, wire.error_event("overloaded_error", "Overloaded")])
    server.enqueue(Reply.sse(stream))
    outcome = chat(server, wire, *mode, retries=2)
    assert (outcome.code, outcome.stdout) == (4, PARTIAL)
    assert "stopped the reply with an error: Overloaded" in outcome.error
    assert len(server.requests) == 1  # after the first token a retry would repeat text


@pytest.mark.parametrize("mode", MODES)
def test_connection_dropped_mid_stream(server: LoopbackServer, wire: Wire, mode: list[str]) -> None:
    server.enqueue(Reply.sse(wire.stream(), drop_after=len(wire.head()) + SHOWN))
    outcome = chat(server, wire, *mode, retries=2)
    assert (outcome.code, outcome.stdout) == (5, PARTIAL)
    assert "dropped" in outcome.error
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_stall_longer_than_the_timeout(server: LoopbackServer, wire: Wire, mode: list[str]) -> None:
    server.enqueue(Reply.sse(wire.stream(), stall_after=len(wire.head()) + SHOWN))
    outcome = chat(server, wire, *mode, timeout=0.5)
    assert (outcome.code, outcome.stdout) == (5, PARTIAL)
    assert f"no data from {server.named_as(wire.name)} for 0.5 s" in outcome.error
    assert closed_by_client(server)


def test_server_that_accepts_and_never_answers(server: LoopbackServer, wire: Wire) -> None:
    server.enqueue(Reply(no_response=True))
    outcome = chat(server, wire, timeout=0.5)
    assert (outcome.code, outcome.stdout) == (5, "")
    assert f"no data from {server.named_as(wire.name)} for 0.5 s" in outcome.error
    assert closed_by_client(server)


def test_connection_refused(wire: Wire) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = chat(None, wire, retries=1, base_url=f"http://127.0.0.1:{port}{wire.url_suffix}")
    assert (outcome.code, outcome.stdout) == (5, "")
    assert "connection refused" in outcome.error


# -- malformed streams ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_invalid_json_in_a_data_line(server: LoopbackServer, wire: Wire, mode: list[str]) -> None:
    broken = wire.delta("lost").removesuffix("\n\n")[:-5] + "\n\n"  # the JSON cut short
    server.enqueue(Reply.sse(wire.stream_with(broken)))
    outcome = chat(server, wire, *mode, retries=2)
    assert (outcome.code, outcome.stdout) == (4, PARTIAL)
    assert "not" in outcome.error and "JSON" in outcome.error
    assert len(server.requests) == 1


def test_unknown_event_types_are_ignored(server: LoopbackServer, wire: Wire) -> None:
    novelty = sse_event({"type": "brand_new_event", "detail": {"text": "not for you"}}, "brand_new_event")
    server.enqueue(Reply.sse(wire.stream_with(novelty)))
    assert chat(server, wire) == Outcome(0, TEXT + "\n", "")


def test_data_lines_with_no_event_line(server: LoopbackServer, wire: Wire) -> None:
    bare = b"".join(line + b"\n" for line in wire.stream().split(b"\n") if not line.startswith(b"event:"))
    server.enqueue(Reply.sse(bare))
    outcome = chat(server, wire)
    if wire.name == "openai":  # its normal format
        assert outcome == Outcome(0, TEXT + "\n", "")
    else:
        assert (outcome.code, outcome.stdout) == (4, "")
        assert "not an Anthropic message stream" in outcome.error


def test_comment_lines_are_ignored(server: LoopbackServer, wire: Wire) -> None:
    commented = ": keep-alive\n\n" + "".join(
        ": ping\n" + event.replace("\ndata:", "\n: between the lines\ndata:") for event in wire.events()
    )
    server.enqueue(Reply.sse(commented))
    assert chat(server, wire) == Outcome(0, TEXT + "\n", "")


def test_crlf_line_ends(server: LoopbackServer, wire: Wire) -> None:
    server.enqueue(Reply.sse(wire.stream().replace(b"\n", b"\r\n"), split="line"))
    assert chat(server, wire) == Outcome(0, TEXT + "\n", "")


def test_split_at_every_byte_keeps_every_chunk(server: LoopbackServer, wire: Wire) -> None:
    server.enqueue(Reply.sse(wire.stream(), split="byte"))
    assert chat(server, wire, "-d", "|") == Outcome(0, "|".join(PIECES) + "|\n", "")


def test_multibyte_characters_split_across_packets(server: LoopbackServer, wire: Wire) -> None:
    pieces = ["Goldfisch ", "🐟", " auf dem ", "Mönd", " 月", "."]
    stream = wire.stream(pieces)
    cuts = [stream.index("🐟".encode()) + 1, stream.index("🐟".encode()) + 3, stream.index("ö".encode()) + 1]
    cuts.append(stream.index("月".encode()) + 2)
    chunks = [stream[start:end] for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    server.enqueue(Reply(headers=[("content-type", SSE_CONTENT_TYPE)], chunks=chunks))
    assert chat(server, wire) == Outcome(0, "".join(pieces) + "\n", "")


def test_a_single_one_megabyte_delta(server: LoopbackServer, wire: Wire) -> None:
    huge = "goldfish on the moon, " * 48_000  # 1,056,000 characters in one event
    pieces = ["Start: ", huge, "the end."]
    server.enqueue(Reply.sse(wire.stream(pieces)))
    outcome = chat(server, wire)
    assert (outcome.code, outcome.error) == (0, "")
    assert outcome.stdout == "".join(pieces) + "\n"


def test_an_empty_stream_is_an_error_not_a_silent_success(server: LoopbackServer, wire: Wire) -> None:
    server.enqueue(Reply.sse(b""))
    outcome = chat(server, wire, retries=2)
    assert (outcome.code, outcome.stdout) == (4, "")
    assert "not" in outcome.error and "stream" in outcome.error


@pytest.mark.parametrize("view", [[], ["--json"]], ids=["plain", "json"])
def test_a_character_sent_in_two_halves(server: LoopbackServer, wire: Wire, view: list[str]) -> None:
    """A server that slices UTF-16 strings sends 🐟 as two events, ``"\\ud83d"`` then ``"\\udc1f"``."""
    halves = wire.stream(["Fish ", "HIGH", "LOW", " moon"]).replace(b"HIGH", rb"\ud83d").replace(b"LOW", rb"\udc1f")
    server.enqueue(Reply.sse(halves))
    outcome = chat(server, wire, *view)
    assert (outcome.code, outcome.error) == (0, "")
    reply = json.loads(outcome.stdout)["content"] if view else outcome.stdout
    assert reply == "Fish 🐟 moon" + ("" if view else "\n")
