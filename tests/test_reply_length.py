"""Reply length: max_tokens defaults to the model's maximum output (a table, settable in config.toml
globally, per provider and per alias), and a reply cut at the limit says so on stderr, piped or not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pexpect
import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.providers.anthropic.max_tokens import FALLBACK, MAX_OUTPUT_TOKENS, max_output_tokens
from tests.conftest import CHATSTREAM, cli_env
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_anthropic_provider import KEY, MODEL, anthropic_stream
from tests.test_faults import OPENAI, _openai_chunk

CUT_NOTE = "chatstream: the reply was cut at {:,} tokens ({}); raise --max-tokens to get the rest\n"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-haiku-4-5", 64_000),
        ("claude-haiku-4-5-20251001", 64_000),
        ("claude-sonnet-4-5", 64_000),
        ("claude-opus-4-1-20250805", 32_000),
        ("claude-opus-4-6", 128_000),
        ("claude-3-haiku-20240307", 4_096),
        ("claude-3-5-sonnet-20241022", 8_192),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", 64_000),  # Bedrock
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", 32_000),  # a Bedrock inference profile
        ("claude-sonnet-4-5@20250929", 64_000),  # Vertex AI
        ("claude-unheard-of-9", FALLBACK),
        ("my-proxy-model", FALLBACK),
    ],
)
def test_the_table_knows_each_familys_maximum_output(model: str, expected: int) -> None:
    assert max_output_tokens(model) == expected


def test_every_registered_claude_model_is_in_the_table() -> None:
    from chatstream_cli.providers import PROVIDERS

    unknown = [model for model in PROVIDERS["anthropic"].models if max_output_tokens(model) == FALLBACK]
    assert unknown == []
    assert min(MAX_OUTPUT_TOKENS.values()) <= FALLBACK <= max(MAX_OUTPUT_TOKENS.values())


# -- config.toml --------------------------------------------------------------------------------


@pytest.fixture
def server(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", loopback_server.base_url)
    loopback_server.default = Reply.sse(anthropic_stream("Hi."))
    return loopback_server


def sent_max_tokens(server: LoopbackServer, home: Path, config: str, *args: str) -> int:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(config)
    result = CliRunner().invoke(app, [*args, "hi"])
    assert result.exit_code == 0, result.stderr
    return server.requests[-1].json["max_tokens"]


def test_max_tokens_from_the_model_then_global_provider_alias_and_flag(
    server: LoopbackServer, isolated_env: Path
) -> None:
    model = ["-m", f"anthropic:{MODEL}"]
    assert sent_max_tokens(server, isolated_env, "", *model) == 64_000
    assert sent_max_tokens(server, isolated_env, "max_tokens = 2000\n", *model) == 2000
    both = "max_tokens = 2000\n[providers.anthropic]\nmax_tokens = 3000\n"
    assert sent_max_tokens(server, isolated_env, both, *model) == 3000
    alias = both + f'[aliases]\nessay = {{ model = "anthropic:{MODEL}", max_tokens = 32000 }}\n'
    assert sent_max_tokens(server, isolated_env, alias, "-m", "essay") == 32000
    assert sent_max_tokens(server, isolated_env, alias, *model) == 3000  # the alias's limit is the alias's only
    assert sent_max_tokens(server, isolated_env, alias, "-m", "essay", "--max-tokens", "50") == 50


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ("max_tokens = 0\n", "max_tokens must be a whole number of tokens >= 1"),
        ("[aliases]\nx = { max_tokens = 5 }\n", "alias 'x' needs a model"),
        ('[aliases]\nx = { model = "haiku", tokens = 5 }\n', "unknown setting 'tokens' in alias 'x'"),
        ('[providers.openai]\ntransport = "sdk"\n', "transport is a setting of [providers.anthropic] only"),
        ('[providers.anthropic]\ntransport = "pigeon"\n', "providers.anthropic.transport must be"),
    ],
)
def test_bad_length_settings_name_the_line(isolated_env: Path, config: str, problem: str) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(config)
    result = CliRunner().invoke(app, ["-m", "echo", "hi"])
    assert result.exit_code == 3
    assert problem in result.stderr


# -- the note when a reply is cut ----------------------------------------------------------------


def cut_stream(limit: int) -> str:
    stream = anthropic_stream("The first part of a long answer")
    return stream.replace('"stop_reason": "end_turn"', '"stop_reason": "max_tokens"').replace(
        '"output_tokens": 7', f'"output_tokens": {limit}'
    )


@pytest.mark.parametrize("mode", [[], ["--async"], ["-q"], ["--json"]], ids=["stream", "async", "quiet", "json"])
def test_a_reply_cut_at_max_tokens_says_so_on_stderr(server: LoopbackServer, mode: list[str]) -> None:
    server.default = Reply.sse(cut_stream(1024))
    result = CliRunner().invoke(app, ["-m", f"anthropic:{MODEL}", "--max-tokens", "1024", *mode, "hi"])
    assert result.exit_code == 0
    assert "The first part of a long answer" in result.stdout  # the text is kept
    assert result.stderr == CUT_NOTE.format(1024, "max_tokens")


def test_a_whole_reply_has_no_note(server: LoopbackServer) -> None:
    result = CliRunner().invoke(app, ["-m", f"anthropic:{MODEL}", "hi"])
    assert (result.exit_code, result.stderr) == (0, "")


def test_an_openai_compatible_reply_cut_at_length_says_so(loopback_server: LoopbackServer) -> None:  # noqa: F811
    pieces = [_openai_chunk({"role": "assistant", "content": ""}), _openai_chunk({"content": "Part one"})]
    usage = '{"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 3, '
    usage += '"completion_tokens": 16, "total_tokens": 19}}'
    stream = "".join([*pieces, _openai_chunk({}, "length"), f"data: {usage}\n\n", "data: [DONE]\n\n"])
    loopback_server.enqueue_many([Reply.sse(stream), Reply.sse(stream)])
    base = ["-m", OPENAI.model, "--base-url", loopback_server.url("/v1"), "hi"]
    result: Result = CliRunner().invoke(app, base, env={"OPENAI_API_KEY": "sk-test-0123456789"})
    assert (result.exit_code, result.stdout) == (0, "Part one\n")
    assert result.stderr == CUT_NOTE.format(16, "length")  # no --max-tokens: the server's own limit, as counted
    result = CliRunner().invoke(app, [*base, "--max-tokens", "16"], env={"OPENAI_API_KEY": "sk-test-0123456789"})
    assert result.stderr == CUT_NOTE.format(16, "length")


def test_the_cut_note_on_a_terminal(server: LoopbackServer, tmp_path: Path) -> None:
    server.default = Reply.sse(cut_stream(2048))
    env: dict[str, Any] = cli_env(TERM="xterm-256color", ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=server.base_url)
    argv = [*CHATSTREAM, "-m", f"anthropic:{MODEL}", "--max-tokens", "2048", "hi"]
    child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(tmp_path), timeout=30, dimensions=(24, 200))
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before.decode()
    assert "The first part of a long answer" in screen
    assert CUT_NOTE.format(2048, "max_tokens").strip() in screen
    assert child.exitstatus == 0
