"""Claude on Amazon Bedrock and Google Vertex AI, end to end against loopback servers speaking each
platform's wire format: Bedrock's AWS event-stream frames (binary, CRC-checked, base64 payloads) and
Vertex's ``:streamRawPredict`` Server-Sent Events, with credentials where those platforms' tools put them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.providers import build, resolve
from chatstream_cli.runnable import ModelSettings
from tests.aws_frames import CONTENT_TYPE, chunk_frame, exception_frame, frame
from tests.conftest import CHATSTREAM, cli_env, error_line
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_anthropic_provider import GREETING, anthropic_stream, fixture_lines, masked, pieces

BEDROCK_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
VERTEX_MODEL = "claude-haiku-4-5@20251001"
ACCESS_KEY = "AKIDAUDIT0123456789"
SECRET_KEY = "aws-secret-AUDIT-5c1f2e9d8b7a"
BEARER = "ABSK-bedrock-AUDIT-77e3a1"
GOOGLE_TOKEN = "ya29.vertex-AUDIT-token-42"
SECRETS = (SECRET_KEY, BEARER, GOOGLE_TOKEN, "AUDIT-5c1f2e9d8b7a")


def events_of(sse: str) -> list[dict[str, Any]]:
    return [json.loads(line[len("data: ") :]) for line in sse.splitlines() if line.startswith("data: ")]


def bedrock_reply(events: list[dict[str, Any]], *, cut: int | None = None, after: bytes = b"") -> Reply:
    """Frames for ``events`` (the first ``cut`` only, then ``after``), split so frames straddle HTTP chunks."""
    body = b"".join(chunk_frame(event) for event in events[:cut]) + after
    pieces_ = [body[start : start + 37] for start in range(0, len(body), 37)]
    return Reply(headers=[("content-type", CONTENT_TYPE), ("x-amzn-requestid", "r-1")], chunks=pieces_)


def run(model: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["-m", model, *args, "Greet me"])


# -- Amazon Bedrock ----------------------------------------------------------------------------


@pytest.fixture
def bedrock(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> LoopbackServer:  # noqa: F811
    """AWS credentials and region in the environment, as the AWS CLI and SDKs read them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", loopback_server.base_url)
    return loopback_server


@pytest.mark.parametrize("mode", [[], ["--async"]], ids=["stream", "async"])
def test_bedrock_reply_from_event_stream_frames(bedrock: LoopbackServer, mode: list[str]) -> None:
    bedrock.enqueue(bedrock_reply(events_of(anthropic_stream())))
    result = run(f"bedrock:{BEDROCK_MODEL}", *mode, "-s", "Be brief.")
    assert (result.exit_code, result.stdout, result.stderr) == (0, GREETING + "\n", "")
    request = bedrock.requests[0]
    assert request.path == f"/model/{BEDROCK_MODEL}/invoke-with-response-stream"
    assert request.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    assert "/us-east-1/bedrock/aws4_request" in request.headers["authorization"]
    body = request.json
    assert "model" not in body and "stream" not in body  # in the URL, as Bedrock wants
    assert (body["system"], body["messages"], body["max_tokens"]) == (
        "Be brief.",
        [{"role": "user", "content": "Greet me"}],
        64000,
    )


def test_bedrock_chunks_equal_the_direct_apis(bedrock: LoopbackServer) -> None:
    """The same events through Bedrock's framing give LangChain's chunks, as the direct API does."""
    stream = (Path(__file__).parent / "data" / "wire" / "anthropic_stream_text.sse").read_text()
    bedrock.enqueue(bedrock_reply(events_of(stream)))
    model = build(resolve(f"bedrock:{BEDROCK_MODEL}"), ModelSettings(retries=0, timeout=5))
    chunks = [masked(chunk.to_dict()) for chunk in model.stream("Greet me in two short sentences.")]
    assert [json.dumps(chunk) for chunk in chunks] == [json.dumps(line) for line in fixture_lines("short")]


def test_bedrock_whole_reply(bedrock: LoopbackServer) -> None:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": BEDROCK_MODEL}
    message |= {"content": [{"type": "text", "text": "Hi."}], "stop_reason": "end_turn", "stop_sequence": None}
    bedrock.enqueue(Reply.json({**message, "usage": {"input_tokens": 3, "output_tokens": 2}}))
    result = run(f"bedrock:{BEDROCK_MODEL}", "--no-stream")
    assert (result.exit_code, result.stdout) == (0, "Hi.\n")
    assert bedrock.requests[0].path == f"/model/{BEDROCK_MODEL}/invoke"


def test_bedrock_thinking_stays_off_a_piped_stdout(bedrock: LoopbackServer) -> None:
    bedrock.enqueue(bedrock_reply(events_of(anthropic_stream("Hello.", thinking="Short greeting."))))
    result = run(f"bedrock:{BEDROCK_MODEL}", "--thinking")
    assert (result.exit_code, result.stdout) == (0, "Hello.\n")
    assert bedrock.requests[0].json["thinking"] == {"type": "adaptive", "display": "summarized"}


