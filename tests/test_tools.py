"""Tools end to end: --functions and -T through the real entry point, the loop over both wires and the
offline echo model, errors sent back to the model, approvals, limits, --json, the history; the schema of a
function; the Python API."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.toolspec import ToolDefinitionError, argument_error, spec_from_dict, spec_from_function
from tests.conftest import CHATSTREAM, DATA, cli_env, error_line, imported_modules
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)

TOOLS = DATA / "tools"
WEATHER = str(TOOLS / "weather.py")
ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]
ADD = 'def add(a: int, b: int) -> int:\n    "Add two integers."\n    return a + b\n'
KEY = "sk-ant-TESTKEY-0123456789"


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def echo(*args: str) -> Result:
    return run(*ECHO, *args)


def tool_reply(case: str, provider: str = "anthropic") -> Reply:
    return Reply.sse((TOOLS / f"{case}.{provider}.sse").read_bytes())


@pytest.fixture
def claude(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", loopback_server.base_url)
    return loopback_server


@pytest.fixture
def gpt(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    monkeypatch.setenv("OPENAI_API_KEY", "sk-TESTKEY-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", loopback_server.base_url + "/v1")
    return loopback_server


# -- the schema of a function ---------------------------------------------------------------------


def test_a_functions_hints_make_its_schema() -> None:
    def search(
        query: Annotated[str, "what to look for"],
        limit: int = 10,
        kinds: list[str] | None = None,
        order: Literal["new", "old"] = "new",
        weights: dict[str, float] | None = None,
        exact: bool = False,
    ) -> str:
        """Search the notes.

        Returns one line per note."""
        return query

    spec = spec_from_function(search)
    assert spec.name == "search"
    assert spec.description == "Search the notes.\n\nReturns one line per note."
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "what to look for"},
            "limit": {"type": "integer", "default": 10},
            "kinds": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}], "default": None},
            "order": {"type": "string", "enum": ["new", "old"], "default": "new"},
            "weights": {
                "anyOf": [{"type": "object", "additionalProperties": {"type": "number"}}, {"type": "null"}],
                "default": None,
            },
            "exact": {"type": "boolean", "default": False},
        },
        "required": ["query"],
    }


def test_what_cannot_be_a_tool_says_why() -> None:
    def spread(*values: int) -> int:
        return 0

    with pytest.raises(ToolDefinitionError, match="named arguments"):
        spec_from_function(spread)

    def odd(when: complex) -> None: ...

    with pytest.raises(ToolDefinitionError, match=r"odd\(when\): the type"):
        spec_from_function(odd)
    with pytest.raises(ToolDefinitionError, match="needs a name"):
        spec_from_dict({"description": "x"})


def test_schema_dicts_of_each_form_are_one_spec() -> None:
    parameters = {"type": "object", "properties": {"x": {"type": "integer"}}}
    forms = [
        {"type": "function", "function": {"name": "f", "description": "d", "parameters": parameters}},
        {"name": "f", "description": "d", "input_schema": parameters},
        {"name": "f", "description": "d", "parameters": parameters},
    ]
    assert len({json.dumps(spec_from_dict(form).as_dict()) for form in forms}) == 1


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({"a": 1, "b": 2}, None),
        ({"a": 1.0, "b": 2}, None),
        ({"a": 1}, "arguments lack the required 'b'"),
        ({"a": "1", "b": 2}, "'a' must be integer, not str '1'"),
        ({"a": True, "b": 2}, "'a' must be integer, not bool True"),
        ({"a": 1, "b": 2, "c": 3}, None),
    ],
)
def test_arguments_are_checked_against_the_schema(args: dict[str, Any], reason: str | None) -> None:
    namespace: dict[str, Any] = {}
    exec(ADD, namespace)
    assert argument_error(spec_from_function(namespace["add"]), args) == reason


# -- --functions ------------------------------------------------------------------------------------


def test_the_loop_runs_offline_with_echo() -> None:
    result = echo("--functions", ADD, 'What is 2+3?\ncall add {"a": 2, "b": 3}')
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "What is 2+3?\nadd: 5\n"
    assert result.stderr == 'chatstream: tool add {"a": 2, "b": 3}\nchatstream: tool add -> 5 (1 B, 0 ms)\n'


def test_what_a_tool_prints_stays_off_stdout() -> None:
    noisy = 'def noisy() -> str:\n    print("debugging output")\n    return "done"\n'
    result = echo("-q", "--functions", noisy, "call noisy {}")
    assert (result.exit_code, result.stdout) == (0, "noisy: done\n")
    assert "debugging output" in result.stderr


def test_quiet_keeps_the_tool_lines_off_stderr() -> None:
    result = echo("-q", "--functions", ADD, 'call add {"a": 2, "b": 3}')
    assert (result.exit_code, result.stdout, result.stderr) == (0, "add: 5\n", "")


def test_a_functions_file_and_code_together(tmp_path: Path) -> None:
    result = echo(
        "-q", "--functions", WEATHER, "--functions", ADD, 'call get_weather {"city": "Oslo"}\ncall add {"a": 1, "b": 1}'
    )
    assert result.stdout == "get_weather: sunny, 21 °C in Oslo\nadd: 2\n"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def add(a, b:\n    return a", "--functions code: line 1: '(' was never closed"),
        (
            "import no_such_module_here\ndef f() -> int: ...",
            "--functions code: line 1: ModuleNotFoundError: No module named 'no_such_module_here'",
        ),
        ("missing.py", "--functions missing.py: cannot read it (No such file or directory)"),
        ("nothing", "--functions nothing: no such file"),
        ("import os", "--functions code: it defines no function"),
        ("def f(x: complex) -> None: ...", "--functions code: f(x): the type <class 'complex'> has no JSON Schema"),
    ],
)
def test_a_broken_functions_argument_is_exit_2_with_its_line(source: str, message: str) -> None:
    result = echo("--functions", source, "hi")
    assert result.exit_code == 2
    assert error_line(result).startswith(message)


def test_two_tools_of_one_name_are_refused() -> None:
    result = echo("--functions", ADD, "--functions", ADD, "hi")
    assert result.exit_code == 2
    assert "two tools are named 'add'" in error_line(result)


def test_errors_go_back_to_the_model_and_it_goes_on() -> None:
    code = ADD + "def div(a: float, b: float) -> float:\n    return a / b\n"
    calls = ['call div {"a": 1, "b": 0}', 'call add {"a": "x", "b": 1}', "call nope {}", 'call add {"a": 1, "b"']
    result = echo("--functions", code, "\n".join(calls))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "div: ZeroDivisionError: division by zero",
        "add: the arguments do not fit the tool's schema: 'a' must be integer, not str 'x'",
        "nope: there is no tool named 'nope' (the tools are: add, div)",
        'add: the arguments are not a JSON object: \'{"a": 1, "b"\'',
    ]
    assert "chatstream: tool div failed: ZeroDivisionError: division by zero" in result.stderr


def test_a_large_result_is_cut_with_a_note() -> None:
    big = "def big() -> str:\n    return 'x' * 250_000\n"
    result = echo("--json", "--functions", big, "call big {}")
    record = json.loads(result.stdout)
    sent = record["steps"][0]["tool_results"][0]
    assert sent["cut_from"] == 250_000
    assert sent["content"].endswith("\n[chatstream: the result was cut at 100000 of its 250000 bytes]")
    assert len(sent["content"]) == 100_000 + len("\n[chatstream: the result was cut at 100000 of its 250000 bytes]")


def test_json_has_every_step_and_the_usage_added_up() -> None:
    result = echo("--json", "--functions", ADD, 'Sum:\ncall add {"a": 2, "b": 3}')
    record = json.loads(result.stdout)
    assert record["content"] == "Sum:\nadd: 5"
    first, second = record["steps"]
    assert (first["content"], first["stop_reason"], second["stop_reason"]) == ("Sum:", "tool_use", "end_turn")
    assert first["tool_calls"] == [
        {"name": "add", "args": {"a": 2, "b": 3}, "id": "toolu_echo_0_0", "type": "tool_call"}
    ]
    assert [(r["name"], r["content"], r["is_error"]) for r in first["tool_results"]] == [("add", "5", False)]
    assert second["tool_calls"] == second["tool_results"] == []
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        assert record["usage"][key] == first["usage"][key] + second["usage"][key]
    assert record["prompt"] == 'Sum:\ncall add {"a": 2, "b": 3}' and record["cid"]


def test_the_history_keeps_the_chain_and_continues_it() -> None:
    assert echo("--functions", ADD, 'call add {"a": 2, "b": 3}').exit_code == 0
    result = echo("--functions", ADD, "-c", "and then?")
    assert result.stdout == "and then?\n"
    turns = json.loads(run("logs", "--json", "-n", "2").stdout)
    sent = [message["type"] for message in turns[-1]["messages"]]
    assert sent == ["human", "ai", "tool", "ai", "human"]
    assert turns[0]["reply"] == "add: 5"
    assert turns[0]["messages"][-1]["content"] == "5"  # the result the last request carried


# -- built-in tools ---------------------------------------------------------------------------------


def test_now_tells_the_time_zone() -> None:
    result = echo("-q", "-T", "now", "call now {}")
    assert result.stdout.startswith("now: 20")
    assert "(" in result.stdout and ")" in result.stdout


def test_read_file_and_list_dir_stay_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work, outside = tmp_path / "work", tmp_path / "secret.txt"
    work.mkdir()
    outside.write_text("top secret")
    (work / "notes.txt").write_text("hello notes")
    (work / "sub").mkdir()
    (work / "escape").symlink_to(outside)
    monkeypatch.chdir(work)
    calls = [
        'call read_file {"path": "notes.txt"}',
        'call read_file {"path": "../secret.txt"}',
        'call read_file {"path": "escape"}',
        "call list_dir {}",
    ]
    result = echo("-q", "-T", "read_file", "-T", "list_dir", "\n".join(calls))
    lines = result.stdout.splitlines()
    assert lines[0] == "read_file: hello notes"
    assert lines[1] == f"read_file: ../secret.txt is outside the working directory {work}"
    assert lines[2] == f"read_file: escape is outside the working directory {work}"
    assert lines[3:] == ["list_dir: escape\t10", "notes.txt\t11", "sub/"]
    assert "top secret" not in result.stdout


def test_the_shell_off_a_terminal_needs_yes() -> None:
    result = echo("-T", "shell", "call shell {}")
    assert result.exit_code == 2
    assert error_line(result) == (
        "the shell tool asks before each tool call, and there is no terminal to ask on "
        "(pass --yes to run the model's tool calls without asking)"
    )
    assert echo("--approve", "--functions", ADD, "hi").exit_code == 2


def test_the_shell_with_yes_runs_the_command() -> None:
    result = echo("-q", "--yes", "-T", "shell", 'call shell {"command": "echo one; echo two >&2; exit 3"}')
    assert result.stdout == "shell: exit status 3\none\ntwo\n"


def test_an_unknown_builtin_tool_is_named() -> None:
    result = echo("-T", "rm", "hi")
    assert result.exit_code == 2
    assert error_line(result).startswith("-T rm: there is no such built-in tool")


# -- the wires ----------------------------------------------------------------------------------------


def test_anthropic_gets_tools_uses_and_results(claude: LoopbackServer) -> None:
    claude.enqueue_many([tool_reply("parallel_calls"), tool_reply("answer")])
    result = run("-m", "anthropic:claude-haiku-4-5", "--functions", WEATHER, "Weather in Paris and Oslo?")
    assert (result.exit_code, result.stdout) == (0, "It is sunny in Paris.\n"), result.stderr
    first, second = (request.json for request in claude.requests)
    assert [tool["name"] for tool in first["tools"]] == ["get_weather", "get_forecast", "now"]
    assert first["tools"][0] == {
        "name": "get_weather",
        "description": "The weather in a city now.",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "the city's name"}},
            "required": ["city"],
        },
    }
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_01FixtureA", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_01FixtureB", "name": "get_weather", "input": {"city": "Oslo"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01FixtureA", "content": "sunny, 21 °C in Paris"},
                {"type": "tool_result", "tool_use_id": "toolu_01FixtureB", "content": "sunny, 21 °C in Oslo"},
            ],
        },
    ]


def test_anthropic_gets_the_thinking_back_and_errors_marked(claude: LoopbackServer, tmp_path: Path) -> None:
    failing = tmp_path / "failing.py"
    failing.write_text("def get_weather(city: str) -> str:\n    raise RuntimeError('no station')\n")
    claude.enqueue_many([tool_reply("thinking_then_call"), tool_reply("answer")])
    result = run("-m", "anthropic:claude-haiku-4-5", "--functions", str(failing), "Weather?")
    assert result.exit_code == 0, result.stderr
    assistant, results = claude.requests[1].json["messages"][1:]
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": "The user wants the weather.",
        "signature": "EqFixtureSignature0001==",
    }
    assert results["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_01FixtureA",
            "content": "RuntimeError: no station",
            "is_error": True,
        }
    ]


def test_openai_gets_tools_calls_and_tool_messages(gpt: LoopbackServer) -> None:
    gpt.enqueue_many([tool_reply("text_then_call", "openai"), tool_reply("answer", "openai")])
    result = run("-m", "openai:gpt-4o-mini", "--functions", WEATHER, "Weather in Paris?")
    assert (result.exit_code, result.stdout) == (0, "Let me check.\nIt is sunny in Paris.\n"), result.stderr
    first, second = (request.json for request in gpt.requests)
    assert first["tools"][0]["function"]["name"] == "get_weather" and first["tools"][0]["type"] == "function"
    assert second["messages"][1:] == [
        {
            "content": "Let me check.",
            "role": "assistant",
            "tool_calls": [
                {
                    "type": "function",
                    "id": "call_FixtureA",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"content": "sunny, 21 °C in Paris", "role": "tool", "tool_call_id": "call_FixtureA"},
    ]


def test_the_chain_stops_at_its_limit_and_keeps_the_history(claude: LoopbackServer) -> None:
    claude.enqueue_many([tool_reply("empty_arguments") for _ in range(3)])
    result = run("-m", "anthropic:claude-haiku-4-5", "--functions", WEATHER, "--chain-limit", "2", "What time?")
    assert result.exit_code == 0, result.stderr
    assert len(claude.requests) == 3
    assert result.stderr.endswith(
        "chatstream: stopped after 2 rounds of tool calls, the last calls not run (raise --chain-limit)\n"
    )
    turn = json.loads(run("logs", "--json", "-n", "1").stdout)[0]
    assert [message["type"] for message in turn["messages"]] == ["human", "ai", "tool", "ai", "tool"]
    assert turn["input_tokens"] == 3 * 412


def test_a_continued_conversation_sends_its_tool_turns_back(claude: LoopbackServer) -> None:
    claude.enqueue_many([tool_reply("text_then_call"), tool_reply("answer"), tool_reply("answer")])
    assert run("-m", "anthropic:claude-haiku-4-5", "--functions", WEATHER, "Weather?").exit_code == 0
    assert run("-m", "anthropic:claude-haiku-4-5", "--functions", WEATHER, "-c", "Thanks").exit_code == 0
    roles = [(turn["role"], _kinds(turn["content"])) for turn in claude.requests[2].json["messages"]]
    assert roles == [
        ("user", "text"),
        ("assistant", "text,tool_use"),
        ("user", "tool_result"),
        ("assistant", "text"),
        ("user", "text"),
    ]
    # without tools, the same conversation goes as text
    claude.enqueue(tool_reply("answer"))
    assert run("-m", "anthropic:claude-haiku-4-5", "-c", "Bye").exit_code == 0
    assert all(_kinds(turn["content"]) == "text" for turn in claude.requests[3].json["messages"])


def _kinds(content: Any) -> str:
    return "text" if isinstance(content, str) else ",".join(block["type"] for block in content)


# -- speed ---------------------------------------------------------------------------------------------


def test_a_reply_without_tools_imports_none_of_them(tmp_path: Path) -> None:
    command = [*CHATSTREAM[:1], "-X", "importtime", *CHATSTREAM[1:], *ECHO]
    plain = subprocess.run([*command, "hi"], capture_output=True, env=cli_env(), cwd=tmp_path, timeout=60)
    with_tools = subprocess.run(
        [*command, "--functions", ADD, "hi"], capture_output=True, env=cli_env(), cwd=tmp_path, timeout=60
    )
    assert plain.returncode == with_tools.returncode == 0
    before, after = imported_modules(plain.stderr.decode()), imported_modules(with_tools.stderr.decode())
    assert "chatstream_cli.render.plain" in before  # the report was read
    # (inspect itself is loaded by dataclasses anyway: what must not run is the walk of signatures, in toolspec)
    ours = {"chatstream_cli.toolspec", "chatstream_cli.tools", "chatstream_cli.commands.tooluse"}
    assert before & (ours | {"mcp", "pydantic"}) == set()
    assert ours <= after
    assert "mcp" not in after and "pydantic" not in after


# -- the Python API ------------------------------------------------------------------------------------


def test_bind_tools_streams_tool_call_chunks() -> None:
    from chatstream_cli import get_model

    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    chunks = list(get_model("builtin:echo", delay_ms=0).bind_tools([add]).stream('call add {"a": 2, "b": 3}'))
    pieces = [chunk.tool_call_chunks[0] for chunk in chunks if chunk.tool_call_chunks]
    assert pieces[0] == {"name": "add", "args": "", "id": "toolu_echo_0_0", "index": 0, "type": "tool_call_chunk"}
    assert "".join(piece["args"] for piece in pieces) == '{"a": 2, "b": 3}'
    assert len(pieces) > 3


def test_run_tools_runs_the_loop() -> None:
    from chatstream_cli import get_model, run_tools

    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    chain = run_tools(get_model("builtin:echo", delay_ms=0), 'call add {"a": 2, "b": 3}', [add])
    assert chain.reply.text == "add: 5"
    assert [message.type for message in chain.messages] == ["human", "ai", "tool", "ai"]
    assert os.environ.get("CHATSTREAM_HOME")  # nothing here touched the history, but the fixture isolates it


# -- roles -----------------------------------------------------------------------------------------------


def test_a_role_brings_its_tools_and_the_command_line_adds_more(tmp_path: Path) -> None:
    helpers = tmp_path / "helpers.py"
    helpers.write_text(ADD)
    saved = run(
        "roles", "save", "calc", "-m", "builtin:echo", "-o", "delay_ms", "0", "--functions", str(helpers), "-T", "now"
    )
    assert saved.exit_code == 0, saved.stderr
    shown = run("roles", "show", "calc").stdout
    assert f'functions = ["{helpers}"]' in shown and 'tools = ["now"]' in shown
    result = run(
        "--role",
        "calc",
        "-q",
        "--functions",
        "def get_weather(city: str) -> str:\n    return f'sunny, 21 °C in {city}'",
        'call add {"a": 1, "b": 2}\ncall get_weather {"city": "Rome"}\ncall now {}',
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["add: 3", "get_weather: sunny, 21 °C in Rome"]
    assert lines[2].startswith("now: 20")


# -- chat ------------------------------------------------------------------------------------------------


def test_chat_keeps_its_tools_across_turns_and_lists_them() -> None:
    lines = 'call add {"a": 1, "b": 2}\n/tools\ncall add {"a": 5, "b": 5}\n'
    result = CliRunner().invoke(app, ["chat", *ECHO, "--functions", ADD, "-T", "now"], input=lines)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "add: 3\nadd: 10\n"
    assert "add  --functions code  Add two integers.\nnow  builtin  The current date and time" in result.stderr
    turns = json.loads(run("logs", "--json", "-n", "2").stdout)
    assert [message["type"] for message in turns[1]["messages"]] == ["human", "ai", "tool", "ai", "human", "ai", "tool"]


# -- Bedrock: the same Anthropic machinery ----------------------------------------------------------------


def test_bedrock_runs_the_chain_with_the_same_blocks(
    loopback_server: LoopbackServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from tests.test_claude_platforms import BEDROCK_MODEL, bedrock_reply, events_of

    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDTOOLS0123456789",
        "AWS_SECRET_ACCESS_KEY": "tools-secret-0123456789",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "ANTHROPIC_BEDROCK_BASE_URL": loopback_server.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    for case in ("parallel_calls", "answer"):
        loopback_server.enqueue(bedrock_reply(events_of((TOOLS / f"{case}.anthropic.sse").read_text())))
    result = run("-m", f"bedrock:{BEDROCK_MODEL}", "--functions", WEATHER, "Weather in Paris and Oslo?")
    assert (result.exit_code, result.stdout) == (0, "It is sunny in Paris.\n"), result.stderr
    first, second = (request.json for request in loopback_server.requests)
    assert [tool["name"] for tool in first["tools"]] == ["get_weather", "get_forecast", "now"]
    assert [block["type"] for block in second["messages"][2]["content"]] == ["tool_result", "tool_result"]


# -- batch -----------------------------------------------------------------------------------------------


def test_batch_runs_each_lines_chain_with_yes_only(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text('call add {"a": 1, "b": 2}\nhello\ncall add {"a": "x"}\n')
    refused = run("batch", *ECHO, "--functions", ADD, str(prompts))
    assert refused.exit_code == 2
    assert error_line(refused) == "a batch runs the model's tool calls with nobody to ask (pass --yes to allow them)"
    provider = run("batch", *ECHO, "--yes", "--provider-batch", "--functions", ADD, str(prompts))
    assert provider.exit_code == 2 and "--provider-batch cannot run tools" in error_line(provider)
    result = run("batch", *ECHO, "--yes", "--functions", ADD, str(prompts))
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["id"], line["content"]) for line in lines] == [
        (1, "add: 3"),
        (2, "hello"),
        (3, "add: the arguments do not fit the tool's schema: arguments lack the required 'b'"),
    ]
    assert lines[0]["steps"][0]["tool_results"][0]["content"] == "3"
    assert lines[2]["steps"][0]["tool_results"][0]["is_error"] is True
    assert len(lines[1]["steps"]) == 1
    noisy = 'def add(a: int, b: int) -> int:\n    print("noise")\n    return a + b\n'
    printed = run("batch", *ECHO, "--yes", "--functions", noisy, str(prompts))
    assert [json.loads(line)["id"] for line in printed.stdout.splitlines()] == [1, 2, 3]
    assert "noise" in printed.stderr
