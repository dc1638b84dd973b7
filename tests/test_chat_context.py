"""Context inside ``chat`` (issue 21): the prompt's context flags, /file, /attach, /edit and Ctrl-X Ctrl-E,
/role, /system, /model, /new, /copy, /usage, Tab completion and /help, in a real pseudo-terminal; and the
history they leave, which ``chatstream -c`` goes on from."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from chatstream_cli import history
from chatstream_cli.commands.chat import HELP
from tests.conftest import CHATSTREAM, DATA, cli_env
from tests.test_chat import LIVE_VIEW_STARTS, READY

ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0"]
TRANSLATE = 'system = "You translate."\ntemplate = "Into {lang}: {input}"\n[params]\nlang = "French"\n'
OSC52 = re.compile(rb"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07")


@pytest.fixture
def work(tmp_path: Path, isolated_env: Path) -> Path:
    """A folder with a note, a system file and an image; a saved role ``translate``."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "notes.md").write_text("the notes\n")
    (folder / "more.txt").write_text("more text\n")
    (folder / "pirate.txt").write_text("Talk like a pirate.\n")
    (folder / "dot.png").write_bytes((DATA / "dot.png").read_bytes())
    (isolated_env / "roles").mkdir(parents=True)
    (isolated_env / "roles" / "translate.toml").write_text(TRANSLATE)
    return folder


def spawn_chat(work: Path, *args: str, **env: str) -> pexpect.spawn:
    settings = {"TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1", **env}
    argv = [*CHATSTREAM, "chat", *ECHO, *args]
    return pexpect.spawn(argv[0], argv[1:], env=cli_env(**settings), cwd=str(work), timeout=20, dimensions=(40, 200))


def say(child: pexpect.spawn, line: str, *, reply: bool = True) -> None:
    """Type ``line`` at the prompt and press Enter; wait for the reply to start when one is due."""
    child.expect(READY)
    child.send(line + "\r")
    if reply:
        child.expect(LIVE_VIEW_STARTS)