def test_bedrock_exception_frame_mid_stream_keeps_the_text(bedrock: LoopbackServer) -> None:
    events = events_of(anthropic_stream())
    error = exception_frame("modelStreamErrorException", "The model stream failed.")
    bedrock.enqueue(bedrock_reply(events, cut=5, after=error))
    result = run(f"bedrock:{BEDROCK_MODEL}")
    assert result.exit_code == 4
    assert result.stdout == "Hello there\n"
    assert error_line(result) == (
        "Amazon Bedrock stopped the reply with an error: The model stream failed. (api_error) "
        "(try again; any text already shown stays)"
    )


def test_bedrock_throttling_is_retried_frame_or_response(bedrock: LoopbackServer) -> None:
    """A throttlingException frame before the first token, then an HTTP 429 throttling response, then a reply."""
    throttled_frame = bedrock_reply([], after=exception_frame("throttlingException", "Too many tokens."))
    throttled_response = Reply.json(
        {"message": "Too many requests, please wait before trying again."},
        status=429,
        headers=[("x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")],
    )
    bedrock.enqueue_many([throttled_frame, throttled_response, bedrock_reply(events_of(anthropic_stream()))])
    result = run(f"bedrock:{BEDROCK_MODEL}", "--retries", "2")
    assert (result.exit_code, result.stdout, result.stderr) == (0, GREETING + "\n", "")
    assert len(bedrock.requests) == 3


def test_bedrock_throttling_that_lasts_is_exit_4(bedrock: LoopbackServer) -> None:
    bedrock.enqueue(Reply.json({"message": "Too many requests."}, status=429, headers=[("retry-after", "0")]))
    result = run(f"bedrock:{BEDROCK_MODEL}", "--retries", "0")
    assert result.exit_code == 4
    assert error_line(result) == "rate limited by Amazon Bedrock (HTTP 429: Too many requests.) " + (
        "(wait a minute, or raise --retries)"
    )


def test_a_broken_frame_is_a_provider_error(bedrock: LoopbackServer) -> None:
    good = chunk_frame(events_of(anthropic_stream())[0])
    broken = bytearray(frame({":message-type": "event", ":event-type": "chunk"}, b'{"bytes": ""}'))
    broken[-1] ^= 0xFF  # the message CRC no longer matches
    bedrock.enqueue(Reply(headers=[("content-type", CONTENT_TYPE)], chunks=[good + bytes(broken)]))
    result = run(f"bedrock:{BEDROCK_MODEL}", "--retries", "0")
    assert result.exit_code == 4
    assert error_line(result).startswith("Amazon Bedrock sent a broken event-stream frame")


