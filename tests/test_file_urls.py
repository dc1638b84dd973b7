"""Issue 21, item 6: ``-f URL`` fetches text over http(s), as ``-a URL`` fetches attachments: the -f size
limit, text or JSON only (anything else is exit 2 naming -a), redirects followed to https only, timeouts.

The web is the loopback server (over real TLS for the https redirect, with the test CA of test_tls).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from tests.conftest import error_line
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_tls import https_server, pki  # noqa: F401  (the fixtures)

ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]
PNG = (Path(__file__).parent / "data" / "dot.png").read_bytes()


def echo(*args: str) -> Result:
    return CliRunner().invoke(app, [*ECHO, *args])


def text_reply(body: bytes, content_type: str = "text/plain; charset=utf-8", **extra: object) -> Reply:
    return Reply(headers=[("content-type", content_type)], body=body, **extra)  # type: ignore[arg-type]


def test_a_url_is_fetched_and_sent_under_its_address(loopback_server: LoopbackServer) -> None:  # noqa: F811
    url = loopback_server.url("/md.txt")
    loopback_server.enqueue(text_reply("# Notes\n\ncafé\n".encode()), path="/md.txt")
    result = echo("-f", url, "summarise")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f'<file path="{url}">\n# Notes\n\ncafé\n</file>\n\nsummarise\n'
    (request,) = loopback_server.requests
    assert request.method == "GET" and request.path == "/md.txt"


def test_json_and_a_declared_charset_are_text(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(text_reply(json.dumps({"a": 1}).encode(), "application/json"), path="/a.json")
    loopback_server.enqueue(text_reply("naïve\n".encode("latin-1"), "text/plain; charset=latin-1"), path="/l.txt")
    result = echo("-f", loopback_server.url("/a.json"), "-f", loopback_server.url("/l.txt"), "x")
    assert result.exit_code == 0, result.stderr
    assert '{"a": 1}\n</file>' in result.stdout and "naïve\n</file>" in result.stdout


def test_a_binary_answer_is_exit_2_naming_a(loopback_server: LoopbackServer) -> None:  # noqa: F811
    url = loopback_server.url("/dot.png")
    loopback_server.enqueue(text_reply(PNG, "image/png"), path="/dot.png")
    result = echo("-f", url, "what is it")
    assert result.exit_code == 2
    assert error_line(result) == f"{url} is image/png, not text or JSON (images and PDFs go in with -a URL)"


def test_an_error_status_and_a_dead_server(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(Reply(status=404, body=b"nope"), path="/gone")
    result = echo("-f", loopback_server.url("/gone"), "x")
    assert (result.exit_code, error_line(result)) == (
        2,
        f"{loopback_server.url('/gone')} answered HTTP 404 (check the URL)",
    )
    dead = "http://127.0.0.1:9/md.txt"
    result = echo("-f", dead, "x")
    assert result.exit_code == 5
    assert error_line(result).startswith(f"cannot fetch {dead}: ")


def test_over_the_size_limit_is_exit_2_before_it_is_all_read(loopback_server: LoopbackServer) -> None:  # noqa: F811
    assert CliRunner().invoke(app, ["config", "set", "max_files_size", "1KiB"]).exit_code == 0
    url = loopback_server.url("/big.txt")
    loopback_server.enqueue(text_reply(b"x" * 5000), path="/big.txt")
    result = echo("-f", url, "x")
    assert result.exit_code == 2
    assert error_line(result) == (
        f"{url} is 4.9 KiB, over the 1 KiB limit of -f (raise the limit: chatstream config set max_files_size 1MiB)"
    )
    chunked = Reply(headers=[("content-type", "text/plain")], chunks=[b"y" * 600] * 4)  # no content-length
    loopback_server.enqueue(chunked, path="/big.txt")
    assert error_line(echo("-f", url, "x")).startswith(f"{url} is more than that, over the 1 KiB limit of -f")


def test_a_redirect_to_http_is_refused(loopback_server: LoopbackServer) -> None:  # noqa: F811
    start, target = loopback_server.url("/old"), loopback_server.url("/new")
    loopback_server.enqueue(Reply(status=301, headers=[("location", target)]), path="/old")
    result = echo("-f", start, "x")
    assert result.exit_code == 2
    assert (
        error_line(result) == f"{start} redirects to {target}, which is not https (-f follows redirects to https only)"
    )


def test_a_redirect_to_https_is_followed(
    loopback_server: LoopbackServer,  # noqa: F811
    https_server: LoopbackServer,  # noqa: F811
    pki: dict[str, Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["ca"]))
    target = https_server.url("/moved.txt")
    assert target.startswith("https://")
    loopback_server.enqueue(Reply(status=302, headers=[("location", target)]), path="/old")
    https_server.enqueue(text_reply(b"moved here\n"), path="/moved.txt")
    result = echo("-f", loopback_server.url("/old"), "x")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f'<file path="{loopback_server.url("/old")}">\nmoved here\n</file>\n\nx\n'


def test_a_server_that_never_answers_times_out(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(Reply(no_response=True), path="/slow")
    result = echo("--timeout", "0.3", "-f", loopback_server.url("/slow"), "x")
    assert result.exit_code == 5
    assert error_line(result).startswith(f"cannot fetch {loopback_server.url('/slow')}: ")
