"""What a week of daily use tripped on (issue 21, items 9 to 15), each through the real entry point.

CliRunner runs the root app (its ``main``: the exit codes and one-line errors); a subprocess where the
answer depends on a process of its own (stdin not a terminal).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from chatstream_cli import history
from chatstream_cli.cli import app
from tests.conftest import CHATSTREAM, cli_env, error_line
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (its fixture)
from tests.test_chat import READY
from tests.test_faults import OPENAI
from tests.test_keys import quiet_trace_afterwards  # noqa: F401  (its fixture)

pytestmark = pytest.mark.usefixtures("quiet_trace_afterwards")  # --debug turns the HTTP trace on for the process

ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]


def invoke(*args: str, stdin: str | None = None, **env: str) -> object:
    result = CliRunner().invoke(app, list(args), input=stdin, env=env or None)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result


# -- 10: -c with --cid ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["chat"]])
def test_continue_and_cid_together_are_a_usage_error(command: list[str]) -> None:
    assert invoke(*ECHO, "first").exit_code == 0
    cid = history.conversations()[0].cid
    result = invoke(*command, *ECHO, "-c", "--cid", cid, *([] if command else ["more"]), stdin="")
    assert result.exit_code == 2
    assert error_line(result).startswith("-c/--continue and --cid cannot be used together")
    assert len(history.exchanges()) == 1, "nothing was sent"


# -- 11: usage errors name the subcommand's help; --debug and --quiet everywhere ------------------


@pytest.mark.parametrize(
    ("args", "help_of"),
    [
        (["logs", "list", "-n"], "chatstream logs list"),
        (["logs", "delete", "--cid"], "chatstream logs delete"),
        (["models", "-p"], "chatstream models"),
        (["batch", "status", "--bogus"], "chatstream batch status"),
        (["chat", "-m"], "chatstream chat"),
        (["-m"], "chatstream prompt"),
    ],
)
def test_a_usage_error_names_the_help_of_the_subcommand(args: list[str], help_of: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert error_line(result).endswith(f"(see {help_of} --help)")


SUBCOMMANDS = [
    ["models"],
    ["models", "--json"],
    ["config", "show"],
    ["config", "path"],
    ["keys", "list"],
    ["keys", "path"],
    ["roles", "list"],
    ["logs"],
    ["logs", "list"],
    ["logs", "path"],
    ["batch", "status"],
]


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=" ".join)
@pytest.mark.parametrize("flag", ["--debug", "--quiet"])
def test_every_subcommand_takes_debug_and_quiet_after_or_before_its_name(args: list[str], flag: str) -> None:
    plain = invoke(*args)
    assert plain.exit_code == 0, plain.stderr
    after = invoke(*args, flag)
    assert (after.exit_code, after.stdout) == (0, plain.stdout), after.stderr
    before = invoke(flag, *args)
    assert (before.exit_code, before.stdout) == (0, plain.stdout), before.stderr
    assert history.exchanges() == [], f"{flag} {args[0]} sent a prompt"


def test_q_before_logs_is_quiet_not_its_query() -> None:
    invoke(*ECHO, "a first prompt")
    result = invoke("-q", "logs", "list")
    assert result.exit_code == 0
    assert "a first prompt" in result.stdout


def test_debug_on_a_subcommand_shows_the_traceback_of_its_failure() -> None:
    plain = invoke("models", "-p", "nosuch")
    assert plain.exit_code == 3
    assert error_line(plain).startswith("unknown provider 'nosuch'")
    for args in (["models", "-p", "nosuch", "--debug"], ["--debug", "models", "-p", "nosuch"]):
        result = invoke(*args)
        assert result.exit_code == 3
        assert "Traceback" in result.stderr
        assert result.stderr.splitlines()[-1] == "chatstream: error: " + error_line(plain)


def test_debug_on_models_remote_traces_the_request(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue_many([Reply.json({"data": [{"id": "llama3.2:latest"}]})] * 2)
    env = {"OLLAMA_HOST": loopback_server.base_url}
    plain = invoke("models", "--remote", "-p", "ollama", **env)
    assert (plain.exit_code, plain.stderr) == (0, "")
    result = invoke("models", "--remote", "-p", "ollama", "--debug", **env)
    assert result.exit_code == 0, result.stderr
    assert f"chatstream: debug: > GET {loopback_server.base_url}/v1/models" in result.stderr


def test_quiet_silences_the_note_of_keys_set(monkeypatch: pytest.MonkeyPatch) -> None:
    env = cli_env(OPENAI_API_KEY="sk-from-the-environment")
    noted = subprocess.run(
        [*CHATSTREAM, "keys", "set", "openai"], input="sk-stored", env=env, capture_output=True, text=True
    )
    assert noted.returncode == 0
    assert "OPENAI_API_KEY is set and wins" in noted.stderr
    quiet = subprocess.run(
        [*CHATSTREAM, "-q", "keys", "set", "openai"], input="sk-stored", env=env, capture_output=True, text=True
    )
    assert (quiet.returncode, quiet.stderr) == (0, "")


# -- 9: -m PROVIDER is its default model, for every provider --------------------------------------


def served(*ids: str) -> Reply:
    return Reply.json({"object": "list", "data": [{"id": name, "object": "model"} for name in ids]})


def openai_reply(*pieces: str, model: str = "gpt-4o-mini") -> Reply:
    """A streamed Chat Completions reply, each chunk naming ``model`` as a local server names its own."""
    return Reply.sse(OPENAI.stream(list(pieces)).replace(b'"model": "gpt-4o-mini"', f'"model": "{model}"'.encode()))


def test_a_local_server_alone_uses_the_one_model_it_serves(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(served("llama3.2:latest"), "/v1/models")
    loopback_server.enqueue(openai_reply("Hi", "!", model="llama3.2:latest"), "/v1/chat/completions")
    result = invoke("-m", "ollama", "hello", OLLAMA_HOST=loopback_server.base_url)
    assert (result.exit_code, result.stdout) == (0, "Hi!\n"), result.stderr
    assert loopback_server.requests[-1].json["model"] == "llama3.2:latest"
    assert history.exchanges()[-1].full_model == "ollama:llama3.2:latest"


def test_several_served_models_pick_the_one_used_last(loopback_server: LoopbackServer) -> None:  # noqa: F811
    base = ["--base-url", loopback_server.base_url + "/v1"]
    loopback_server.enqueue_many([served("qwen3:8b", "llama3.2:latest", "mistral:7b")] * 3, "/v1/models")
    loopback_server.enqueue_many([openai_reply(word, model="mistral:7b") for word in ("one", "two", "three")])
    refused = invoke("-m", "ollama", *base, "hello")
    assert refused.exit_code == 3
    line = error_line(refused)
    assert line.startswith("ollama serves 3 models (llama3.2:latest, mistral:7b, qwen3:8b) and has no default")
    assert "-m ollama:MODEL" in line and "`chatstream models --remote -p ollama` lists them" in line
    assert invoke("-m", "ollama:mistral:7b", *base, "first").exit_code == 0
    assert invoke("-m", "builtin:echo", "-o", "delay_ms", "0", "between").exit_code == 0
    assert invoke("-m", "ollama", *base, "again").exit_code == 0
    assert invoke("chat", "-m", "ollama", *base, stdin="in chat\n").exit_code == 0
    models = [request.json["model"] for request in loopback_server.requests if request.path.endswith("completions")]
    assert models == ["mistral:7b", "mistral:7b", "mistral:7b"]


def test_the_configs_default_model_of_a_provider_asks_no_server(loopback_server: LoopbackServer) -> None:  # noqa: F811
    assert invoke("config", "set", "providers.ollama.default_model", "qwen3:8b").exit_code == 0
    loopback_server.enqueue(openai_reply("ok"))
    result = invoke("-m", "ollama", "hello", OLLAMA_HOST=loopback_server.base_url)
    assert (result.exit_code, result.stdout) == (0, "ok\n"), result.stderr
    assert [request.path for request in loopback_server.requests] == ["/v1/chat/completions"]
    assert loopback_server.requests[0].json["model"] == "qwen3:8b"


def test_a_provider_alone_as_default_model_is_accepted_and_listed(loopback_server: LoopbackServer) -> None:  # noqa: F811
    assert invoke("config", "set", "default_model", "vllm").exit_code == 0
    listing = invoke("models", "--json")
    assert listing.exit_code == 0
    assert '"default_model": "vllm"' in listing.stdout
    loopback_server.enqueue(served("Qwen/Qwen3-8B"), "/v1/models")
    loopback_server.enqueue(openai_reply("served"), "/v1/chat/completions")
    result = invoke("--base-url", loopback_server.base_url, "hello")
    assert (result.exit_code, result.stdout) == (0, "served\n"), result.stderr
    assert loopback_server.requests[-1].json["model"] == "Qwen/Qwen3-8B"


def test_a_server_serving_nothing_says_so(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(served(), "/v1/models")
    result = invoke("-m", "llamacpp", "--base-url", loopback_server.base_url, "hello")
    assert result.exit_code == 3
    assert error_line(result).startswith("llamacpp serves no model yet")


def test_openrouter_alone_is_its_auto_router(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(openai_reply("routed"))
    result = invoke(
        "-m", "openrouter", "--base-url", loopback_server.base_url + "/v1", "hello", OPENROUTER_API_KEY="sk-or-test"
    )
    assert (result.exit_code, result.stdout) == (0, "routed\n"), result.stderr
    assert loopback_server.requests[-1].json["model"] == "openrouter/auto"


def test_a_batch_line_naming_a_provider_alone(loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(served("phi4"), "/v1/models")
    loopback_server.enqueue(openai_reply("batched", model="phi4"), "/v1/chat/completions")
    lines = '{"prompt": "hello", "model": "ollama"}\n'
    result = invoke("batch", "-", stdin=lines, OLLAMA_HOST=loopback_server.base_url)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) | {"model": "phi4", "provider": "ollama", "content": "batched"} == json.loads(
        result.stdout
    )
    assert loopback_server.requests[-1].json["model"] == "phi4"


# -- 12: logs -q with prefixes, phrases and operators ---------------------------------------------

PROMPTS = ["The capital of France is Paris", "capital letters of France", "what's up, C++?"]


def searched(query: str) -> list[str]:
    result = invoke("logs", "-n", "0", "--json", "-q", query)
    assert result.exit_code == 0, result.stderr
    return [exchange["prompt"] for exchange in json.loads(result.stdout)]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("capi*", PROMPTS[:2]),
        ("CAPI*", PROMPTS[:2]),
        ("capi", []),
        ('"capital of"', PROMPTS[:1]),
        ('"of France"', PROMPTS[:2]),
        ('"France capital"', []),
        ("capital france", PROMPTS[:2]),
        ("paris OR letters", PROMPTS[:2]),
        ("capital NOT paris", PROMPTS[1:2]),
        ("(paris OR letters) AND the", PROMPTS[:1]),
        ("what's", PROMPTS[2:]),
        ("C++", PROMPTS[2:]),
        ('"let"*', PROMPTS[1:2]),
    ],
)
def test_logs_search_takes_prefixes_phrases_and_operators(query: str, found: list[str]) -> None:
    for prompt in PROMPTS:
        assert invoke(*ECHO, prompt).exit_code == 0
    assert searched(query) == found


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ('"capital of', "the search has an unterminated quote at character 1"),
        ("*", "a * in the search must end a word"),
        ("NOT", """the search 'NOT' is not a valid query (syntax error near "NOT")"""),
        ("(paris", "the search '(paris' is not a valid query (it ends where more was expected"),
        ("paris OR", "the search 'paris OR' is not a valid query (it ends where more was expected"),
    ],
)
def test_a_malformed_search_is_a_usage_error_naming_the_problem(query: str, problem: str) -> None:
    assert invoke(*ECHO, PROMPTS[0]).exit_code == 0
    result = invoke("logs", "-q", query)
    assert result.exit_code == 2
    line = error_line(result)
    assert line.startswith(problem)
    assert line.endswith('capi* is a prefix, "two words" a phrase, AND/OR/NOT and ( ) combine them)')


def test_the_python_api_searches_the_same_way() -> None:
    for prompt in PROMPTS:
        invoke(*ECHO, prompt)
    assert [exchange.prompt for exchange in history.search("capi*")] == PROMPTS[:2]


# -- 13: logs delete of several conversations asks first ------------------------------------------


def two_conversations() -> None:
    for prompt in ("first conversation", "second conversation"):
        assert invoke(*ECHO, prompt).exit_code == 0
    assert invoke(*ECHO, "-c", "its second turn").exit_code == 0


def test_deleting_several_conversations_without_a_terminal_needs_yes() -> None:
    two_conversations()
    refused = subprocess.run(
        [*CHATSTREAM, "logs", "delete", "--before", "2099-01-01"], env=cli_env(), capture_output=True, text=True
    )
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        "chatstream: error: --before 2099-01-01 would delete 3 exchanges of 2 conversations "
        "(add --yes to delete them without a question)\n"
    )
    assert len(history.exchanges()) == 3
    done = invoke("logs", "delete", "--before", "2099-01-01", "--yes")
    assert (done.exit_code, done.stdout) == (0, "deleted 3 exchanges and 2 conversations\n")
    assert history.exchanges() == []


def test_deleting_one_conversation_asks_nothing() -> None:
    two_conversations()
    first = history.conversations()[0]
    assert invoke("logs", "delete", "--cid", first.cid).stdout == "deleted 1 exchange and 1 conversation\n"
    assert invoke("logs", "delete", "--before", "2099-01-01").stdout == "deleted 2 exchanges and 1 conversation\n"
    assert invoke("logs", "delete", "--before", "2099-01-01").stdout == "deleted 0 exchanges and 0 conversations\n"


def spawn(*args: str) -> pexpect.spawn:
    argv = [*CHATSTREAM, *args]
    env = cli_env(TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
    return pexpect.spawn(argv[0], argv[1:], env=env, timeout=20, dimensions=(24, 100))


@pytest.mark.parametrize(("answer", "left"), [("yes", 0), ("n", 3), ("\x04", 3), ("\x03", 3)])
def test_deleting_several_conversations_on_a_terminal_asks(answer: str, left: int) -> None:
    two_conversations()
    child = spawn("logs", "delete", "--before", "2099-01-01")
    try:
        child.expect_exact("delete 3 exchanges of 2 conversations (--before 2099-01-01)? [y/N] ")
        child.send(answer if answer in ("\x04", "\x03") else answer + "\r")
        child.expect(pexpect.EOF)
        said = child.before.decode()
    finally:
        child.close()
    assert len(history.exchanges()) == left
    if answer == "\x03":
        assert child.exitstatus == 130
        assert said.endswith("\r\n"), "Ctrl-C leaves the question's line ended"
    elif left:
        assert child.exitstatus == 0
        assert "chatstream: nothing was deleted" in said
    else:
        assert child.exitstatus == 0
        assert "deleted 3 exchanges and 2 conversations" in said


# -- 15: the small ones ----------------------------------------------------------------------------


def test_chat_save_without_a_file_says_so() -> None:
    result = subprocess.run(
        [*CHATSTREAM, "chat", *ECHO],
        input="/save nowhere.txt\nhello\n/save\n",
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "hello\n")
    assert result.stderr.splitlines() == [
        "chatstream: error: nothing to save yet (/save FILE after a reply)",
        "chatstream: error: /save needs a FILE (e.g. /save reply.md)",
    ]


@pytest.mark.parametrize(("turns", "said"), [(1, "(1 turn)")])
def test_the_chat_banner_counts_turns_in_english(turns: int, said: str) -> None:
    for number in range(turns):
        assert invoke(*ECHO, *(["-c"] if number else []), f"turn {number}").exit_code == 0
    cid = history.conversations()[0].cid
    child = spawn("chat", "-c", *ECHO)
    try:
        child.expect(r"continuing [0-9a-f]{8} \((\d+ turns?)\)")
        assert child.match.group(1).decode() == said.strip("()")
        assert cid.startswith(child.after.decode().split()[1])
        child.expect(READY)
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close()


@pytest.mark.parametrize(("key", "code", "said"), [("\x04", 2, "chatstream: error: no key given"), ("\x03", 130, "")])
def test_keys_set_with_ctrl_d_or_ctrl_c(key: str, code: int, said: str) -> None:
    child = spawn("keys", "set", "openai")
    try:
        child.expect_exact("API key for openai: ")
        child.send(key)
        child.expect(pexpect.EOF)
        after_prompt = child.before.decode()
    finally:
        child.close()
    assert child.exitstatus == code
    assert after_prompt.startswith("\r\n" + said), "the prompt's line is ended first"
    assert not (history.path().parent / "keys.toml").exists()


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"prompt": "hi', "is not JSON (Unterminated string starting at column 12)"),
        ('{"prompt": "hi", }', "is not JSON (Expecting property name enclosed in double quotes at column 18)"),
    ],
)
def test_a_batch_lines_json_error_is_whole_with_its_line_and_column(line: str, problem: str) -> None:
    result = invoke("batch", "-", *ECHO, stdin='{"prompt": "fine"}\n' + line + "\n")
    assert result.exit_code == 2
    assert error_line(result) == f"line 2 of the batch input {problem} (fix that line; lines before it are fine)"


# -- 14: the batch progress line at any width, and nothing after the interruption notice -----------


def batch_on_a_terminal(tmp_path: Path, columns: int, *, lines: int, delay_ms: int) -> pexpect.spawn:
    source = tmp_path / "prompts.jsonl"
    prompts = [{"prompt": f"prompt {number}"} for number in range(lines)]
    prompts[1]["options"] = {"no_such_option": 1}  # one line fails
    source.write_text("".join(json.dumps(prompt) + "\n" for prompt in prompts))
    argv = [*CHATSTREAM, "batch", str(source), "-m", "builtin:echo", "-o", "delay_ms", str(delay_ms)]
    argv += ["--out", str(tmp_path / "out.jsonl")]
    env = cli_env(TERM="xterm", COLUMNS=str(columns))
    return pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(12, columns), timeout=30)


def screen_of(shown: bytes, columns: int) -> list[str]:
    import pyte

    screen = pyte.Screen(columns, 12)
    pyte.Stream(screen).feed(shown.decode().replace("\n", "\r\n"))
    return [line.rstrip() for line in screen.display if line.strip()]


@pytest.mark.parametrize("columns", [40, 80, 160])
def test_the_progress_line_keeps_done_total_and_failures_at_any_width(tmp_path: Path, columns: int) -> None:
    child = batch_on_a_terminal(tmp_path, columns, lines=24, delay_ms=0)
    shown = child.read()
    child.close()
    assert child.exitstatus == 4, "a line failed"
    (line,) = screen_of(shown, columns)
    assert "24/24" in line and "1 failed" in line, line
    assert "…" not in line
    if columns >= 160:
        assert "━" in line and "batch builtin:echo" in line and "ETA" in line
    else:
        assert "━" not in line, "the bar goes first"


def test_after_ctrl_c_the_interruption_notice_is_the_last_thing_drawn(tmp_path: Path) -> None:
    child = batch_on_a_terminal(tmp_path, 250, lines=400, delay_ms=20)
    try:
        child.expect(r"[1-9]\d*/400")  # results are coming
        child.sendintr()
        child.expect("interrupted: ")
        shown = child.before + child.after + child.read()
    finally:
        child.close()
    assert child.exitstatus == 130
    lines = screen_of(shown, 250)
    assert lines[-1].startswith("chatstream: interrupted: ") and "--resume" in lines[-1], lines
    assert "/400" in lines[-2], "the bar's last frame is above the notice"
    tail = shown[shown.index(b"chatstream: interrupted: ") :]
    assert b"/400" not in tail and b"\x1b[" not in tail.replace(b"\x1b[?25h", b""), "nothing drawn after it"
