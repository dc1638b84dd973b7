"""Issue 21, item 7: ``batch --provider-batch`` against an endpoint without a batch API says just that,
with the URL tried, exit 4 (it used to blame the model: ``does not know the model ... (HTTP 404)``).

The endpoints are the loopback server answering the batch routes as servers without them do.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from tests.conftest import error_line
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

JSONL = '{"id": "q1", "prompt": "one"}\n{"id": "q2", "prompt": "two"}\n'
ANTHROPIC_404 = {"type": "error", "error": {"type": "not_found_error", "message": "Not Found"}}
OPENAI_404 = {"error": {"message": "Invalid URL (POST /v1/files)", "type": "invalid_request_error"}}


def provider_batch(*model: str) -> Result:
    return CliRunner().invoke(app, ["batch", "-", *model, "--provider-batch", "-q"], input=JSONL)


def test_anthropic_compatible_endpoint_without_message_batches(
    loopback_server: LoopbackServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    loopback_server.enqueue(Reply.json(ANTHROPIC_404, status=404), path="/v1/messages/batches")
    result = provider_batch("-m", "anthropic:claude-haiku-4-5", "--base-url", loopback_server.base_url)
    assert result.exit_code == 4
    assert error_line(result) == (
        f"this endpoint has no batch API: POST {loopback_server.base_url}/v1/messages/batches answered HTTP 404 "
        "(leave out --provider-batch: chatstream then sends the prompts itself)"
    )
    assert "claude-haiku" not in result.stderr


@pytest.mark.parametrize("status", [404, 405])
def test_openai_compatible_server_without_files_or_batches(
    loopback_server: LoopbackServer,  # noqa: F811
    status: int,
) -> None:
    loopback_server.enqueue(Reply.json(OPENAI_404, status=status), path="/v1/files")
    result = provider_batch("-m", "ollama:llama3", "--base-url", f"{loopback_server.base_url}/v1")
    assert result.exit_code == 4
    assert error_line(result) == (
        f"this endpoint has no batch API: POST {loopback_server.base_url}/v1/files answered HTTP {status} "
        "(leave out --provider-batch: chatstream then sends the prompts itself)"
    )
    assert [request.path for request in loopback_server.requests] == ["/v1/files"]
