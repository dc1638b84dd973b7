"""The terminal view through a real pseudo-terminal: what a person sees, replayed in a terminal
emulator (pyte) to get the final screen and scrollback; Ctrl-C; hostile escape sequences;
NO_COLOR, TERM=dumb, FORCE_COLOR, COLUMNS, resizes; the spinner."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pyte
import pytest
from rich.console import Console

from chatstream_cli.render.layout import Lines, render_markdown

from .conftest import CHATSTREAM, REPO, cli_env

REPLY = """# Release notes

Version **2.0** brings *live Markdown* to the terminal, with `inline code` and wide text: 日本語 😀.

## What changed

1. Blocks that are complete are printed once.
2. Only the open block is redrawn.
3. Replies taller than the screen scroll cleanly.

- bullets
- more bullets

```python
def stream(chat, prompt):
    for chunk in chat.stream(prompt):
        print(chunk.content, end="|", flush=True)
```

| mode | output |
|------|--------|
| terminal | Markdown |
| pipe | plain bytes |

> Thanks for reading.

The end."""

HOSTILE = (
    "Clipboard \x1b]52;c;aGVsbG8=\x07 then \x1b[2J a \x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\ "
    "and AAAA\rBB done"
)
RAW_SEQUENCES = (b"\x1b]52", b"\x1b[2J", b"\x1b]8;;", b"\x07", b"AAAA\rBB")

TIMEOUT = 30


def echo(*options: str, delay_ms: int = 1) -> list[str]:
    return [*CHATSTREAM, "-m", "builtin:echo", "-o", "delay_ms", str(delay_ms), *options]


def spawn(argv: list[str], rows: int = 24, cols: int = 80, **env: str) -> pexpect.spawn:
    environment = cli_env(**{"TERM": "xterm-256color", **env})
    return pexpect.spawn(argv[0], argv[1:], env=environment, cwd=str(REPO), dimensions=(rows, cols), timeout=TIMEOUT)


def run_on_terminal(argv: list[str], rows: int = 24, cols: int = 80, **env: str) -> tuple[bytes, int]:
    child = spawn(argv, rows, cols, **env)
    child.expect(pexpect.EOF)
    output = child.before
    child.close()
    return output, child.exitstatus if child.exitstatus is not None else 128 + child.signalstatus


class Terminal:
    """A terminal emulator with scrollback, fed the bytes a program wrote to its pty."""

    def __init__(self, rows: int, cols: int) -> None:
        self.screen = pyte.HistoryScreen(cols, rows, history=10_000)
        self.stream = pyte.ByteStream(self.screen)

    def feed(self, data: bytes) -> Terminal:
        self.stream.feed(data)
        return self

    def resize(self, rows: int, cols: int) -> None:
        self.screen.resize(rows, cols)

    @property
    def lines(self) -> list[str]:
        """Every line, scrollback first, trailing blanks removed."""
        width = self.screen.columns
        rows = [self._text(line, width) for line in self.screen.history.top]
        rows += [self._text(self.screen.buffer[y], width) for y in range(self.screen.lines)]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    @staticmethod
    def _text(line: dict[int, pyte.screens.Char], width: int) -> str:
        return "".join(line[x].data for x in range(width)).rstrip()


def rendered(text: str, width: int) -> list[str]:
    """The reply rendered in one go, as plain lines: what the screen must show at the end."""
    console = Console(file=io.StringIO(), width=width, force_terminal=True, record=True)
    console.print(Lines(render_markdown(console, text, width).lines), crop=False)
    return [line.rstrip() for line in console.export_text(styles=False).rstrip("\n").split("\n")]


def colour_codes(output: bytes) -> list[str]:
    """SGR parameters that set a colour (foreground or background)."""
    params = [p for group in re.findall(rb"\x1b\[([\d;]*)m", output) for p in group.decode().split(";")]
    return [p for p in params if p and (30 <= int(p) <= 49 or 90 <= int(p) <= 107)]


# -- the live Markdown view -----------------------------------------------------------------------


def test_text_appears_before_the_reply_ends() -> None:
    child = spawn(echo(REPLY, delay_ms=5))
    try:
        child.expect("Release notes")
        assert child.isalive(), "the first words only appeared once the reply was over"
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_a_reply_taller_than_the_screen_ends_as_if_rendered_in_one_go() -> None:
    output, status = run_on_terminal(echo(REPLY), rows=12, cols=60)
    expected = rendered(REPLY, 60)
    assert status == 0
    assert len(expected) > 12 * 2
    assert Terminal(12, 60).feed(output).lines == expected  # nothing duplicated, nothing missing
    assert b"\x1b[?2026h" in output  # redraws are sent as synchronized updates


def test_ctrl_c_keeps_the_partial_reply_ends_the_line_and_exits_130() -> None:
    child = spawn(echo(REPLY, delay_ms=10), rows=40)
    try:
        child.expect("Blocks that")
        output = child.before + child.after
        child.sendintr()
        child.expect(pexpect.EOF)
        output += child.before
    finally:
        child.close()
    assert child.exitstatus == 130
    terminal = Terminal(40, 80).feed(output)
    lines = terminal.lines
    assert lines[: len(rendered("# Release notes", 80))] == rendered("# Release notes", 80)
    assert any(line.startswith("  1 Blocks that") for line in lines)
    assert "The end." not in lines
    assert terminal.screen.cursor.x == 0  # the line was ended
    assert b"Traceback" not in output


def test_a_second_ctrl_c_exits_at_once(tmp_path: Path) -> None:
    """The first Ctrl-C starts the clean-up; if that hangs, a second one ends the process."""
    script = tmp_path / "slow_cleanup.py"
    script.write_text(
        "import sys, time\n"
        "from chatstream_cli.commands.prompt import second_interrupt_exits\n"
        "with second_interrupt_exits():\n"
        "    try:\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(60)\n"
        "    except KeyboardInterrupt:\n"
        "        print('cleaning up', flush=True)\n"
        "        time.sleep(60)\n"
    )
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, cwd=REPO, env=cli_env(), text=True
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGINT)
        assert process.stdout.readline() == "cleaning up\n"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=TIMEOUT) == 130


def test_keys_typed_during_the_reply_leave_nothing_in_it_and_reach_the_shell_after() -> None:
    """An echoed Enter would move the cursor under the region redrawn in place: lines twice."""
    text = " ".join(f"word{i}" for i in range(400))
    child = spawn(echo(text, delay_ms=3), rows=12, cols=60)
    output = b""
    try:
        for seen in ("word40 ", "word120 ", "word200 "):
            child.expect(seen)
            output += child.before + child.after
            child.send("typed\r")
        child.expect(pexpect.EOF)
        output += child.before
        assert child.getecho()  # the echo is back on for the shell
    finally:
        child.close()
    assert child.exitstatus == 0
    assert Terminal(12, 60).feed(output).lines[-len(rendered(text, 60)) :] == rendered(text, 60)
    assert b"typed" not in output


def test_a_second_ctrl_c_puts_the_echo_back_before_exiting() -> None:
    script = (
        "import sys, time\n"
        "from chatstream_cli.commands.prompt import second_interrupt_exits\n"
        "from chatstream_cli.render.tty import echo_off\n"
        "with second_interrupt_exits():\n"
        "    echo_off(sys.stdout)\n"
        "    try:\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(60)\n"
        "    except KeyboardInterrupt:\n"
        "        print('cleaning up', flush=True)\n"
        "        time.sleep(60)\n"
    )
    child = spawn([sys.executable, "-c", script])
    try:
        child.expect("ready")
        assert not child.getecho()
        child.sendintr()
        child.expect("cleaning up")
        child.sendintr()
        child.expect(pexpect.EOF)
        assert child.getecho()
    finally:
        child.close()
    assert child.exitstatus == 130


def test_thinking_is_shown_dim_under_a_header_before_the_answer() -> None:
    argv = [*CHATSTREAM, "-m", "builtin:poet", "-o", "delay_ms", "0", "--thinking", "a song about goldfish"]
    output, status = run_on_terminal(argv)
    lines = Terminal(24, 80).feed(output).lines
    assert status == 0
    assert lines[0] == "thinking"
    assert lines[1].startswith("The user wants a song about goldfish.")
    assert lines[2] == ""
    assert lines[3].startswith("Here is a 1 verse song about goldfish")
    assert b"\x1b[1;2mthinking" in output
    assert b"\x1b[2;3mThe" in output


# -- text from the model never reaches the terminal raw ----------------------------------------------


@pytest.mark.parametrize("view", ["--markdown", "--raw"])
def test_escape_sequences_from_the_model_are_neutralised(view: str) -> None:
    output, status = run_on_terminal(echo(view, HOSTILE), cols=150)
    assert status == 0
    for raw in RAW_SEQUENCES:
        assert raw not in output
    shown = " ".join(Terminal(24, 150).feed(output).lines)
    assert "Clipboard ␛]52;c;aGVsbG8=␇ then ␛[2J a ␛]8;;http://evil.example␛\\link␛]8;;␛\\ and AAAA␍BB done" in shown


def test_piped_output_stays_byte_exact() -> None:
    result = subprocess.run(echo(HOSTILE), capture_output=True, cwd=REPO, env=cli_env(), timeout=TIMEOUT)
    assert result.returncode == 0
    assert result.stdout == (HOSTILE + "\n").encode()


# -- the environment ------------------------------------------------------------------------------


def test_no_color_keeps_the_terminal_view_without_colours() -> None:
    output, status = run_on_terminal(echo(REPLY), NO_COLOR="1")
    assert status == 0
    assert colour_codes(output) == []
    assert b"\x1b[1m" in output  # bold is not a colour
    assert " • bullets" in Terminal(24, 80).feed(output).lines
    with_colours, _ = run_on_terminal(echo(REPLY))
    assert colour_codes(with_colours)  # the check above can fail


def test_a_dumb_terminal_gets_the_plain_view() -> None:
    output, status = run_on_terminal(echo(REPLY), TERM="dumb")
    assert status == 0
    assert output == (REPLY + "\n").replace("\n", "\r\n").encode()


@pytest.mark.parametrize("options", [(), ("-d", "|")])
def test_a_dumb_terminal_is_still_safe_from_escape_sequences(options: tuple[str, ...]) -> None:
    output, status = run_on_terminal(echo(*options, HOSTILE), TERM="dumb")
    assert status == 0
    for raw in RAW_SEQUENCES:
        assert raw not in output
    assert "Clipboard ␛]52;c;aGVsbG8=␇ then ␛[2J" in output.decode().replace("|", "")


def test_force_color_renders_into_a_pipe_without_moving_the_cursor() -> None:
    env = cli_env(FORCE_COLOR="1")
    result = subprocess.run(echo(REPLY), capture_output=True, cwd=REPO, env=env, timeout=TIMEOUT)
    assert result.returncode == 0
    assert colour_codes(result.stdout)
    assert re.search(rb"\x1b\[\d*[ABJ]", result.stdout) is None
    assert " • bullets" in Terminal(60, 80).feed(result.stdout.replace(b"\n", b"\r\n")).lines


def test_columns_40_wraps_wide_characters_and_emoji_within_40_cells() -> None:
    text = "Wide: " + "日本語のテキスト😀 " * 12 + "end"
    output, status = run_on_terminal(echo(text), cols=80, COLUMNS="40")
    lines = Terminal(24, 80).feed(output).lines
    assert status == 0
    assert lines == rendered(text, 40)
    assert max(len(line) + sum(1 for c in line if ord(c) > 0x2E80) for line in lines) <= 40


def test_a_wider_terminal_mid_reply_leaves_nothing_behind() -> None:
    text = "\n\n".join(f"Paragraph {p}: " + " ".join(f"w{p}.{i}" for i in range(30)) for p in range(4))
    child = spawn(echo(text, delay_ms=4), rows=30, cols=50)
    terminal = Terminal(30, 50)
    try:
        child.expect("w1.3 ")
        terminal.feed(child.before + child.after)
        child.setwinsize(30, 90)
        terminal.resize(30, 90)
        child.expect(pexpect.EOF)
        terminal.feed(child.before)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert " ".join(terminal.lines).split() == text.split()


class Tmux:
    """A tmux server of its own (its socket named for this process and test: other test runs on
    the machine have theirs), running each command in a session of the given size."""

    def __init__(self, tmp_path: Path, command: str | None = None, width: int = 80, height: int = 24) -> None:
        self.socket = ["tmux", "-L", f"chatstream-test-{os.getpid()}-{tmp_path.name}"]
        self.session = "reply"
        if command is not None:
            self.open(self.session, command, width, height, tmp_path)

    def open(self, session: str, command: str, width: int, height: int, directory: Path) -> None:
        """One more session on this server, running ``command`` in ``directory``."""
        size = ["-x", str(width), "-y", str(height)]
        run = [*self.socket, "new-session", "-d", "-s", session, *size, "-c", str(directory), command]
        subprocess.run(run, check=True)

    def resize(self, width: int) -> None:
        subprocess.run([*self.socket, "resize-window", "-t", self.session, "-x", str(width)], check=True)

    def shown(self, history: int = 0, session: str | None = None, joined: bool = True) -> str:
        """The screen (and ``history`` lines above it), wrapped rows joined unless not ``joined``."""
        join = ["-J"] if joined else []
        capture = [*self.socket, "capture-pane", "-p", *join, "-t", session or self.session, "-S", str(-history)]
        return subprocess.run(capture, capture_output=True, text=True, check=True).stdout

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while text not in self.shown() and time.monotonic() < deadline:
            time.sleep(0.02)

    def kill(self) -> None:
        subprocess.run([*self.socket, "kill-server"], check=False)


def reply_in_tmux(tmp_path: Path, text: str, before: str, delay_ms: int) -> str:
    """The shell command that runs ``before``, then the reply, then marks it done."""
    (tmp_path / "reply.md").write_text(text)
    return " ".join([before, *echo(delay_ms=delay_ms), '"$(cat reply.md)"', "; touch done; sleep 60"])


def wait_done(tmp_path: Path) -> bool:
    deadline = time.monotonic() + TIMEOUT
    while not (tmp_path / "done").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return (tmp_path / "done").exists()


needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@needs_tmux
def test_a_narrower_terminal_mid_reply_in_tmux_leaves_nothing_behind(tmp_path: Path) -> None:
    """tmux rewraps lines when it narrows, as most terminals do: the region's rows are recounted."""
    text = "\n\n".join(f"Paragraph {p}: " + " ".join(f"w{p}.{i}" for i in range(40)) for p in range(6))
    # A shell session goes before it: the screen is full and the reply starts at its bottom.
    tmux = Tmux(tmp_path, reply_in_tmux(tmp_path, text, "seq 40;", delay_ms=4), 70, 20)
    try:
        time.sleep(0.8)  # a fixed pause only decides when the resize happens, not the outcome
        tmux.resize(40)
        time.sleep(0.5)
        tmux.resize(60)
        done = wait_done(tmp_path)
        shown = tmux.shown(history=1000)
    finally:
        tmux.kill()
    assert done
    assert shown.split() == [str(n) for n in range(1, 41)] + text.split(), shown


