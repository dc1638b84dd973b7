"""Azure OpenAI, end to end against a loopback server: both URL forms, the api-version, the api-key header,
where the endpoint comes from, failures, and Microsoft Entra ID tokens from azure-identity (its App Service
managed-identity source, whose token endpoint may be plain http on 127.0.0.1). The stream shapes and
--events against AzureChatOpenAI are tests/data/streams/azure/deployment_*, walked by test_stream_shapes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.providers import build, resolve
from chatstream_cli.runnable import ModelSettings
from tests.conftest import CHATSTREAM, cli_env, error_line
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

KEY = "azure-test-key-0123456789"
DEPLOYMENT = "chat-deployment"
DEPLOYMENT_PATH = f"/openai/deployments/{DEPLOYMENT}/chat/completions"
STREAM = (Path(__file__).parent / "data" / "streams" / "azure" / "deployment_choice_without_delta.sse").read_bytes()
TEXT = json.loads(
    (Path(__file__).parent / "data" / "streams" / "azure" / "deployment_choice_without_delta.json").read_text()
)["expect"]["text"]
TOKEN_PATH = "/msi/token"


@pytest.fixture
def azure(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", loopback_server.base_url)
    return loopback_server


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["-m", f"azure:{DEPLOYMENT}", *args, "--", "Tell me"])


def test_the_deployment_form_with_the_ga_api_version_and_the_api_key(azure: LoopbackServer) -> None:
    azure.enqueue(Reply.sse(STREAM))
    result = run("--max-tokens", "50")
    assert (result.exit_code, result.stdout.rstrip("\n")) == (0, TEXT), result.stderr
    request = azure.requests[0]
    assert request.path == f"{DEPLOYMENT_PATH}?api-version=2024-10-21"
    assert request.headers["api-key"] == KEY
    assert "authorization" not in request.headers
    assert request.json["max_completion_tokens"] == 50
    assert request.json["stream_options"] == {"include_usage": True}


def test_the_api_version_comes_from_the_environment_or_an_option(
    azure: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    azure.enqueue_many([Reply.sse(STREAM)] * 2)
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2025-04-01-preview")
    assert run().exit_code == 0
    assert run("-o", "api_version", "2024-06-01").exit_code == 0
    assert [r.path.partition("?")[2] for r in azure.requests] == [
        "api-version=2025-04-01-preview",
        "api-version=2024-06-01",
    ]
    assert all("api_version" not in r.json for r in azure.requests)


@pytest.mark.parametrize("how", ["option", "endpoint"])
def test_the_v1_form_sends_the_deployment_as_model(
    azure: LoopbackServer, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    azure.enqueue(Reply.sse(STREAM))
    if how == "endpoint":
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"{azure.base_url}/openai/v1/")
        result = run()
    else:
        result = run("-o", "api_version", "v1")
    assert result.exit_code == 0, result.stderr
    request = azure.requests[0]
    assert request.path == "/openai/v1/chat/completions"
    assert request.json["model"] == DEPLOYMENT


def test_the_endpoint_may_come_from_the_config(azure: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    config = CliRunner().invoke(app, ["config", "set", "providers.azure.base_url", azure.base_url])
    assert config.exit_code == 0, config.output
    azure.enqueue(Reply.sse(STREAM))
    assert run().exit_code == 0
    assert azure.requests[0].path.startswith(DEPLOYMENT_PATH)


def test_no_endpoint_and_no_key_are_exit_3(azure: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    result = run()
    assert result.exit_code == 3
    assert error_line(result).startswith("no Azure OpenAI endpoint (set AZURE_OPENAI_ENDPOINT")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", azure.base_url)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    result = run()
    assert result.exit_code == 3
    assert error_line(result).startswith("no Azure OpenAI API key (set AZURE_OPENAI_API_KEY")
    assert not azure.requests


def test_an_unknown_deployment_and_a_rejected_key(azure: LoopbackServer) -> None:
    missing = {
        "error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist."}
    }
    denied = {"error": {"code": "401", "message": f"Access denied due to invalid subscription key {KEY}."}}
    azure.enqueue_many([Reply.json(missing, status=404), Reply.json(denied, status=401)])
    label = azure.named_as("azure")  # a loopback server is no Azure resource: named as a gateway would be
    result = run("--retries", "0")
    assert result.exit_code == 3
    assert error_line(result).startswith(f"{label} has no deployment '{DEPLOYMENT}' at {azure.base_url}")
    result = run("--retries", "0")
    assert result.exit_code == 3
    assert error_line(result).startswith(f"{label} rejected the API key (HTTP 401")
    assert KEY not in result.stderr


def test_a_bad_auth_option_is_a_usage_error(azure: LoopbackServer) -> None:
    result = run("-o", "auth", "password")
    assert result.exit_code == 2
    assert error_line(result).startswith("-o auth 'password' is not valid")


# -- Microsoft Entra ID ---------------------------------------------------------------------------


def token_reply(token: str, lifetime_s: int) -> Reply:
    """App Service's managed-identity answer (azure-identity's AppServiceCredential reads it)."""
    expires = str(int(time.time()) + lifetime_s)
    body = {"access_token": token, "expires_on": expires, "resource": "https://cognitiveservices.azure.com"}
    return Reply.json({**body, "token_type": "Bearer"})


@pytest.fixture
def entra(azure: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    pytest.importorskip("azure.identity")
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    monkeypatch.setenv("IDENTITY_ENDPOINT", azure.url(TOKEN_PATH))
    monkeypatch.setenv("IDENTITY_HEADER", "identity-header-secret")
    for name in ("MSI_ENDPOINT", "MSI_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return azure


def bearer_tokens(server: LoopbackServer) -> list[str]:
    return [r.headers["authorization"] for r in server.requests if r.path.startswith(DEPLOYMENT_PATH)]


def test_entra_id_sends_a_bearer_token_and_keeps_it_while_it_is_fresh(entra: LoopbackServer) -> None:
    entra.enqueue(token_reply("entra-token-one", 3600), TOKEN_PATH)
    entra.enqueue_many([Reply.sse(STREAM)] * 2, DEPLOYMENT_PATH)
    model = build(resolve(f"azure:{DEPLOYMENT}"), ModelSettings(retries=0, timeout=5, options={"auth": "entra"}))
    for _ in range(2):
        assert "".join(chunk.text for chunk in model.stream("Tell me")) == TEXT
    token_requests = [r for r in entra.requests if r.path.startswith(TOKEN_PATH)]
    assert len(token_requests) == 1
    assert token_requests[0].headers["x-identity-header"] == "identity-header-secret"
    assert "resource=https" in token_requests[0].path
    assert bearer_tokens(entra) == ["Bearer entra-token-one"] * 2
    assert all("api-key" not in r.headers for r in entra.requests)


def test_entra_id_gets_a_new_token_when_the_old_one_is_about_to_expire(entra: LoopbackServer) -> None:
    entra.enqueue_many([token_reply("short-lived-one", 60), token_reply("short-lived-two", 60)], TOKEN_PATH)
    entra.enqueue_many([Reply.sse(STREAM)] * 2, DEPLOYMENT_PATH)
    model = build(resolve(f"azure:{DEPLOYMENT}"), ModelSettings(retries=0, timeout=5, options={"auth": "entra"}))
    for _ in range(2):
        assert "".join(chunk.text for chunk in model.stream("Tell me")) == TEXT
    assert bearer_tokens(entra) == ["Bearer short-lived-one", "Bearer short-lived-two"]


def test_entra_id_through_the_cli_and_a_failing_credential(entra: LoopbackServer) -> None:
    entra.enqueue(token_reply("entra-cli-token", 3600), TOKEN_PATH)
    entra.enqueue(Reply.sse(STREAM), DEPLOYMENT_PATH)
    result = run("-o", "auth", "entra", "--async")
    assert (result.exit_code, result.stdout.rstrip("\n")) == (0, TEXT), result.stderr
    assert bearer_tokens(entra) == ["Bearer entra-cli-token"]
    entra.reset()
    entra.enqueue(Reply.json({"error": "invalid_request", "error_description": "no identity"}, status=400), TOKEN_PATH)
    result = run("-o", "auth", "entra", "--retries", "0")
    assert result.exit_code == 3
    assert error_line(result).startswith("no usable Microsoft Entra ID credentials for Azure OpenAI")
    assert "identity-header-secret" not in result.stderr


def test_the_key_and_the_entra_token_stay_out_of_the_debug_trace(entra: LoopbackServer) -> None:
    entra.enqueue(token_reply("entra-secret-token-0123456789", 3600), TOKEN_PATH)
    entra.enqueue(Reply.sse(STREAM), DEPLOYMENT_PATH)
    env = cli_env(AZURE_OPENAI_ENDPOINT=entra.base_url, IDENTITY_ENDPOINT=entra.url(TOKEN_PATH))
    argv = [*CHATSTREAM, "-m", f"azure:{DEPLOYMENT}", "-o", "auth", "entra", "--debug", "hi"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "'authorization': '<redacted>'" in done.stderr
    assert "entra-secret-token-0123456789" not in done.stderr + done.stdout


def test_auth_and_the_api_version_may_be_set_in_the_config(entra: LoopbackServer) -> None:
    for key, value in (("auth", "entra"), ("api_version", "2025-04-01-preview")):
        done = CliRunner().invoke(app, ["config", "set", f"providers.azure.{key}", value])
        assert done.exit_code == 0, done.output
    entra.enqueue(token_reply("entra-config-token", 3600), TOKEN_PATH)
    entra.enqueue(Reply.sse(STREAM), DEPLOYMENT_PATH)
    result = run()
    assert result.exit_code == 0, result.stderr
    chat = entra.requests[-1]
    assert (chat.path.partition("?")[2], chat.headers["authorization"]) == (
        "api-version=2025-04-01-preview",
        "Bearer entra-config-token",
    )
    refused = CliRunner().invoke(app, ["config", "set", "providers.openai.auth", "entra"])
    assert refused.exit_code != 0
    assert "auth is a setting of [providers.azure] only" in refused.stderr


def test_a_whole_reply_and_the_async_path_use_the_deployment_url(azure: LoopbackServer) -> None:
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    azure.enqueue_many([Reply.json(completion), Reply.sse(STREAM)])
    whole = run("--no-stream", "--json")
    assert json.loads(whole.stdout)["content"] == "Hi.", whole.stderr
    streamed = run("--async")
    assert (streamed.exit_code, streamed.stdout.rstrip("\n")) == (0, TEXT), streamed.stderr
    assert [r.path for r in azure.requests] == [f"{DEPLOYMENT_PATH}?api-version=2024-10-21"] * 2
    assert "stream_options" not in azure.requests[0].json