def test_bedrock_api_key_is_sent_as_a_bearer_token(bedrock: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", BEARER)
    bedrock.enqueue(Reply.json({"message": f"The security token {BEARER} is invalid."}, status=403))
    result = run(f"bedrock:{BEDROCK_MODEL}")
    assert bedrock.requests[0].headers["authorization"] == f"Bearer {BEARER}"
    assert result.exit_code == 3
    assert BEARER not in result.stdout + result.stderr
    assert error_line(result).endswith(
        "(set AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_BEARER_TOKEN_BEDROCK)"
    )


def test_bedrock_without_credentials_is_exit_3(bedrock: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process of its own: the SDK keeps boto3 sessions (and their credentials) for the life of a process."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    argv = [*CHATSTREAM, "-m", f"bedrock:{BEDROCK_MODEL}", "hi"]
    done = subprocess.run(argv, env=cli_env(**aws_env()), capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("chatstream: error: no usable Amazon Bedrock credentials")
    assert bedrock.requests == []


def aws_env() -> dict[str, str]:
    """The AWS settings of this test's environment, which cli_env() leaves out."""
    return {name: os.environ[name] for name in os.environ if name.startswith(("AWS_", "ANTHROPIC_BEDROCK"))}


def test_bedrock_region_from_config(
    bedrock: LoopbackServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    monkeypatch.delenv("AWS_REGION")
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text('[providers.bedrock]\nregion = "eu-west-3"\n')
    bedrock.enqueue(bedrock_reply(events_of(anthropic_stream())))
    assert run(f"bedrock:{BEDROCK_MODEL}").exit_code == 0
    assert "/eu-west-3/bedrock/aws4_request" in bedrock.requests[0].headers["authorization"]


@pytest.mark.parametrize(
    ("provider", "module"), [("bedrock", "botocore"), ("vertex", "google.auth.transport.requests")]
)
def test_a_missing_extra_says_which_to_install(provider: str, module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what an environment without the package gives import
    monkeypatch.setenv("CLOUD_ML_REGION", "us-east5")
    result = run(f"{provider}:claude-x")
    assert result.exit_code == 3
    assert error_line(result).endswith(f'(pip install "chatstream[{provider}]")')


def test_platform_secrets_never_appear_even_with_debug(bedrock: LoopbackServer) -> None:
    events = events_of(anthropic_stream())
    bedrock.enqueue_many(
        [
            bedrock_reply(events),
            bedrock_reply(events, cut=4, after=exception_frame("internalServerException", f"bad {SECRET_KEY}")),
        ]
    )
    outputs = []
    for extra in ([], ["--events"]):
        argv = [*CHATSTREAM, "-m", f"bedrock:{BEDROCK_MODEL}", "--debug", "--retries", "0", *extra, "hi"]
        done = subprocess.run(argv, env=cli_env(**aws_env()), capture_output=True, timeout=60)
        outputs.append(done.stdout + done.stderr)
    assert b"chatstream: debug: > POST" in outputs[0] and b"<redacted>" in outputs[0]
    for output in outputs:
        assert not [secret for secret in SECRETS if secret.encode() in output], output.decode(errors="replace")


# -- Google Vertex AI ---------------------------------------------------------------------------


@pytest.fixture
def vertex(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> LoopbackServer:  # noqa: F811
    """Application-default credentials in a file: a service account, whose token_uri is the loopback server
    (google-auth signs a JWT with its key and trades it there for an access token)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    credentials = {
        "type": "service_account",
        "project_id": "my-project",
        "private_key_id": "key-1",
        "private_key": pem.decode(),
        "client_email": "chatstream@my-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": loopback_server.url("/token"),
    }
    path = tmp_path / "adc.json"
    path.write_text(json.dumps(credentials))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("CLOUD_ML_REGION", "us-east5")
    monkeypatch.setenv("ANTHROPIC_VERTEX_BASE_URL", loopback_server.url("/v1"))
    loopback_server.enqueue(
        Reply.json({"access_token": GOOGLE_TOKEN, "expires_in": 3600, "token_type": "Bearer"}), "/token"
    )
    return loopback_server


VERTEX_PATH = f"/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/{VERTEX_MODEL}"


@pytest.mark.parametrize("mode", [[], ["--async"]], ids=["stream", "async"])
def test_vertex_reply_from_stream_raw_predict(vertex: LoopbackServer, mode: list[str]) -> None:
    vertex.enqueue(Reply.sse(anthropic_stream()), f"{VERTEX_PATH}:streamRawPredict")
    result = run(f"vertex:{VERTEX_MODEL}", *mode)
    assert (result.exit_code, result.stdout, result.stderr) == (0, GREETING + "\n", "")
    token_request, request = vertex.requests
    assert token_request.path == "/token" and b"assertion=" in token_request.body  # the signed JWT
    assert request.headers["authorization"] == f"Bearer {GOOGLE_TOKEN}"
    assert "model" not in request.json and request.json["stream"] is True


def test_vertex_stats_and_events(vertex: LoopbackServer) -> None:
    vertex.enqueue(Reply.sse(anthropic_stream()), f"{VERTEX_PATH}:streamRawPredict")
    result = run(f"vertex:{VERTEX_MODEL}", "--events")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [event["event"] for event in events[:2]] == ["on_chat_model_start", "on_chat_model_stream"]
    assert events[0]["name"] == "ChatAnthropicVertex"
    assert events[0]["metadata"]["ls_provider"] == "vertex"
    assert events[-1]["data"]["output"]["content"] == GREETING
    assert len(events) == len(pieces(GREETING)) + 4  # start, message_start, the pieces, message_delta, end


def test_vertex_whole_reply(vertex: LoopbackServer) -> None:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": VERTEX_MODEL}
    message |= {"content": [{"type": "text", "text": "Hi."}], "stop_reason": "end_turn", "stop_sequence": None}
    vertex.enqueue(
        Reply.json({**message, "usage": {"input_tokens": 3, "output_tokens": 2}}), f"{VERTEX_PATH}:rawPredict"
    )
    result = run(f"vertex:{VERTEX_MODEL}", "--no-stream")
    assert (result.exit_code, result.stdout) == (0, "Hi.\n")


def test_vertex_rate_limit_is_retried(vertex: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_VERTEX_PROJECT_ID", "my-project")  # the SDK's variable, over the credentials'
    limited = Reply.json(
        {"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED"}},
        status=429,
        headers=[("retry-after", "0")],
    )
    vertex.enqueue_many([limited, Reply.sse(anthropic_stream())], f"{VERTEX_PATH}:streamRawPredict")
    result = run(f"vertex:{VERTEX_MODEL}")
    assert (result.exit_code, result.stdout) == (0, GREETING + "\n")


def test_vertex_without_region_is_exit_3(vertex: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUD_ML_REGION")
    result = run(f"vertex:{VERTEX_MODEL}")
    assert result.exit_code == 3
    assert error_line(result).startswith("no Google Cloud region for Vertex AI")


def test_vertex_credentials_that_cannot_refresh_are_exit_3(vertex: LoopbackServer) -> None:
    vertex.reset()
    vertex.enqueue(Reply.json({"error": "invalid_grant", "error_description": "Bad Request"}, status=400), "/token")
    result = run(f"vertex:{VERTEX_MODEL}")
    assert result.exit_code == 3
    error = error_line(result)
    assert error.startswith("no usable Google Vertex AI credentials")
