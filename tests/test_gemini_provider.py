"""Gemini through the Gemini API, end to end against a loopback server: the request (URL, key header, body),
where the key comes from, thinking, attachments, errors and retries by the shared policy, and async and
whole replies. The stream shapes themselves (usage, finish reasons, --events against LangChain) are
tests/data/streams/gemini/, walked by tests/test_stream_shapes.py."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.providers import build, resolve
from chatstream_cli.runnable import ModelSettings
from tests.conftest import CHATSTREAM, cli_env, error_line, imported_modules
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

KEY = "gemini-test-key-0123456789"
MODEL = "gemini-2.5-flash"
STREAM_PATH = f"/v1beta/models/{MODEL}:streamGenerateContent"
DOT = Path(__file__).parent / "data" / "dot.png"
STREAMS = Path(__file__).parent / "data" / "streams" / "gemini"


def gemini_stream(*texts: str, thought: str | None = None, finish: str = "STOP") -> bytes:
    """A Gemini API stream: an optional thought part, then one event per text, the last one finishing."""
    parts = ([[{"text": thought, "thought": True}]] if thought else []) + [[{"text": text}] for text in texts]
    events = []
    for number, part in enumerate(parts, 1):
        candidate: dict[str, Any] = {"content": {"parts": part, "role": "model"}, "index": 0}
        if number == len(parts):
            candidate["finishReason"] = finish
        usage = {"promptTokenCount": 5, "candidatesTokenCount": number, "totalTokenCount": 5 + number}
        event = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": MODEL, "responseId": "r1"}
        events.append(f"data: {json.dumps(event)}\r\n\r\n")
    return "".join(events).encode()


def google_error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": list(details)}}


@pytest.fixture
def gemini(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", loopback_server.base_url)
    return loopback_server


def run(*args: str, model: str = f"gemini:{MODEL}") -> Result:
    return CliRunner().invoke(app, ["-m", model, *args, "--", "Greet me"])


def test_the_request_goes_to_stream_generate_content_with_the_key_header(gemini: LoopbackServer) -> None:
    gemini.enqueue(Reply.sse(gemini_stream("Hello", " there.")))
    result = run("-s", "Be brief.", "-t", "0.3", "--max-tokens", "100", "--stop", "END", "-o", "topK", "20")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello there.\n", "")
    request = gemini.requests[0]
    assert request.path == f"{STREAM_PATH}?alt=sse"
    assert request.headers["x-goog-api-key"] == KEY
    assert "authorization" not in request.headers and "key=" not in request.path
    assert request.json == {
        "contents": [{"role": "user", "parts": [{"text": "Greet me"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.3, "maxOutputTokens": 100, "stopSequences": ["END"], "topK": 20},
    }


def test_a_bare_gemini_name_is_the_gemini_provider(gemini: LoopbackServer) -> None:
    gemini.enqueue(Reply.sse(gemini_stream("Hi.")))
    result = run(model="gemini-2.5-flash")
    assert (result.exit_code, result.stdout) == (0, "Hi.\n")
    assert gemini.requests[0].path.startswith(STREAM_PATH)


def test_google_api_key_and_a_stored_key_are_used(gemini: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key-0123456789")
    gemini.enqueue_many([Reply.sse(gemini_stream("One.")), Reply.sse(gemini_stream("Two."))])
    assert run().exit_code == 0
    monkeypatch.delenv("GOOGLE_API_KEY")
    stored = CliRunner().invoke(app, ["keys", "set", "gemini"], input="stored-gemini-key-42\n")
    assert stored.exit_code == 0, stored.output
    assert run().exit_code == 0
    assert [r.headers["x-goog-api-key"] for r in gemini.requests] == ["google-key-0123456789", "stored-gemini-key-42"]


def test_no_key_is_exit_3_naming_both_variables(gemini: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    result = run()
    assert result.exit_code == 3
    assert error_line(result) == (
        "no Gemini API key (set GEMINI_API_KEY (or GOOGLE_API_KEY) or run `chatstream keys set gemini`)"
    )
    assert not gemini.requests


def test_thinking_asks_for_thoughts_shows_none_piped_and_json_has_them(gemini: LoopbackServer) -> None:
    gemini.enqueue_many([Reply.sse(gemini_stream("Hello.", thought="Plan a greeting."))] * 2)
    result = run("--thinking", "-o", "thinking_budget", "512")
    assert (result.exit_code, result.stdout) == (0, "Hello.\n")
    assert gemini.requests[0].json["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 512}
    }
    record = json.loads(run("--thinking", "--json").stdout)
    assert (record["content"], record["thinking"]) == ("Hello.", "Plan a greeting.")


def test_an_image_goes_as_inline_data(gemini: LoopbackServer) -> None:
    gemini.enqueue(Reply.sse(gemini_stream("A dot.")))
    result = run("-a", str(DOT))
    assert result.exit_code == 0, result.output
    parts = gemini.requests[0].json["contents"][0]["parts"]
    image = base64.b64encode(DOT.read_bytes()).decode()
    assert {"inline_data": {"mime_type": "image/png", "data": image}} in parts
    assert {"text": "Greet me"} in parts


def test_reserved_options_are_refused(gemini: LoopbackServer) -> None:
    result = run("-o", "contents", "[]")
    assert result.exit_code == 2
    assert error_line(result).startswith("-o contents cannot be set")


@pytest.mark.parametrize(
    ("status", "body", "exit_code", "start"),
    [
        (
            400,
            google_error(400, "INVALID_ARGUMENT", "Invalid value at 'generation_config.temperature'"),
            4,
            "<server> rejected the request (HTTP 400: Invalid value at 'generation_config.temperature')",
        ),
        (
            400,
            google_error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
            ),
            3,
            "<server> rejected the API key (HTTP 400: API key not valid. Please pass a valid API key.)",
        ),
        (
            403,
            google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."),
            3,
            "<server> refused this API key access (HTTP 403: Method doesn't allow unregistered callers.)",
        ),
        (
            404,
            google_error(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta"),
            3,
            "<server> does not know the model 'gemini-2.5-flash' (HTTP 404: models/gemini-9 is not found",
        ),
    ],
    ids=["invalid-argument", "bad-key", "permission-denied", "unknown-model"],
)
def test_errors_are_one_line_with_the_right_exit_code(
    gemini: LoopbackServer, status: int, body: dict[str, Any], exit_code: int, start: str
) -> None:
    gemini.enqueue(Reply.json(body, status=status))
    result = run("--retries", "0")
    assert result.exit_code == exit_code
    assert error_line(result).startswith(start.replace("<server>", gemini.named_as("gemini")))
    assert KEY not in result.stderr


def test_a_429_waits_its_retry_delay_and_a_503_is_retried(gemini: LoopbackServer) -> None:
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.05s"}
    exhausted = google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for metric generate_content", retry_info)
    unavailable = google_error(503, "UNAVAILABLE", "The model is overloaded.")
    soon = [("retry-after", "0.01")]
    gemini.enqueue_many(
        [
            Reply.json(exhausted, status=429),
            Reply.json(unavailable, status=503, headers=soon),
            Reply.sse(gemini_stream("Hi.")),
        ]
    )
    notices: list[str] = []
    model = build(resolve(f"gemini:{MODEL}"), ModelSettings(retries=2, timeout=5, on_notice=notices.append))
    assert "".join(chunk.text for chunk in model.stream("Greet me")) == "Hi."
    assert len(gemini.requests) == 3
    label = gemini.named_as("gemini")
    assert notices[0] == (
        f"rate limited by {label} (HTTP 429: Quota exceeded for metric generate_content); retrying in 0.05 s "
        "(attempt 2 of 3)"
    )
    assert notices[1].startswith(f"{label} is unavailable (HTTP 503: The model is overloaded.); retrying in")


def test_an_error_event_before_any_text_is_retried(gemini: LoopbackServer) -> None:
    overloaded = b'data: {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}\r\n\r\n'
    gemini.enqueue_many([Reply.sse(overloaded), Reply.sse(gemini_stream("Hi."))])
    result = run("--retries", "1")
    assert (result.exit_code, result.stdout) == (0, "Hi.\n"), result.stderr
    assert len(gemini.requests) == 2


def test_a_stream_cut_before_its_finish_reason_is_exit_5_keeping_the_text(gemini: LoopbackServer) -> None:
    body = gemini_stream("Hello", " there")
    gemini.enqueue(Reply.sse(body[: body.index(b"\r\n\r\n") + 4]))
    result = run("--retries", "0")
    assert result.exit_code == 5
    assert result.stdout == "Hello\n"
    assert f"the stream from {gemini.named_as('gemini')} ended before the reply was complete" in result.stderr


@pytest.mark.parametrize("mode", ["--async", "--no-stream"])
def test_async_and_whole_replies(gemini: LoopbackServer, mode: str) -> None:
    if mode == "--no-stream":
        whole = json.loads(gemini_stream("Hello there.\n")[len(b"data: ") : -4])
        gemini.enqueue(Reply.json(whole))
    else:
        gemini.enqueue(Reply.sse(gemini_stream("Hello", " there.")))
    result = run(mode, "--json")
    record = json.loads(result.stdout)
    assert (result.exit_code, record["content"], record["stop_reason"]) == (0, "Hello there.", "STOP")
    assert record["usage"]["input_tokens"] == 5
    method = "generateContent" if mode == "--no-stream" else "streamGenerateContent?alt=sse"
    assert gemini.requests[0].path == f"/v1beta/models/{MODEL}:{method}"


def test_a_base_url_with_an_api_version_is_kept(gemini: LoopbackServer) -> None:
    gemini.enqueue(Reply.sse(gemini_stream("Hi.")))
    result = run("--base-url", f"{gemini.base_url}/proxy/v1")
    assert result.exit_code == 0, result.output
    assert gemini.requests[0].path == f"/proxy/v1/models/{MODEL}:streamGenerateContent?alt=sse"


def test_models_lists_gemini_with_its_key(gemini: LoopbackServer) -> None:
    listing = json.loads(CliRunner().invoke(app, ["models", "--json", "-p", "gemini"]).stdout)
    entry = listing["providers"][0]
    assert (entry["name"], entry["key"]["env"], entry["key"]["source"]) == ("gemini", "GEMINI_API_KEY", "env")
    assert "gemini-2.5-flash" in entry["models"]


# -- Gemini on Google Vertex AI -------------------------------------------------------------------

VERTEX_TOKEN = "ya29.gemini-vertex-AUDIT-token"
VERTEX_PATH = f"/v1/projects/my-project/locations/us-central1/publishers/google/models/{MODEL}"


@pytest.fixture
def vertex(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> LoopbackServer:  # noqa: F811
    """A service account in GOOGLE_APPLICATION_CREDENTIALS whose token_uri is the loopback server: google-auth
    signs a JWT with the key and trades it there for an access token, as it does against Google."""
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
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
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", loopback_server.base_url)
    return loopback_server


def token(lifetime_s: int, value: str = VERTEX_TOKEN) -> Reply:
    return Reply.json({"access_token": value, "expires_in": lifetime_s, "token_type": "Bearer"})


@pytest.mark.parametrize("mode", [[], ["--async"]], ids=["stream", "async"])
def test_vertex_gemini_goes_to_the_publisher_model_with_a_google_token(vertex: LoopbackServer, mode: list[str]) -> None:
    vertex.enqueue(token(3600), "/token")
    vertex.enqueue(Reply.sse(gemini_stream("Hello", " there.")), f"{VERTEX_PATH}:streamGenerateContent")
    result = run(*mode, "-s", "Be brief.", model=f"vertex:{MODEL}")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello there.\n", "")
    token_request, request = vertex.requests
    assert token_request.path == "/token"
    assert request.path == f"{VERTEX_PATH}:streamGenerateContent?alt=sse"
    assert request.headers["authorization"] == f"Bearer {VERTEX_TOKEN}"
    assert "x-goog-api-key" not in request.headers
    assert request.json["systemInstruction"] == {"parts": [{"text": "Be brief."}]}


def test_vertex_gemini_events_are_chat_google_generative_ais(vertex: LoopbackServer) -> None:
    vertex.enqueue(token(3600), "/token")
    vertex.enqueue(Reply.sse(gemini_stream("Hi.")), f"{VERTEX_PATH}:streamGenerateContent")
    result = run("--events", model=f"vertex:{MODEL}")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {event["name"] for event in events} == {"ChatGoogleGenerativeAI"}
    assert events[0]["metadata"]["ls_provider"] == "google_genai"
    assert events[-1]["data"]["output"]["response_metadata"]["finish_reason"] == "STOP"


def test_vertex_gemini_refreshes_an_expiring_token(vertex: LoopbackServer) -> None:
    """google-auth counts a token as expired shortly before it is: each request then gets a fresh one."""
    vertex.enqueue_many([token(10, "ya29.first-AUDIT"), token(10, "ya29.second-AUDIT")], "/token")
    vertex.enqueue_many([Reply.sse(gemini_stream("One."))] * 2, f"{VERTEX_PATH}:streamGenerateContent")
    model = build(resolve(f"vertex:{MODEL}"), ModelSettings(retries=0, timeout=5))
    for _ in range(2):
        assert "".join(chunk.text for chunk in model.stream("Greet me")) == "One."
    chats = [r.headers["authorization"] for r in vertex.requests if r.path.startswith(VERTEX_PATH)]
    assert chats == ["Bearer ya29.first-AUDIT", "Bearer ya29.second-AUDIT"]


def test_vertex_gemini_project_and_region_options_and_credentials_that_fail(
    vertex: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_LOCATION")
    result = run(model=f"vertex:{MODEL}")
    assert result.exit_code == 3
    assert error_line(result).startswith("no Google Cloud region for Vertex AI")
    vertex.enqueue(Reply.json({"error": "invalid_grant", "error_description": "Bad Request"}, status=400), "/token")
    result = run("-o", "region", "global", "-o", "project", "other-project", model=f"vertex:{MODEL}")
    assert result.exit_code == 3
    assert error_line(result).startswith("no usable Google Vertex AI credentials")
    vertex.enqueue(token(3600), "/token")
    vertex.enqueue(Reply.sse(gemini_stream("Hi.")))
    result = run("-o", "region", "global", "-o", "project", "other-project", model=f"vertex:{MODEL}")
    assert result.exit_code == 0, result.stderr
    chat = vertex.requests[-1]
    assert chat.path.startswith(f"/v1/projects/other-project/locations/global/publishers/google/models/{MODEL}:")
    assert "region" not in chat.json.get("generationConfig", {})


def test_models_remote_asks_the_gemini_api(gemini: LoopbackServer) -> None:
    listing = {
        "models": [
            {"name": "models/gemini-2.5-flash", "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]},
            {"name": "models/gemini-2.5-pro", "supportedGenerationMethods": ["generateContent"]},
        ]
    }
    gemini.enqueue(Reply.json(listing))
    result = CliRunner().invoke(app, ["models", "--remote", "-p", "gemini"])
    assert result.exit_code == 0, result.output
    assert "  served now: gemini-2.5-flash, gemini-2.5-pro" in result.stdout.splitlines()
    request = gemini.requests[0]
    assert (request.path, request.headers["x-goog-api-key"]) == ("/v1beta/models?pageSize=1000", KEY)


def test_vertex_gemini_takes_gemini_temperatures(vertex: LoopbackServer) -> None:
    vertex.enqueue(token(3600), "/token")
    vertex.enqueue(Reply.sse(gemini_stream("Hi.")), f"{VERTEX_PATH}:streamGenerateContent")
    assert run("-t", "1.5", model=f"vertex:{MODEL}").exit_code == 0
    assert vertex.requests[-1].json["generationConfig"] == {"temperature": 1.5}
    refused = run("-t", "1.5", model="vertex:claude-haiku-4-5@20251001")
    assert refused.exit_code == 2
    assert error_line(refused).startswith("-t/--temperature 1.5 is out of range for vertex")


def test_the_key_stays_out_of_the_debug_trace(gemini: LoopbackServer) -> None:
    gemini.enqueue(Reply.sse(gemini_stream("Hi.")))
    env = cli_env(GEMINI_API_KEY=KEY, GOOGLE_GEMINI_BASE_URL=gemini.base_url)
    done = subprocess.run(
        [*CHATSTREAM, "-m", f"gemini:{MODEL}", "--debug", "hi"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "'x-goog-api-key': '<redacted>'" in done.stderr
    assert KEY not in done.stderr + done.stdout


def test_a_conversation_goes_on_with_model_turns_and_without_the_thoughts(gemini: LoopbackServer) -> None:
    gemini.enqueue_many(
        [Reply.sse(gemini_stream("Paris.", thought="The capital.")), Reply.sse(gemini_stream("Paris, en français."))]
    )
    first = run("-s", "Be brief.", "--thinking")
    assert first.exit_code == 0, first.stderr
    second = CliRunner().invoke(app, ["-c", "and in French?"])
    assert (second.exit_code, second.stdout) == (0, "Paris, en français.\n"), second.stderr
    body = gemini.requests[1].json
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Greet me"}]},
        {"role": "model", "parts": [{"text": "Paris."}]},
        {"role": "user", "parts": [{"text": "and in French?"}]},
    ]


def test_a_whole_reply_stopped_by_safety_says_so_too(gemini: LoopbackServer) -> None:
    rating = {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": True}
    candidate = {"content": {"parts": [{"text": "Well"}], "role": "model"}, "finishReason": "SAFETY", "index": 0}
    whole = {"candidates": [{**candidate, "safetyRatings": [rating]}], "modelVersion": MODEL}
    blocked = {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "modelVersion": MODEL}
    gemini.enqueue_many([Reply.json(whole), Reply.json(blocked)])
    result = run("--no-stream")
    assert (result.exit_code, result.stdout) == (0, "Well\n")
    assert result.stderr == (
        "chatstream: Gemini's safety filters stopped the reply (SAFETY: HARM_CATEGORY_HARASSMENT)\n"
    )
    result = run("--no-stream")
    assert result.stderr == "chatstream: Gemini blocked the prompt (blockReason PROHIBITED_CONTENT)\n"


def test_a_gemini_reply_imports_neither_google_nor_anthropic(gemini: LoopbackServer) -> None:
    gemini.enqueue(Reply.sse(gemini_stream("Hi.")))
    env = cli_env(GEMINI_API_KEY=KEY, GOOGLE_GEMINI_BASE_URL=gemini.base_url)
    argv = [sys.executable, "-X", "importtime", *CHATSTREAM[1:], "-m", f"gemini:{MODEL}", "hi"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "Hi.\n"), done.stderr
    modules = imported_modules(done.stderr)
    assert "chatstream_cli.providers.gemini.wire" in modules  # the check below can fail
    assert not [name for name in modules if name.split(".")[0] in ("google", "anthropic")]


def test_models_and_keys_name_the_variable_the_key_is_in(
    gemini: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key-0123456789")
    listing = json.loads(CliRunner().invoke(app, ["models", "--json", "-p", "gemini"]).stdout)
    assert listing["providers"][0]["key"] == {"needed": True, "env": "GOOGLE_API_KEY", "source": "env"}
    assert "gemini" in CliRunner().invoke(app, ["keys", "list"]).stdout
    assert "GOOGLE_API_KEY" in CliRunner().invoke(app, ["keys", "list"]).stdout


def test_thought_parts_are_shown_dim_as_thinking_on_a_terminal(gemini: LoopbackServer) -> None:
    from tests.test_terminal_pty import Terminal, run_on_terminal

    gemini.enqueue(Reply.sse(gemini_stream("Hello there.", thought="Plan a short greeting.")))
    argv = [*CHATSTREAM, "-m", f"gemini:{MODEL}", "--thinking", "--no-log", "hi"]
    output, status = run_on_terminal(argv, GEMINI_API_KEY=KEY, GOOGLE_GEMINI_BASE_URL=gemini.base_url)
    lines = Terminal(24, 80).feed(output).lines
    assert status == 0, output
    assert lines[:4] == ["thinking", "Plan a short greeting.", "", "Hello there."]
    assert b"\x1b[1;2mthinking" in output and b"\x1b[2;3mPlan" in output


@pytest.mark.parametrize("name", ["text_usage_running_totals", "thought_parts_and_cache"])
def test_vertex_gemini_events_are_langchains_for_the_same_bytes(vertex: LoopbackServer, name: str) -> None:
    """The recorded streams served by Vertex AI: the events ChatGoogleGenerativeAI(vertexai=True) emitted."""
    from tests.test_events_compat import masked_lines
    from tests.test_stream_shapes import usage_sorted

    meta = json.loads((STREAMS / f"{name}.json").read_text(encoding="utf-8"))
    vertex.enqueue(token(3600), "/token")
    vertex.enqueue(Reply.sse((STREAMS / f"{name}.sse").read_bytes()))
    thinking = ["--thinking"] if meta["cli"].get("thinking") else []
    model = meta["cli"]["model"]
    result = CliRunner().invoke(app, ["-m", f"vertex:{model}", *thinking, "--events", "--", meta["cli"]["prompt"]])
    assert result.exit_code == 0, result.stderr
    assert vertex.requests[-1].path.endswith(f"/publishers/google/models/{model}:streamGenerateContent?alt=sse")
    ours = usage_sorted([json.loads(line) for line in result.stdout.splitlines()])
    theirs = usage_sorted(meta["langchain_vertex_events"])
    assert masked_lines(ours) == masked_lines(theirs)


# -- structured output and tools ------------------------------------------------------------------

NAME_AGE = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
WEATHER = str(Path(__file__).parent / "data" / "tools" / "weather.py")


@pytest.mark.parametrize(
    ("pieces", "exit_code", "stdout"),
    [
        (('{"name": "Ada", ', '"age": 36}'), 0, '{"name":"Ada","age":36}\n'),
        (('{"name": "Ada", ', '"age": "old"}'), 4, '{"name": "Ada", "age": "old"}\n'),
    ],
    ids=["valid", "invalid"],
)
def test_schema_asks_for_json_by_response_json_schema_and_the_reply_is_checked(
    gemini: LoopbackServer, pieces: tuple[str, str], exit_code: int, stdout: str
) -> None:
    gemini.enqueue(Reply.sse(gemini_stream(*pieces)))
    result = run("--schema", json.dumps(NAME_AGE))
    assert (result.exit_code, result.stdout) == (exit_code, stdout)
    if exit_code:
        assert error_line(result).startswith("the reply does not match the schema at $.age: 'old' is not of type")
    else:
        assert result.stderr == ""
    assert gemini.requests[0].json["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": NAME_AGE,
    }


def test_vertex_gemini_takes_the_schema_the_same_way(vertex: LoopbackServer) -> None:
    vertex.enqueue(token(3600), "/token")
    vertex.enqueue(Reply.sse(gemini_stream('{"name": "Ada", "age": 36}')), f"{VERTEX_PATH}:streamGenerateContent")
    result = run("--schema-multi", "name, age int", model=f"vertex:{MODEL}")
    assert result.exit_code == 4  # one object where --schema-multi wants the list of them
    config = vertex.requests[1].json["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["properties"]["items"]["type"] == "array"


def function_call_stream(*calls: dict[str, Any], text: str = "", signature: str | None = None) -> bytes:
    """Gemini's stream of a turn that calls functions: some text, then the calls in one event (each call
    whole, as Gemini sends them), the last event finishing with STOP."""
    parts: list[dict[str, Any]] = [{"functionCall": call} for call in calls]
    if signature:
        parts[0]["thoughtSignature"] = signature
    events = ([[{"text": text}]] if text else []) + [parts]
    body = []
    for number, event_parts in enumerate(events, 1):
        candidate: dict[str, Any] = {"content": {"parts": event_parts, "role": "model"}, "index": 0}
        if number == len(events):
            candidate["finishReason"] = "STOP"
        usage = {"promptTokenCount": 9, "candidatesTokenCount": 4 * number, "totalTokenCount": 9 + 4 * number}
        event = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": MODEL, "responseId": "resp-1"}
        body.append(f"data: {json.dumps(event)}\r\n\r\n")
    return "".join(body).encode()


def test_functions_run_through_function_calls_and_responses(gemini: LoopbackServer) -> None:
    paris = {"name": "get_weather", "args": {"city": "Paris"}}
    oslo = {"name": "get_weather", "args": {"city": "Oslo"}}
    gemini.enqueue_many(
        [
            Reply.sse(function_call_stream(paris, oslo, text="Let me check.", signature="c2lnbmF0dXJl")),
            Reply.sse(gemini_stream("Sunny in ", "both.")),
        ]
    )
    result = CliRunner().invoke(app, ["-m", f"gemini:{MODEL}", "--functions", WEATHER, "--", "Paris and Oslo?"])
    assert (result.exit_code, result.stdout) == (0, "Let me check.\nSunny in both.\n"), result.stderr
    first, second = (request.json for request in gemini.requests)
    declaration = first["tools"][0]["functionDeclarations"][0]
    assert (declaration["name"], declaration["description"]) == ("get_weather", "The weather in a city now.")
    assert declaration["parametersJsonSchema"]["properties"]["city"]["type"] == "string"
    assert "toolConfig" not in first
    assert second["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {"text": "Let me check."},
                {"functionCall": paris, "thoughtSignature": "c2lnbmF0dXJl"},
                {"functionCall": oslo},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": "sunny, 21 °C in Paris"}}},
                {"functionResponse": {"name": "get_weather", "response": {"result": "sunny, 21 °C in Oslo"}}},
            ],
        },
    ]
    assert second["tools"] == first["tools"]


def test_function_calls_get_the_same_made_up_ids_each_time_and_their_own_when_given() -> None:
    from chatstream_cli.providers.gemini.wire import chunks_from_events
    from chatstream_cli.sse import iter_sse

    calls = ({"name": "now", "args": {}}, {"name": "now", "args": {}, "id": "given-1"})

    def ids() -> list[str]:
        chunks = list(chunks_from_events(iter_sse([function_call_stream(*calls)])))
        return [call["id"] for chunk in chunks for call in chunk.tool_calls]

    first = ids()
    assert first == ids() and first[1] == "given-1" and first[0].startswith("call_") and len(first[0]) == 29


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("any", {"mode": "ANY"}),
        ("now", {"mode": "ANY", "allowedFunctionNames": ["now"]}),
    ],
)
def test_tool_choice_is_the_function_calling_config(
    gemini: LoopbackServer, choice: str, config: dict[str, Any]
) -> None:
    gemini.enqueue(Reply.sse(gemini_stream("It is six.")))
    model = build(resolve(f"gemini:{MODEL}"), ModelSettings(api_key=KEY))

    def now() -> str:
        """The time."""
        return "06:00"

    bound = model.bind_tools([now], tool_choice=choice)
    assert "".join(str(chunk.content) for chunk in bound.stream("What time?")) == "It is six."
    assert gemini.requests[0].json["toolConfig"] == {"functionCallingConfig": config}


def test_a_whole_reply_with_a_function_call_has_its_tool_calls(gemini: LoopbackServer) -> None:
    event = {
        "candidates": [
            {
                "content": {"parts": [{"functionCall": {"name": "now", "args": {}}}], "role": "model"},
                "finishReason": "STOP",
            }
        ],
        "modelVersion": MODEL,
        "responseId": "resp-2",
    }
    gemini.enqueue(Reply.json(event), f"/v1beta/models/{MODEL}:generateContent")
    gemini.enqueue(
        Reply.json(event | {"candidates": [{"content": {"parts": [{"text": "Six."}]}, "finishReason": "STOP"}]}),
        f"/v1beta/models/{MODEL}:generateContent",
    )
    result = CliRunner().invoke(
        app, ["-m", f"gemini:{MODEL}", "--no-stream", "--functions", WEATHER, "--", "What time?"]
    )
    assert (result.exit_code, result.stdout) == (0, "Six.\n"), result.stderr
    sent = gemini.requests[1].json["contents"]
    assert sent[1] == {"role": "model", "parts": [{"functionCall": {"name": "now", "args": {}}}]}
    assert sent[2]["parts"][0]["functionResponse"]["name"] == "now"


def test_a_failed_call_goes_back_as_an_error_and_a_continued_chain_keeps_its_parts(
    gemini: LoopbackServer, tmp_path: Path
) -> None:
    failing = tmp_path / "failing.py"
    failing.write_text('def get_weather(city: str) -> str:\n    "The weather."\n    raise RuntimeError("no network")\n')
    call = {"name": "get_weather", "args": {"city": "Oslo"}}
    gemini.enqueue_many(
        [
            Reply.sse(function_call_stream(call, signature="c2ln")),
            Reply.sse(gemini_stream("I could not tell.")),
            Reply.sse(gemini_stream("You are welcome.")),
        ]
    )
    first = CliRunner().invoke(app, ["-m", f"gemini:{MODEL}", "--functions", str(failing), "--", "Oslo?"])
    assert (first.exit_code, first.stdout) == (0, "I could not tell.\n"), first.stderr
    response = gemini.requests[1].json["contents"][2]["parts"][0]["functionResponse"]
    assert response["name"] == "get_weather" and "no network" in response["response"]["error"]
    again = CliRunner().invoke(app, ["-m", f"gemini:{MODEL}", "--functions", str(failing), "-c", "--", "Thanks"])
    assert again.exit_code == 0, again.stderr
    sent = gemini.requests[2].json["contents"]
    assert [content["role"] for content in sent] == ["user", "model", "user", "model", "user"]
    assert sent[1]["parts"] == [{"functionCall": call, "thoughtSignature": "c2ln"}]
    assert sent[2] == gemini.requests[1].json["contents"][2]


def test_a_chain_continued_without_tools_goes_as_text(gemini: LoopbackServer) -> None:
    call = {"name": "get_weather", "args": {"city": "Oslo"}}
    gemini.enqueue_many(
        [Reply.sse(function_call_stream(call)), Reply.sse(gemini_stream("Sunny.")), Reply.sse(gemini_stream("Bye."))]
    )
    assert CliRunner().invoke(app, ["-m", f"gemini:{MODEL}", "--functions", WEATHER, "--", "Oslo?"]).exit_code == 0
    assert CliRunner().invoke(app, ["-m", f"gemini:{MODEL}", "-c", "--", "Bye"]).exit_code == 0
    sent = gemini.requests[2].json
    assert "tools" not in sent
    assert all(set(part) == {"text"} for content in sent["contents"] for part in content["parts"])