def leave(child: pexpect.spawn) -> bytes:
    child.expect(READY)
    child.send("/exit\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    return child.before


def test_flags_go_with_the_first_message_commands_with_the_next_and_c_goes_on(work: Path) -> None:
    child = spawn_chat(work, "-f", "notes.md", "--sf", "pirate.txt", "-a", "dot.png", "--role", "translate")
    child.expect(r"role translate · 1 file \(10 bytes\) and 1 attachment go with your first message".encode())
    say(child, "good morning")
    say(child, "/file more.txt *.md", reply=False)
    child.expect(r"2 files \(20 bytes\) go with your next message")
    say(child, "/attach dot.png", reply=False)
    child.expect(r"2 files \(20 bytes\) and 1 attachment go with your next message")
    say(child, "good evening")
    say(child, "/role -", reply=False)
    child.expect("no role from the next message on")
    say(child, "plain words")
    leave(child)

    first, second, third = history.exchanges()
    assert first.cid == second.cid == third.cid
    assert first.prompt == '<file path="notes.md">\nthe notes\n</file>\n\nInto French: good morning'
    assert first.system == "You translate.\n\nTalk like a pirate."
    assert (first.role, first.files, [item.name for item in first.attachments]) == (
        "translate",
        ("notes.md",),
        ["dot.png"],
    )
    assert second.files == ("more.txt", "notes.md") and [item.name for item in second.attachments] == ["dot.png"]
    assert second.prompt.endswith("Into French: good evening")
    assert (third.prompt, third.role, third.files, third.attachments) == ("plain words", None, (), ())
    assert third.system == "Talk like a pirate.", "the --sf file holds for the session, without the role's"
    sent_first = first.messages[-1]["content"]
    assert [block["type"] for block in sent_first] == ["image", "text"], "the attachment was sent"

    continued = subprocess.run(
        [*CHATSTREAM, "-c", "-o", "delay_ms", "0", "and now?"], env=cli_env(), capture_output=True, text=True
    )
    assert continued.returncode == 0, continued.stderr
    last = history.exchanges()[-1]
    assert (last.cid, last.full_model, last.system) == (first.cid, "builtin:echo", "Talk like a pirate.")
    contents = [message["content"] for message in last.messages]
    assert contents[0] == "Talk like a pirate."
    assert "the notes" in str(contents[1]) and "Into French: good morning" in str(contents[1])
    assert "more text" in str(contents[3]), "the /file contents are part of the conversation"


def test_system_model_new_usage_and_help(work: Path) -> None:
    child = spawn_chat(work)
    say(child, "/system Be brief.", reply=False)
    child.expect("system prompt: Be brief.")
    say(child, "one")
    say(child, "/model builtin:poet", reply=False)
    child.expect("the model is now builtin:poet")
    say(child, "two")
    say(child, "/usage", reply=False)
    child.expect(r"this conversation: 2 turns · ([\d,]+) in · ([\d,]+) out · ([\d,]+) tokens".encode())
    shown_in, shown_out, shown_total = (int(value.replace(b",", b"")) for value in child.match.groups())
    say(child, "/help", reply=False)
    for line in HELP.splitlines()[:14]:
        child.expect_exact(line.split()[0])
    say(child, "/new", reply=False)
    child.expect("a new conversation")
    say(child, "three")
    leave(child)

    one, two, three = history.exchanges()
    assert (one.system, two.system, three.system) == ("Be brief.", "Be brief.", "Be brief.")
    assert (one.full_model, two.full_model, three.full_model) == ("builtin:echo", "builtin:poet", "builtin:poet")
    assert shown_in == one.input_tokens + two.input_tokens
    assert shown_out == one.output_tokens + two.output_tokens
    assert shown_total == shown_in + shown_out
    assert three.cid != two.cid


def test_help_names_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatstream_cli.commands.chat import ChatSession
    from chatstream_cli.commands.prompt import PromptRequest

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    session = ChatSession(PromptRequest(model="builtin:echo"))
    listed = set(re.findall(r"^(/\w+)", HELP, re.MULTILINE))
    assert listed == set(session.commands) - {"/quit"}


EDITOR = """import sys
path = sys.argv[1]
text = open(path).read()
open(path, "w").write((text + " and more" if text else "written in the editor") + "\\n")
"""


def test_edit_and_ctrl_x_ctrl_e_open_the_editor_on_the_message(work: Path, tmp_path: Path) -> None:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    child = spawn_chat(work, EDITOR=f"{sys.executable} {script}", VISUAL="")
    say(child, "/edit")
    child.expect(READY)
    child.send("half a thought")
    child.send("\x18\x05")  # Ctrl-X Ctrl-E: the editor gets the line, and what it leaves is sent
    child.expect(LIVE_VIEW_STARTS)
    say(child, "/edit a start")
    leave(child)
    assert [exchange.prompt for exchange in history.exchanges()] == [
        "written in the editor",
        "half a thought and more",
        "a start and more",
    ]


def test_an_editor_that_fails_sends_nothing(work: Path) -> None:
    child = spawn_chat(work, EDITOR="false", VISUAL="")
    say(child, "/edit draft", reply=False)
    child.expect("the editor false exited with status 1 \\(nothing was sent\\)")
    leave(child)
    assert history.exchanges() == []


CODE_REPLY = ["look:", "```python", "print(1)", "```", "done"]


@pytest.mark.parametrize(
    ("env", "caveat"),
    [
        ({"TERM": "xterm-kitty"}, None),
        ({"TERM": "xterm-256color", "TMUX": "/tmp/tmux-0/default,1,0"}, "set -g set-clipboard on"),
    ],
)
def test_copy_puts_the_reply_or_its_code_on_the_clipboard_through_osc_52(
    work: Path, env: dict[str, str], caveat: str | None
) -> None:
    child = spawn_chat(work, **env)
    child.logfile_read = output = io.BytesIO()
    say(child, "/copy", reply=False)
    child.expect("nothing to copy yet")
    child.expect(READY)
    child.send('"""\r')
    for line in CODE_REPLY:
        child.expect(READY)
        child.send(line + "\r")
    say(child, '"""')
    say(child, "/copy", reply=False)
    whole = "\n".join(CODE_REPLY)
    child.expect(rf"copied the last reply \({len(whole)} characters\) to the clipboard(.*)\r\n")
    whole_said = child.match.group(1).decode()
    say(child, "/copy code", reply=False)
    child.expect(r"copied its last code block \(9 characters\) to the clipboard")
    leave(child)
    copies = [base64.b64decode(found).decode() for found in OSC52.findall(output.getvalue())]
    assert copies == [whole, "print(1)\n"]
    if caveat is None:
        assert whole_said == ""
    else:
        assert whole_said.startswith(" through OSC 52; ") and caveat in whole_said


def test_tab_completes_commands_roles_models_and_paths(work: Path) -> None:
    child = spawn_chat(work)
    child.expect(READY)
    child.send("/us\t")
    child.expect_exact("age")
    child.send("\r")
    child.expect("this conversation: 0 turns")
    child.expect(READY)
    child.send("/role transl\t")
    child.expect_exact("ate")
    child.send("\r")
    child.expect("role translate from the next message on")
    child.expect(READY)
    child.send("/model builtin:ec\t")
    child.expect_exact("ho")
    child.send("\r")
    child.expect("the model is now builtin:echo")
    child.expect(READY)
    child.send("/file not\t")
    child.expect_exact("es.md")
    child.send("\r")
    child.expect(r"1 file \(10 bytes\) go with your next message")
    say(child, "hi")
    leave(child)
    (only,) = history.exchanges()
    assert (only.role, only.files) == ("translate", ("notes.md",))


def piped(work: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    argv = [*CHATSTREAM, "chat", *ECHO, *args]
    return subprocess.run(argv, input=stdin, env=cli_env(), cwd=work, capture_output=True, text=True, timeout=60)


def test_piped_chat_takes_the_context_flags_and_commands(work: Path) -> None:
    result = piped(work, "-f", "notes.md", "-s", "Be brief.", stdin="first\n/file more.txt\nsecond\nthird\n")
    assert result.returncode == 0, result.stderr
    first, second, third = history.exchanges()
    assert (first.files, second.files, third.files) == (("notes.md",), ("more.txt",), ())
    assert {first.system, second.system, third.system} == {"Be brief."}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["-f", "-"], "-f - and chat's messages both read stdin"),
        (["-p", "lang", "German"], "-p fills a role's template"),
        (["--role", "nosuch"], "no role named 'nosuch'"),
        (["--role", "translate", "-p", "tone", "dry"], "-p tone: role translate has no {tone}"),
        (["-f", "missing.txt"], "missing.txt: no such file"),
    ],
)
def test_bad_context_flags_are_usage_errors(work: Path, args: list[str], problem: str) -> None:
    result = piped(work, *args, stdin="hi\n")
    assert result.returncode == 2
    assert result.stderr.startswith(f"chatstream: error: {problem}"), result.stderr
    assert history.exchanges() == []


