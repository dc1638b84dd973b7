"""Issue 16 end to end: -f, --sf, -a, stdin that is not text, --no-stdin, roles, -x, --json's record of
what was asked, and the recipes of docs/giving-more.md run as written.

Providers are faked at the network: the loopback server records what Anthropic and OpenAI-compatible
endpoints receive. The offline echo model shows what the human message holds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.prompting.files import MAX_EXPANDED_BYTES
from tests.conftest import CHATSTREAM, REPO, cli_env, error_line
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_anthropic_provider import anthropic_stream
from tests.test_openai_provider import reply_events
from tests.test_openai_provider import sse as openai_sse

DATA = Path(__file__).parent / "data"
PNG = (DATA / "dot.png").read_bytes()
PDF = (DATA / "empty.pdf").read_bytes()
ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]


def run(*args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def echo(*args: str, input: str | bytes | None = None) -> Result:
    return run(*ECHO, *args, input=input)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project to feed the model: two Python files, a PNG, a PDF, guidelines."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "app.py").write_text("def add(a, b):\n    return a - b\n")
    (work / "test_app.py").write_text("from app import add\n\nassert add(2, 2) == 4\n")
    (work / "guidelines.md").write_text("Prefer small functions.\n")
    (work / "screenshot.png").write_bytes(PNG)
    (work / "paper.pdf").write_bytes(PDF)
    monkeypatch.chdir(work)
    return work


# -- files ---------------------------------------------------------------------------------------


def test_two_files_reach_the_model_with_their_paths_before_the_words(workdir: Path) -> None:
    result = echo("-f", "app.py", "-f", "test_app.py", "why does the test fail?")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        '<file path="app.py">\ndef add(a, b):\n    return a - b\n</file>\n\n'
        '<file path="test_app.py">\nfrom app import add\n\nassert add(2, 2) == 4\n</file>\n\n'
        "why does the test fail?\n"
    )


def test_a_directory_skips_what_gitignore_excludes_binary_and_large_files(workdir: Path) -> None:
    src = workdir / "src"
    (src / "pkg" / "build").mkdir(parents=True)
    (src / ".gitignore").write_text("*.log\nbuild/\n!keep.log\n")
    (src / "pkg" / ".gitignore").write_text("secret.py\n")
    (src / "main.py").write_text("print('main')\n")
    (src / "debug.log").write_text("noise\n")
    (src / "keep.log").write_text("kept\n")
    (src / "pkg" / "util.py").write_text("X = 1\n")
    (src / "pkg" / "secret.py").write_text("KEY = 2\n")
    (src / "pkg" / "build" / "out.py").write_text("built\n")
    (src / "logo.png").write_bytes(PNG)
    (src / "blob.bin").write_bytes(b"abc\0def")
    (src / "big.txt").write_text("x" * (MAX_EXPANDED_BYTES + 1))
    (src / "dangling.py").symlink_to(src / "gone.py")
    result = echo("-f", "src/", "summarise")
    assert result.exit_code == 0, result.stderr
    paths = re.findall(r'<file path="([^"]+)">', result.stdout)
    assert paths == ["src/keep.log", "src/main.py", "src/pkg/util.py"]  # dot-files too are left out (issue 21)


def test_a_glob_expands_and_follows_the_work_trees_gitignore(workdir: Path) -> None:
    (workdir / ".git").mkdir()
    (workdir / ".gitignore").write_text("generated_*.py\n")
    (workdir / "lib").mkdir()
    (workdir / "lib" / "core.py").write_text("CORE = 1\n")
    (workdir / "lib" / "generated_x.py").write_text("GEN = 1\n")
    result = echo("-f", "lib/*.py", "look")
    assert result.exit_code == 0, result.stderr
    assert re.findall(r'<file path="([^"]+)">', result.stdout) == ["lib/core.py"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-f", "latin1.txt"], "latin1.txt is not UTF-8 text (byte 3 is 0xe9)"),
        (["-f", "screenshot.png"], "screenshot.png is a PNG image, not text (attach it with -a screenshot.png"),
        (["-f", "missing.py"], "missing.py: no such file"),
        (["-f", "nothing/*.py"], "no files match nothing/*.py"),
        (["--sf", "paper.pdf"], "paper.pdf is a PDF, not text (attach it with -a paper.pdf instead of --sf)"),
    ],
)
def test_files_that_are_not_text_are_usage_errors_naming_them(workdir: Path, args: list[str], message: str) -> None:
    (workdir / "latin1.txt").write_bytes("café".encode("latin-1"))
    result = echo(*args, "hi")
    assert result.exit_code == 2
    assert error_line(result).startswith(message)


def test_file_on_stdin_and_system_file(workdir: Path, loopback_server: LoopbackServer) -> None:  # noqa: F811
    loopback_server.enqueue(Reply.sse(openai_sse(reply_events(["ok"]))))
    result = run(
        "-m", "ollama:llama3", "--base-url", loopback_server.base_url, "-s", "Be brief.", "--sf", "guidelines.md",
        "-f", "-", "review", input="x = 1\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    messages = loopback_server.requests[0].json["messages"]
    assert messages == [
        {"content": "Be brief.\n\nPrefer small functions.", "role": "system"},
        {"content": '<file path="stdin">\nx = 1\n</file>\n\nreview', "role": "user"},
    ]


def test_files_alone_are_a_prompt_and_nothing_at_all_is_not(workdir: Path) -> None:
    assert echo("-f", "guidelines.md").stdout == '<file path="guidelines.md">\nPrefer small functions.\n</file>\n'
    assert error_line(echo()).startswith("no prompt given")


def test_what_a_directory_left_out_is_told_on_a_terminal(workdir: Path) -> None:
    (workdir / "src").mkdir()
    (workdir / "src" / "a.py").write_text("A = 1\n")
    (workdir / "src" / "logo.png").write_bytes(PNG)
    child = pexpect.spawn(
        CHATSTREAM[0], [*CHATSTREAM[1:], *ECHO, "--raw", "-f", "src", "hi"], env=cli_env(), timeout=20
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "chatstream: -f left out 1 file: src/logo.png (binary)" in child.before.decode()


# -- stdin ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("café au lait".encode("latin-1"), "stdin is not UTF-8 text (byte 3 is 0xe9)"),
        (b"\xff\xfe\x00\x81random" * 10, "stdin is not UTF-8 text (byte 0 is 0xff)"),
        (PNG, "stdin is a PNG image, not text (attach it with -a -)"),
    ],
    ids=["latin-1", "random", "png"],
)
def test_stdin_that_is_not_text_is_a_usage_error(data: bytes, message: str) -> None:
    for model in (ECHO, ["-m", "anthropic:claude-haiku-4-5"], ["-m", "openai:gpt-4o-mini"]):
        result = run(*model, "describe", input=data)
        assert (result.exit_code, error_line(result)[: len(message)]) == (2, message)


def test_random_bytes_on_stdin_never_crash_a_subprocess() -> None:
    process = subprocess.run(
        [*CHATSTREAM, *ECHO, "describe"], input=bytes(range(256)) * 4, capture_output=True, env=cli_env()
    )
    assert process.returncode == 2
    assert process.stderr.decode().startswith("chatstream: error: stdin is not UTF-8 text")


def test_an_image_on_stdin_is_an_attachment_with_dash() -> None:
    result = echo("-a", "-", "describe", input=PNG)
    assert (result.exit_code, result.stdout) == (0, "[attached image/png]\ndescribe\n")


def test_no_stdin_leaves_the_loops_input_alone(tmp_path: Path) -> None:
    script = (
        "printf 'one\\ntwo\\nthree\\n' | while read -r word; do "
        f'{" ".join(CHATSTREAM)} {" ".join(ECHO)} {{flag}} "$word"; done'
    )
    with_flag = subprocess.run(["bash", "-c", script.format(flag="--no-stdin")], capture_output=True, env=cli_env())
    assert with_flag.stdout.decode() == "one\ntwo\nthree\n"
    without = subprocess.run(["bash", "-c", script.format(flag="")], capture_output=True, env=cli_env())
    assert without.stdout.decode() == "two\nthree\n\none\n"  # the first call swallowed the rest


def test_dash_a_on_a_terminal_does_not_wait_for_bytes() -> None:
    child = pexpect.spawn(CHATSTREAM[0], [*CHATSTREAM[1:], *ECHO, "-a", "-", "hi"], env=cli_env(), timeout=20)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "-a - reads an image or PDF from stdin, which is a terminal" in child.before.decode()


def test_stdin_is_read_once() -> None:
    result = echo("-a", "-", "-f", "-", "hi", input=PNG)
    assert (result.exit_code, error_line(result)) == (
        2,
        "-f - and -a - both read stdin (stdin can be read once: choose one)",
    )
    result = echo("--no-stdin", "-a", "-", "hi", input=PNG)
    assert error_line(result).startswith("-a - reads stdin, which --no-stdin ignores")


# -- attachments ---------------------------------------------------------------------------------


@pytest.fixture
def anthropic(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", loopback_server.base_url)
    loopback_server.enqueue(Reply.sse(anthropic_sse_text()))
    return loopback_server


def anthropic_sse_text() -> str:
    return anthropic_stream("Seen.")


def test_png_and_pdf_to_anthropic_are_image_and_document_blocks(workdir: Path, anthropic: LoopbackServer) -> None:
    result = run("-m", "anthropic:claude-haiku-4-5", "-a", "screenshot.png", "-a", "paper.pdf", "what is this?")
    assert (result.exit_code, result.stdout) == (0, "Seen.\n"), result.stderr
    assert anthropic.requests[0].json["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)}},
                {"type": "text", "text": "what is this?"},
            ],
        }
    ]


def test_png_and_pdf_to_openai_are_image_url_and_file_parts(
    workdir: Path,
    loopback_server: LoopbackServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", loopback_server.base_url)
    loopback_server.enqueue(Reply.sse(openai_sse(reply_events(["Seen."]))))
    result = run("-m", "openai:gpt-4o-mini", "-a", "screenshot.png", "-a", "paper.pdf", "what is this?")
    assert (result.exit_code, result.stdout) == (0, "Seen.\n"), result.stderr
    assert loopback_server.requests[0].json["messages"] == [
        {
            "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}},
                {
                    "type": "file",
                    "file": {"filename": "paper.pdf", "file_data": f"data:application/pdf;base64,{b64(PDF)}"},
                },
                {"type": "text", "text": "what is this?"},
            ],
            "role": "user",
        }
    ]


def test_a_url_attachment_is_sniffed_and_sent_as_a_url(
    workdir: Path,
    anthropic: LoopbackServer,
) -> None:
    url = f"{anthropic.base_url}/files/chart"
    anthropic.enqueue(Reply(status=206, headers=[("content-range", "bytes 0-68/69")], body=PNG), path="/files/chart")
    result = run("-m", "anthropic:claude-haiku-4-5", "--json", "-a", url, "chart?")
    assert result.exit_code == 0, result.stderr
    sniff, sent = anthropic.requests
    assert sniff.headers["range"] == "bytes=0-1023"
    assert sent.json["messages"][0]["content"][0] == {"type": "image", "source": {"type": "url", "url": url}}
    record = json.loads(result.stdout)
    assert record["attachments"] == [{"path": url, "type": "image/png", "size": 69, "sha256": None}]


def test_a_provider_that_cannot_take_pdfs_names_those_that_can(workdir: Path) -> None:
    result = run("-m", "ollama:llava", "-a", "paper.pdf", "summarise")
    assert result.exit_code == 2
    assert error_line(result) == (
        "ollama cannot take PDFs (providers that can: builtin, anthropic, gemini, openai, azure, openrouter)"
    )


def test_documented_size_limits_are_checked_before_sending(workdir: Path, anthropic: LoopbackServer) -> None:
    (workdir / "huge.png").write_bytes(PNG + b"\0" * (5 * 1024 * 1024))
    result = run("-m", "anthropic:claude-haiku-4-5", "-a", "huge.png", "look")
    assert result.exit_code == 2
    assert error_line(result).startswith("huge.png is 5.0 MB, over anthropic's 5.0 MB limit per image")
    assert anthropic.requests == []


def test_what_is_not_an_image_or_pdf_is_refused(workdir: Path) -> None:
    result = echo("-a", "app.py", "hi")
    assert error_line(result) == "app.py is not a PNG, JPEG, GIF or WebP image or a PDF (text goes in with -f)"


def test_events_show_the_standard_blocks_as_langchain_does(workdir: Path) -> None:
    result = echo("--events", "-a", "screenshot.png", "describe")
    start = json.loads(result.stdout.splitlines()[0])
    # LangChain echoes the input it was given (a list holding this HumanMessage); the base64 is not elided.
    assert start["data"]["input"] == [
        {
            "content": [
                {"type": "image", "base64": b64(PNG), "mime_type": "image/png"},
                {"type": "text", "text": "describe"},
            ],
            "additional_kwargs": {},
            "response_metadata": {},
            "type": "human",
            "name": None,
            "id": None,
        }
    ]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- roles ---------------------------------------------------------------------------------------


def test_a_role_saved_listed_shown_applied_overridden_and_removed(
    loopback_server: LoopbackServer,  # noqa: F811
) -> None:
    saved = run(
        "roles", "save", "pirate", "-m", "ollama:llama3", "-s", "You are a pirate.", "-t", "0.9",
        "--max-tokens", "50", "-o", "top_p", "0.5", "--template", "Answer as a {rank}: {input}",
        "-p", "rank", "captain",
    )  # fmt: skip
    assert saved.exit_code == 0, saved.stderr
    assert "pirate  saved" in run("roles", "list").stdout
    assert 'template = "Answer as a {rank}: {input}"' in run("roles", "show", "pirate").stdout
    loopback_server.enqueue_many([Reply.sse(openai_sse(reply_events(["Arr"]))) for _ in range(2)])
    url = ["--base-url", loopback_server.base_url]
    assert run(*url, "--role", "pirate", "where is it?").exit_code == 0
    assert (
        run(*url, "--role", "pirate", "-t", "0.1", "-o", "top_p", "1", "-p", "rank", "cabin boy", "hm").exit_code == 0
    )
    first, second = (request.json for request in loopback_server.requests)
    assert (first["model"], first["temperature"], first["max_tokens"], first["top_p"]) == ("llama3", 0.9, 50, 0.5)
    assert first["messages"] == [
        {"content": "You are a pirate.", "role": "system"},
        {"content": "Answer as a captain: where is it?", "role": "user"},
    ]
    assert (second["temperature"], second["top_p"]) == (0.1, 1)
    assert second["messages"][1]["content"] == "Answer as a cabin boy: hm"
    assert run("roles", "remove", "pirate").exit_code == 0
    assert error_line(run("--role", "pirate", "hi")).startswith("no role named 'pirate'")


def test_a_missing_template_variable_is_a_usage_error_naming_it() -> None:
    assert run("roles", "save", "t", "-m", "builtin:echo", "--template", "{lang}: {input}").exit_code == 0
    result = run("--role", "t", "hello")
    assert (result.exit_code, error_line(result)) == (2, "role t needs {lang} (pass -p lang VALUE)")
    assert run("--role", "t", "-p", "lang", "Go", "hello").stdout == "Go: hello\n"
    assert error_line(run("--role", "t", "-p", "lnag", "Go", "x")).startswith("-p lnag: role t has no {lnag}")
    assert error_line(run(*ECHO, "-p", "lang", "Go", "x")) == "-p fills a role's template (use it with --role NAME)"


def test_built_in_roles_work_and_cannot_be_removed() -> None:
    names = [line.split()[0] for line in run("roles", "list").stdout.splitlines()]
    assert names == ["commit", "review", "shell"]
    result = echo("--role", "shell", "-p", "shell", "fish", "count lines")
    assert result.stdout == "A fish command that does this: count lines\n"
    assert error_line(run("roles", "remove", "shell")).startswith("role 'shell' is built in")


def test_roles_live_in_the_roles_folder(isolated_env: Path) -> None:
    assert run("roles", "path").stdout == f"{isolated_env / 'roles'}\n"
    run("roles", "save", "r", "-s", "Hi")
    assert (isolated_env / "roles" / "r.toml").read_text() == 'system = "Hi"\n'


def test_a_broken_role_file_is_a_config_error(isolated_env: Path) -> None:
    (isolated_env / "roles").mkdir(parents=True)
    (isolated_env / "roles" / "bad.toml").write_text("temperature = 'hot'\n")
    result = run("--role", "bad", "hi")
    assert result.exit_code == 3
    assert "has a bad 'temperature'" in error_line(result)


# -- extraction ----------------------------------------------------------------------------------

CODE_REPLY = "Here you go:\n\n```bash\nwc -l *.py\n```\n\nOr:\n\n~~~sh\nfind . -name '*.py' | xargs wc -l\n~~~\n"


def code_server(server: LoopbackServer) -> list[str]:
    server.enqueue(Reply.sse(openai_sse(reply_events([CODE_REPLY[:20], CODE_REPLY[20:]]))))
    return ["-m", "ollama:m", "--base-url", server.base_url]


def test_extract_prints_only_the_first_or_last_block_on_a_pipe(loopback_server: LoopbackServer) -> None:  # noqa: F811
    result = run(*code_server(loopback_server), "-x", "count lines")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "wc -l *.py\n", "")
    result = run(*code_server(loopback_server), "--xl", "count lines")
    assert result.stdout == "find . -name '*.py' | xargs wc -l\n"


def test_extract_without_a_block_prints_the_reply_with_a_notice() -> None:
    result = echo("-x", "no code here")
    assert (result.exit_code, result.stdout) == (0, "no code here\n")  # the notice shows on a terminal only


def test_extract_on_a_terminal_streams_the_reply_and_leaves_the_code(
    loopback_server: LoopbackServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    args = code_server(loopback_server)
    child = pexpect.spawn(
        CHATSTREAM[0], [*CHATSTREAM[1:], *args, "-q", "-x", "count"], env=cli_env(TERM="xterm"), timeout=20
    )
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before.decode().replace("\r\n", "\n")
    assert child.exitstatus == 0
    assert screen.endswith("wc -l *.py\n")
    assert screen.count("wc -l *.py") == 1  # -q: no echo on stderr, only the code
    loopback_server.enqueue(Reply.sse(openai_sse(reply_events([CODE_REPLY]))))
    out = tmp_path / "count.sh"
    child = pexpect.spawn(
        "bash",
        ["-c", f"{' '.join(CHATSTREAM)} {' '.join(args)} -x count > {out}"],
        env=cli_env(TERM="xterm"),
        timeout=20,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert "Here you go:" in child.before.decode()  # the reply streamed on the terminal (stderr)
    assert out.read_text() == "wc -l *.py\n"


def test_extract_refuses_the_other_output_modes() -> None:
    assert error_line(echo("-x", "--json", "hi")) == (
        "-x/--extract and --json cannot be used together (-x/--extract prints only code on stdout)"
    )


# -- --json --------------------------------------------------------------------------------------


def test_json_records_what_was_asked(workdir: Path) -> None:
    run("roles", "save", "r", "-s", "Be kind.", "-o", "seed", "3", "--template", "Q: {input}")
    result = echo("--json", "--role", "r", "-f", "app.py", "-a", "screenshot.png", "what now?")
    record = json.loads(result.stdout)
    assert {key: record[key] for key in ("prompt", "system", "files", "attachments", "options", "role")} == {
        "prompt": "Q: what now?",
        "system": "Be kind.",
        "files": [{"path": "app.py", "size": 32}],
        "attachments": [
            {"path": "screenshot.png", "type": "image/png", "size": len(PNG), "sha256": hashlib.sha256(PNG).hexdigest()}
        ],
        "options": {"seed": 3, "delay_ms": 0},
        "role": "r",
    }


# -- the documentation's recipes ------------------------------------------------------------------


def readme_recipes() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", (REPO / "docs" / "giving-more.md").read_text(), re.DOTALL)


@pytest.mark.parametrize("recipe", readme_recipes(), ids=lambda recipe: recipe.splitlines()[0][:60])
def test_readme_recipe_runs_as_written(recipe: str, workdir: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "chatstream").write_text(f'#!/bin/sh\nexec {" ".join(CHATSTREAM)} "$@"\n')
    (bin_dir / "chatstream").chmod(0o755)
    (workdir / "src").mkdir()
    (workdir / "src" / "mod.py").write_text("def unused():\n    pass\n")
    env = cli_env(PATH=f"{bin_dir}:{cli_env()['PATH']}", CHATSTREAM_MODEL="builtin:echo")
    process = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + recipe], cwd=workdir, env=env, capture_output=True, text=True
    )
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr
    expected = recipe_output(recipe, workdir)
    if expected is not None:
        assert expected in process.stdout


def recipe_output(recipe: str, workdir: Path) -> str | None:
    """Something the echo model's reply to the recipe must hold (for the recipes whose output is on stdout)."""
    if "-f app.py -f test_app.py" in recipe:
        return '<file path="app.py">\ndef add(a, b):'
    if "-f src/" in recipe:
        return '<file path="src/mod.py">'
    if 'screenshot.png "what does' in recipe:
        return "[attached image/png]\nwhat does this error dialog say?"
    if "roles save pirate" in recipe:
        return "Answer as a cabin boy: where is the treasure?"
    if "while read" in recipe:
        lines = (workdir / "summaries.jsonl").read_text().splitlines()
        return None if [json.loads(line)["files"][0]["path"] for line in lines] == ["app.py", "test_app.py"] else "!"
    return None


@pytest.mark.parametrize("mode", [[], ["--async"], ["--no-stream"]], ids=["stream", "async", "invoke"])
def test_a_large_attachment_is_sent_in_pieces_with_its_length(
    mode: list[str],
    workdir: Path,
    loopback_server: LoopbackServer,  # noqa: F811
) -> None:
    photo = PNG + bytes(range(256)) * 8192  # 2 MB: its base64 is over jsonbody.LARGE
    (workdir / "photo.png").write_bytes(photo)
    completion = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Big."}, "finish_reason": "stop"}]
    }
    reply = Reply.json(completion) if mode == ["--no-stream"] else Reply.sse(openai_sse(reply_events(["Big."])))
    loopback_server.enqueue(reply)
    result = run("-m", "ollama:llava", "--base-url", loopback_server.base_url, *mode, "-a", "photo.png", "what?")
    assert (result.exit_code, result.stdout) == (0, "Big.\n"), result.stderr
    (request,) = loopback_server.requests
    assert request.headers["content-length"] == str(len(request.body))
    assert "transfer-encoding" not in request.headers
    assert request.json["messages"][0]["content"][0]["image_url"]["url"] == f"data:image/png;base64,{b64(photo)}"