@needs_tmux
def test_a_narrower_terminal_near_the_top_of_the_screen_in_tmux_leaves_nothing_behind(tmp_path: Path) -> None:
    """Below the cursor the rows are blank: tmux keeps the cursor on its row when it narrows and
    pushes the rewrapped rows above it, the open paragraph's first lines, into the history."""
    text = " ".join(f"w{i}" for i in range(400))
    tmux = Tmux(tmp_path, reply_in_tmux(tmp_path, text, "clear; echo ready;", delay_ms=2), 90, 24)
    try:
        tmux.wait_for(" w100 ")  # some lines of the paragraph are up, near the top of the screen
        tmux.resize(45)
        done = wait_done(tmp_path)
        shown = tmux.shown(history=2000)
    finally:
        tmux.kill()
    assert done
    assert shown.split() == ["ready", *text.split()], shown


# -- the spinner --------------------------------------------------------------------------------------

SPINNER_SCRIPT = """
import sys, time
from chatstream_cli.render.choose import make_spinner
from chatstream_cli.messages import AIMessageChunk
from chatstream_cli.render.plain import PlainRenderer
from chatstream_cli.render.spinner import SpinnerRenderer

spinner = make_spinner("builtin:slow", quiet=False)  # None unless stderr is a terminal
renderer = SpinnerRenderer(PlainRenderer(sys.stdout.buffer), spinner) if spinner else PlainRenderer(sys.stdout.buffer)
renderer.start()
time.sleep(0.6)
if spinner:
    spinner.notice("rate limited (429); retrying in 1 s (attempt 2 of 3)")
time.sleep(0.4)
renderer.chunk(AIMessageChunk(content=""))  # no text yet: the spinner goes on
renderer.chunk(AIMessageChunk(content="First words"))
renderer.finish(AIMessageChunk(content="First words"))
"""


def test_the_spinner_shows_the_model_the_seconds_and_notices_then_makes_way() -> None:
    output, status = run_on_terminal([sys.executable, "-c", SPINNER_SCRIPT])
    assert status == 0
    before_text, _, _ = output.partition(b"First words")
    assert re.search(rb"builtin:slow \xc2\xb7 0\.\d s", before_text)
    assert b"retrying in 1 s (attempt 2 of 3)" in before_text
    assert before_text.endswith(b"\r\x1b[2K")  # its line is cleared before the reply
    assert Terminal(24, 80).feed(output).lines == ["First words"]


def test_no_spinner_when_stderr_is_not_a_terminal() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SPINNER_SCRIPT], capture_output=True, cwd=REPO, env=cli_env(), timeout=TIMEOUT
    )
    assert result.returncode == 0
    assert result.stderr == b""
    assert result.stdout == b"First words\n"