def test_a_failing_command_leaves_the_session_going(work: Path) -> None:
    script = "/file missing.txt\n/attach notes.md\n/role nosuch\n/copy\n/file 'unclosed\nstill here\n"
    result = piped(work, stdin=script)
    assert (result.returncode, result.stdout) == (0, "still here\n")
    errors = result.stderr.splitlines()
    assert len(errors) == 5 and all(line.startswith("chatstream: error: ") for line in errors), errors
    assert history.exchanges()[0].files == ()


def test_retry_sends_the_same_files_and_attachments_again(work: Path) -> None:
    result = piped(work, "-a", "dot.png", "-f", "notes.md", stdin="look\n/retry\n")
    assert result.returncode == 0, result.stderr
    first, again = history.exchanges()
    assert again.retry_of == first.id
    assert (again.prompt, again.files) == (first.prompt, first.files)
    assert [item.name for item in again.attachments] == [item.name for item in first.attachments] == ["dot.png"]


def test_retry_of_a_resumed_turn_does_not_fill_the_template_twice(work: Path) -> None:
    once = subprocess.run(
        [*CHATSTREAM, *ECHO, "--role", "translate", "hi"], env=cli_env(), cwd=work, capture_output=True, text=True
    )
    assert once.returncode == 0, once.stderr
    result = piped(work, "-c", "--role", "translate", stdin="/retry\n")
    assert result.returncode == 0, result.stderr
    assert [exchange.prompt for exchange in history.exchanges()] == ["Into French: hi", "Into French: hi"]


@pytest.mark.parametrize(
    ("env", "caveat"),
    [
        ({"TERM": "xterm-kitty"}, None),
        ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"}, None),
        ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, None),
        ({"TERM": "xterm-256color"}, "your terminal may not support it"),
        ({"TERM": "screen", "STY": "1234.pts-0"}, "GNU screen does not pass it on"),
        ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, "set -g set-clipboard on"),
    ],
)
def test_which_terminals_copy_warns_about(env: dict[str, str], caveat: str | None) -> None:
    from chatstream_cli.render.clipboard import doubt

    said = doubt(env)
    assert said is None if caveat is None else caveat in (said or "")


def test_an_attachment_the_model_cannot_take_waits_until_dropped(work: Path) -> None:
    (work / "empty.pdf").write_bytes((DATA / "empty.pdf").read_bytes())
    refused = piped(work, "-m", "lmstudio:local", "-a", "empty.pdf", stdin="hi\n")
    assert refused.returncode == 2
    assert refused.stderr.startswith("chatstream: error: lmstudio cannot take PDFs (")
    result = piped(work, "-a", "empty.pdf", stdin="/model lmstudio:local\nhi\n/drop\n/model builtin:echo\nhi\n")
    assert (result.returncode, result.stdout) == (0, "hi\n")
    assert result.stderr.startswith("chatstream: error: lmstudio cannot take PDFs (")
    assert "/drop forgets the attachments, /model changes the model)" in result.stderr
    (only,) = history.exchanges()
    assert (only.prompt, only.attachments) == ("hi", ())
