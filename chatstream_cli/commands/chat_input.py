"""What ``chat`` reads: prompt_toolkit's line editor on a terminal (an input history kept between sessions,
Alt+Enter or a ``\"\"\"`` block for several lines, Tab completion, Ctrl-X Ctrl-E for $VISUAL/$EDITOR),
or one message per line from a stdin that is not a terminal."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from ..errors import Terminated, UsageError, format_error

BLOCK = '"""'
#: Editors tried, in order, when neither VISUAL nor EDITOR is set (Debian's `editor` is the system's choice).
FALLBACK_EDITORS = ("editor", "nano", "vi")
#: The commands whose argument is a path, a role name or a model name: what Tab completes after them.
PATH_COMMANDS = frozenset({"/file", "/attach", "/save"})


def piped_messages(stream: TextIO) -> Iterator[str]:
    """With stdin not a terminal: one message per line."""
    for line in stream:
        yield line.rstrip("\n")


def input_history_path() -> Path:
    """The file of past inputs (up arrow), beside the history, private like it."""
    from .. import history

    return history.path().with_name("chat-input-history")


def terminal_messages(session: Any) -> Iterator[str]:
    """Inputs read by prompt_toolkit; Ctrl-C clears the line, Ctrl-D ends."""
    while True:
        try:
            line = session.prompt("> ")
        except Terminated:
            raise  # SIGTERM or SIGHUP: the session ends
        except KeyboardInterrupt:
            continue
        except EOFError:
            return
        if line.strip() == BLOCK:
            line = read_block(session)
        yield line


def read_block(session: Any) -> str:
    """The lines after a ``\"\"\"`` line, up to the next one."""
    lines: list[str] = []
    while True:
        try:
            line = session.prompt(". ")
        except Terminated:
            raise
        except (KeyboardInterrupt, EOFError):
            return ""
        if line.strip() == BLOCK:
            return "\n".join(lines)
        lines.append(line)


def prompt_session(history_file: Path, completions: Completions) -> Any:
    """The line editor: Alt+Enter a new line, Ctrl-X Ctrl-E the editor on what is typed, Tab completion."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.application import run_in_terminal
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings

    from ..history.store import create_private

    try:
        create_private(history_file)
        history: Any = FileHistory(str(history_file))
    except OSError:
        from prompt_toolkit.history import InMemoryHistory

        history = InMemoryHistory()
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _new_line(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    @bindings.add("c-x", "c-e")
    def _edit(event: Any) -> None:
        buffer = event.current_buffer

        async def edit_and_send() -> None:
            outcome: list[str | None] = []
            await run_in_terminal(lambda: outcome.append(edited_or_told(buffer.text)), in_executor=True)
            if outcome and outcome[0]:
                buffer.text = outcome[0]
                buffer.validate_and_handle()

        event.app.create_background_task(edit_and_send())

    return PromptSession(
        history=history,
        key_bindings=bindings,
        multiline=False,
        enable_open_in_editor=False,
        completer=completer(completions),
        complete_while_typing=False,
    )


def edited_or_told(text: str) -> str | None:
    """``edit_text``, with its failure said on stderr instead of raised (a key binding cannot raise)."""
    try:
        return edit_text(text)
    except UsageError as exc:
        print(format_error(exc), file=sys.stderr)
        return None


def editor_command(env: Mapping[str, str] = os.environ) -> list[str]:
    """$VISUAL, else $EDITOR (split as a shell would), else the first of FALLBACK_EDITORS installed."""
    for name in ("VISUAL", "EDITOR"):
        if env.get(name, "").strip():
            return shlex.split(env[name])
    for name in FALLBACK_EDITORS:
        found = shutil.which(name)
        if found:
            return [found]
    raise UsageError("no editor to open", "set VISUAL or EDITOR, e.g. export EDITOR=nano")


def edit_text(text: str) -> str | None:
    """``text`` as the user left it in their editor (a private temporary .md file); None when they left
    it empty. A UsageError when the editor cannot run or fails."""
    command = editor_command()
    handle, name = tempfile.mkstemp(prefix="chatstream-", suffix=".md")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as draft:
            draft.write(text)
        try:
            status = subprocess.run([*command, name], check=False).returncode
        except OSError as exc:
            raise UsageError(f"cannot run the editor {command[0]}: {exc.strerror}", "check VISUAL or EDITOR") from None
        if status != 0:
            raise UsageError(f"the editor {command[0]} exited with status {status}", "nothing was sent")
        edited = Path(name).read_text(encoding="utf-8", errors="replace").rstrip("\n")
    finally:
        os.unlink(name)
    return edited if edited.strip() else None


class Completions:
    """What Tab offers: the commands, paths after /file, /attach and /save, role and model names."""

    def __init__(
        self, commands: Iterable[str], roles: Callable[[], list[str]], models: Callable[[], list[str]]
    ) -> None:
        self.commands = sorted(commands)
        self.names = {"/role": roles, "/model": models}

    def words(self, line: str) -> tuple[str, list[str]] | None:
        """The word being completed and the choices for it; None: complete a path (or nothing)."""
        if " " not in line:
            return (
                (line, [name for name in self.commands if name.startswith(line)]) if line.startswith("/") else ("", [])
            )
        command, _, argument = line.partition(" ")
        if command in self.names:
            return argument, [name for name in self.names[command]() if name.startswith(argument)]
        if command in PATH_COMMANDS:
            return None
        return "", []


def completer(completions: Completions) -> Any:
    """A prompt_toolkit completer over ``completions`` (paths by prompt_toolkit's PathCompleter)."""
    from prompt_toolkit.completion import Completer, Completion, PathCompleter
    from prompt_toolkit.document import Document

    paths = PathCompleter(expanduser=True)

    class ChatCompleter(Completer):
        def get_completions(self, document: Any, complete_event: Any) -> Iterator[Any]:
            line = document.text_before_cursor
            found = completions.words(line)
            if found is not None:
                word, choices = found
                for choice in choices:
                    yield Completion(choice, start_position=-len(word))
                return
            last = line.rsplit(" ", 1)[1]  # the path being typed: the last word (several may be given)
            yield from paths.get_completions(Document(last, len(last)), complete_event)

    return ChatCompleter()
