"""Through a gateway (LiteLLM, Portkey, Helicone, OpenRouter): extra headers from config.toml and --header,
a wrong Anthropic path, errors that name the server that answered. A loopback server stands in for the gateway."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.retry import HTTP_TRACE
from tests.conftest import error_line
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

PORTKEY_KEY = "pk-live-5ecret-0123456789"
ANTHROPIC_KEY = "sk-ant-gateway-0123456789"
OPENAI_KEY = "sk-gateway-0123456789"


def openai_stream(text: str = "Hello") -> bytes:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": []}
    delta = {**chunk, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    stop = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    return "".join(f"data: {json.dumps(event)}\n\n" for event in (delta, stop)).encode() + b"data: [DONE]\n\n"


def anthropic_stream(text: str = "Hello") -> bytes:
    events = [
        {
            "type": "message_start",
            "message": {"id": "msg_1", "model": "claude-haiku-4-5", "usage": {"input_tokens": 3}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
        {"type": "message_stop"},
    ]
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


@pytest.fixture
def config(isolated_env: Path) -> Iterator[Any]:
    """Write config.toml (a function of the text); the registry is reset afterwards."""
    from chatstream_cli.config import Config
    from chatstream_cli.providers import activate

    def write(text: str) -> None:
        isolated_env.mkdir(parents=True, exist_ok=True)
        (isolated_env / "config.toml").write_text(text, encoding="utf-8")

    yield write
    activate(Config())


def run(*args: str, **env: str) -> Result:
    return CliRunner().invoke(app, [*args, "--retries", "0"], env=env)


# --- headers --------------------------------------------------------------------------------------------


def test_config_headers_and_header_flags_reach_the_gateway(
    loopback_server: LoopbackServer,  # noqa: F811
    config: Any,
) -> None:
    config(
        "[providers.portkey]\n"
        'kind = "openai"\n'
        f'base_url = "{loopback_server.base_url}/v1"\n'
        'headers = { "X-Title" = "chatstream", "x-portkey-api-key" = "$PORTKEY_KEY", "X-Cost" = "$$5" }\n'
    )
    loopback_server.enqueue(Reply.sse(openai_stream()))
    result = run(
        "-m", "portkey:gpt-4o", "--header", "HTTP-Referer: https://example.org", "--header", "x-title: mine", "hi",
        PORTKEY_KEY=PORTKEY_KEY,
    )  # fmt: skip
    assert (result.exit_code, result.stdout) == (0, "Hello\n"), result.stderr
    (request,) = loopback_server.requests
    assert request.headers["x-portkey-api-key"] == PORTKEY_KEY  # read from the environment
    assert request.headers["http-referer"] == "https://example.org"
    assert request.headers["x-title"] == "mine"  # --header replaces the file's, whatever the case
    assert request.headers["x-cost"] == "$5"


@pytest.fixture
def quiet_trace_afterwards() -> Iterator[None]:
    """--debug in this process turns the HTTP trace on for good; turn it off again for the next tests."""
    yield
    HTTP_TRACE.setLevel(logging.NOTSET)
    HTTP_TRACE.handlers.clear()


@pytest.mark.usefixtures("quiet_trace_afterwards")
def test_header_values_are_redacted_in_the_debug_trace(loopback_server: LoopbackServer, config: Any) -> None:  # noqa: F811
    config('[providers.openai]\nheaders = { "x-litellm-key" = "$PORTKEY_KEY" }\n')
    loopback_server.enqueue(Reply.sse(openai_stream()))
    result = run(
        "-m", "openai:gpt-4o", "--base-url", f"{loopback_server.base_url}/v1", "--header", "X-Team: red-team-7",
        "--debug", "hi", PORTKEY_KEY=PORTKEY_KEY, OPENAI_API_KEY=OPENAI_KEY,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    request_line = next(line for line in result.stderr.splitlines() if line.startswith("chatstream: debug: > POST"))
    assert "'x-litellm-key': '<redacted>'" in request_line and "'x-team': '<redacted>'" in request_line
    for secret in (PORTKEY_KEY, "red-team-7", OPENAI_KEY):
        assert secret not in result.stderr + result.stdout
    assert loopback_server.requests[0].headers["x-team"] == "red-team-7"


@pytest.mark.parametrize("transport", ["httpx", "sdk"])
def test_the_anthropic_path_sends_them_too(loopback_server: LoopbackServer, config: Any, transport: str) -> None:  # noqa: F811
    config(f'[providers.anthropic]\ntransport = "{transport}"\nheaders = {{ "x-litellm-key" = "$PORTKEY_KEY" }}\n')
    loopback_server.enqueue(Reply.sse(anthropic_stream()))
    result = run(
        "-m", "anthropic:claude-haiku-4-5", "--base-url", loopback_server.base_url, "--header", "X-Trace: 42", "hi",
        PORTKEY_KEY=PORTKEY_KEY, ANTHROPIC_API_KEY=ANTHROPIC_KEY,
    )  # fmt: skip
    assert (result.exit_code, result.stdout) == (0, "Hello\n"), result.stderr
    headers = loopback_server.requests[0].headers
    assert (headers["x-litellm-key"], headers["x-trace"], headers["x-api-key"]) == (PORTKEY_KEY, "42", ANTHROPIC_KEY)


def test_a_gateway_that_quotes_a_header_value_has_it_redacted(loopback_server: LoopbackServer, config: Any) -> None:  # noqa: F811
    loopback_server.enqueue(Reply.json({"error": {"message": f"virtual key {PORTKEY_KEY} is over budget"}}, status=400))
    result = run(
        "-m", "openai:gpt-4o", "--base-url", f"{loopback_server.base_url}/v1", "--header",
        f"Authorization: Bearer {PORTKEY_KEY}", "hi", OPENAI_API_KEY=OPENAI_KEY,
    )  # fmt: skip
    assert result.exit_code == 4
    assert "virtual key <redacted> is over budget" in error_line(result)
    assert loopback_server.requests[0].headers["authorization"] == f"Bearer {PORTKEY_KEY}"  # it replaced the key's


def test_a_header_naming_an_unset_variable_is_a_config_error(config: Any) -> None:
    config('[providers.openai]\nheaders = { "x-portkey-api-key" = "${PORTKEY_KEY}" }\n')
    result = run("-m", "openai:gpt-4o", "hi", OPENAI_API_KEY=OPENAI_KEY)
    assert result.exit_code == 3
    line = error_line(result)
    assert "x-portkey-api-key" in line and "$PORTKEY_KEY, which is not set" in line and "[providers.openai]" in line


@pytest.mark.parametrize("flag", ["no colon", "Bad Name: x", ": empty name"])
def test_a_malformed_header_flag_is_a_usage_error(flag: str) -> None:
    result = run("-m", "builtin:echo", "--header", flag, "hi")
    assert result.exit_code == 2
    assert "write it as --header 'Name: value'" in error_line(result)


@pytest.mark.parametrize(
    "table",
    ['headers = "X-Title: x"', 'headers = { "Bad Name" = "x" }', 'headers = { "X-Title" = 5 }'],
)
def test_config_headers_must_be_a_table_of_strings(config: Any, table: str) -> None:
    config(f"[providers.openai]\n{table}\n")
    result = run("-m", "openai:gpt-4o", "hi", OPENAI_API_KEY=OPENAI_KEY)
    assert result.exit_code == 3
    assert "providers.openai.headers must be a table of header names and string values" in error_line(result)


# --- a wrong Anthropic path -------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["httpx", "sdk"])
def test_an_anthropic_404_not_about_the_model_is_a_wrong_endpoint(
    loopback_server: LoopbackServer,  # noqa: F811
    config: Any,
    transport: str,
) -> None:
    config(f'[providers.anthropic]\ntransport = "{transport}"\n')
    loopback_server.default = Reply.json({"detail": "Not Found"}, status=404)  # LiteLLM (FastAPI) at /v1/v1/messages
    result = run("-m", "anthropic:claude-haiku-4-5", "--base-url", f"{loopback_server.base_url}/v1", "hi",
                 ANTHROPIC_API_KEY=ANTHROPIC_KEY)  # fmt: skip
    assert result.exit_code == 3
    line = error_line(result)
    assert f"has no messages endpoint at {loopback_server.base_url}/v1/v1/messages (HTTP 404: Not Found)" in line
    assert "without the /v1" in line and "does not know the model" not in line


@pytest.mark.parametrize("transport", ["httpx", "sdk"])
def test_an_anthropic_404_about_the_model_still_names_it(
    loopback_server: LoopbackServer,  # noqa: F811
    config: Any,
    transport: str,
) -> None:
    config(f'[providers.anthropic]\ntransport = "{transport}"\n')
    error = {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-nope"}}
    loopback_server.default = Reply.json(error, status=404)
    result = run("-m", "anthropic:claude-nope", "--base-url", loopback_server.base_url, "hi",
                 ANTHROPIC_API_KEY=ANTHROPIC_KEY)  # fmt: skip
    assert result.exit_code == 3
    assert "does not know the model 'claude-nope'" in error_line(result)


# --- --json when the request fails -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "exit_code", "kind", "said"),
    [
        (Reply.json({"error": {"message": "parallel request limit reached", "type": "rate_limit"}}, status=429), 4,
         "rate_limit", "rate limited by"),
        (Reply.json({"detail": "Not Found"}, status=404), 3, "config_error", "has no chat endpoint"),
        (Reply.sse(b'data: {"error": {"message": "upstream went away", "type": "server_error"}}\n\n'), 4,
         "server_error", "upstream went away"),
    ],
    ids=["429", "404", "error-event"],
)  # fmt: skip
def test_json_prints_an_object_with_the_error_of_a_request_that_failed_before_the_first_token(
    loopback_server: LoopbackServer,  # noqa: F811
    reply: Reply,
    exit_code: int,
    kind: str,
    said: str,
) -> None:
    loopback_server.default = reply
    result = run("-m", "openai:gpt-4o", "--base-url", f"{loopback_server.base_url}/v1", "--json", "hi",
                 OPENAI_API_KEY=OPENAI_KEY)  # fmt: skip
    assert result.exit_code == exit_code
    record = json.loads(result.stdout)
    error = record["error"]
    assert (error["exit_code"], error["type"]) == (exit_code, kind)
    assert said in error["message"] and error["message"] == error_line(result)
    assert (record["content"], record["stop_reason"], record["prompt"]) == ("", None, "hi")
    assert list(record)[list(record).index("stop_reason") + 1] == "error"


def test_json_of_a_refused_connection_has_the_network_error() -> None:
    result = run(
        "-m", "openai:gpt-4o", "--base-url", "http://127.0.0.1:9/v1", "--json", "hi", OPENAI_API_KEY=OPENAI_KEY
    )
    assert result.exit_code == 5
    assert json.loads(result.stdout)["error"]["exit_code"] == 5


def test_json_of_a_reply_cut_by_an_error_has_the_text_and_the_error(loopback_server: LoopbackServer) -> None:  # noqa: F811
    first = openai_stream("Hello").split(b"\n\n")[0] + b"\n\n"
    loopback_server.default = Reply.sse(first + b'data: {"error": {"message": "boom", "type": "server_error"}}\n\n')
    result = run("-m", "openai:gpt-4o", "--base-url", f"{loopback_server.base_url}/v1", "--json", "hi",
                 OPENAI_API_KEY=OPENAI_KEY)  # fmt: skip
    record = json.loads(result.stdout)
    assert (result.exit_code, record["content"], record["error"]["type"]) == (4, "Hello", "server_error")


def test_a_problem_before_any_request_prints_no_object() -> None:
    result = run("-m", "openai:gpt-4o", "--json", "hi")  # no key
    assert (result.exit_code, result.stdout) == (3, "")


# --- errors that name the server that answered ------------------------------------------------------------


def test_a_declared_gateway_is_named_with_its_host_in_errors(loopback_server: LoopbackServer, config: Any) -> None:  # noqa: F811
    base_url = f"{loopback_server.base_url}/v1"
    config(f'[providers.litellm]\nkind = "openai"\nbase_url = "{base_url}"\napi_key_env = "LITELLM_KEY"\n')
    loopback_server.default = Reply.json(
        {"error": {"message": "invalid virtual key", "type": "auth_error"}}, status=401
    )
    result = run("-m", "litellm:gpt-4o", "hi", LITELLM_KEY=OPENAI_KEY)
    assert result.exit_code == 3
    assert error_line(result) == (
        f"litellm at 127.0.0.1:{loopback_server.port} rejected the API key (HTTP 401: invalid virtual key) "
        "(set LITELLM_KEY or run `chatstream keys set litellm`)"
    )


@pytest.mark.parametrize("transport", ["httpx", "sdk"])
def test_an_anthropic_base_url_on_a_gateway_names_the_gateway(
    loopback_server: LoopbackServer,  # noqa: F811
    config: Any,
    transport: str,
) -> None:
    config(f'[providers.anthropic]\ntransport = "{transport}"\n')
    error = {"type": "error", "error": {"type": "api_error", "message": "upstream failed"}}
    loopback_server.default = Reply.json(error, status=500)
    result = run("-m", "anthropic:claude-haiku-4-5", "hi", ANTHROPIC_API_KEY=ANTHROPIC_KEY,
                 ANTHROPIC_BASE_URL=loopback_server.base_url)  # fmt: skip
    assert result.exit_code == 4
    assert error_line(result) == (
        f"anthropic at 127.0.0.1:{loopback_server.port} failed (HTTP 500: upstream failed) "
        "(try again shortly, or raise --retries)"
    )


def test_an_error_event_from_a_gateway_names_it(loopback_server: LoopbackServer) -> None:  # noqa: F811
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    loopback_server.default = Reply.sse(f"event: error\ndata: {json.dumps(error)}\n\n".encode())
    result = run("-m", "anthropic:claude-haiku-4-5", "--base-url", loopback_server.base_url, "hi",
                 ANTHROPIC_API_KEY=ANTHROPIC_KEY)  # fmt: skip
    assert result.exit_code == 4
    assert error_line(result).startswith(
        f"anthropic at 127.0.0.1:{loopback_server.port} stopped the reply with an error: Overloaded"
    )


@pytest.mark.parametrize(
    ("endpoint", "label"),
    [
        ("https://api.openai.com/v1", "OpenAI"),
        ("https://eu.api.openai.com/v1", "OpenAI"),  # a subdomain is the vendor's own
        ("https://API.OpenAI.com./v1", "OpenAI"),
        ("https://openai.com.evil.example/v1", "openai at openai.com.evil.example:443"),
        ("https://notopenai.com/v1", "openai at notopenai.com:443"),
        ("http://user:secret@gateway.internal:4000/v1", "openai at gateway.internal:4000"),  # never the userinfo
        ("http://[::1]:8080/v1", "openai at [::1]:8080"),
        ("http://gateway.internal/v1", "openai at gateway.internal:80"),
    ],
)
def test_server_label_names_a_host_off_the_vendors_domain(endpoint: str, label: str) -> None:
    from chatstream_cli.retry import server_label

    assert server_label("openai", "OpenAI", endpoint, "openai.com") == label


def test_a_local_server_keeps_its_name_and_a_declared_endpoint_never_does() -> None:
    from chatstream_cli.retry import server_label

    assert server_label("ollama", "Ollama", "http://gpu-box:11434/v1", None) == "Ollama"
    assert server_label("corp", "corp", "https://api.openai.com/v1", "") == "corp at api.openai.com:443"


@pytest.mark.parametrize(
    ("model", "env", "label"),
    [
        ("openai:gpt-4o", {"OPENAI_API_KEY": OPENAI_KEY}, "OpenAI"),
        ("openrouter:openai/gpt-4o", {"OPENROUTER_API_KEY": OPENAI_KEY}, "OpenRouter"),
        ("anthropic:claude-haiku-4-5", {"ANTHROPIC_API_KEY": ANTHROPIC_KEY}, "Anthropic"),
        ("gemini:gemini-2.5-flash", {"GEMINI_API_KEY": OPENAI_KEY}, "Gemini"),
        (
            "azure:gpt-4o",
            {"AZURE_OPENAI_API_KEY": OPENAI_KEY, "AZURE_OPENAI_ENDPOINT": "https://contoso.openai.azure.com"},
            "Azure OpenAI",
        ),
        ("ollama:llama3", {"OLLAMA_HOST": "http://gpu-box:11434"}, "Ollama"),
    ],
)
def test_the_vendors_own_endpoints_keep_their_names(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, model: str, env: dict[str, str], label: str
) -> None:
    from chatstream_cli.providers import build, resolve
    from chatstream_cli.runnable import ModelSettings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert build(resolve(model), ModelSettings()).service.label == label
