"""``chatstream chat``: an interactive multi-turn session, each reply streamed as a one-shot prompt's is.

On a terminal, prompt_toolkit reads the input (line editing, an input history kept between sessions,
Alt+Enter or a ``\"\"\"`` block for several lines, pastes kept whole); with stdin not a terminal, each
line is one message. The turns go through commands/prompt.py's steps, so a reply renders, records and
fails exactly as ``chatstream PROMPT`` would. Ctrl-C during a reply stops that reply, not the session.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from ..errors import ChatstreamError, format_error
from ..prompting.assemble import Prompt
from .conversation import Thread, logging_wanted, open_thread
from .groups import subcommand_app
from .options import (
    BaseUrl,
    Cid,
    Continue,
    Debug,
    Header,
    MarkdownFlag,
    MaxTokens,
    Model,
    NoLog,
    Option,
    PromptCommand,
    Quiet,
    Retries,
    Stats,
    System,
    Temperature,
    Thinking,
    Timeout,
)
from .prompt import PromptRequest, answer, resolve_model
from .reporting import notice, reporting

HELP = """/help            this list
/exit            leave (or Ctrl-D)
/new             start a new conversation
/model NAME      talk to another model from the next message on
/system TEXT     set the system prompt (/system alone clears it)
/retry           send the last message again for a new reply
/save FILE       write the last reply to FILE
Alt+Enter starts a new line; a line of \"\"\" starts and ends a block of several lines."""

BLOCK = '"""'


def chat_command(
    model: Model = None,
    system: System = None,
    temperature: Temperature = None,
    max_tokens: MaxTokens = None,
    option: Option = None,
    thinking: Thinking = False,
    markdown: MarkdownFlag = None,
    stats: Stats = False,
    timeout: Timeout = None,
    retries: Retries = None,
    base_url: BaseUrl = None,
    header: Header = None,
    continue_conversation: Continue = False,
    cid: Cid = None,
    no_log: NoLog = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """An interactive multi-turn session (Ctrl-C stops a reply; Ctrl-D or /exit leaves)."""
    request = PromptRequest.from_flags(locals())
    with reporting(debug):
        session = ChatSession(request)
        session.greet()
        lines = terminal_messages(input_history_path()) if sys.stdin.isatty() else piped_messages(sys.stdin)
        for line in lines:
            if not session.handle(line):
                break


class ChatSession:
    """The state between turns: the conversation, the model, the settings; one method per command."""

    def __init__(self, request: PromptRequest) -> None:
        from ..providers import active_config

        self.request = request
        self.config = active_config()
        self.log = logging_wanted(request.no_log, self.config.log)
        self.thread = open_thread(request.continue_conversation, request.cid, self.log)
        self.resolved = resolve_model(request.model or self.thread.model, request, self.config)
        if request.debug:
            from ..retry import show_http_trace

            show_http_trace()
        self.commands: dict[str, Callable[[str], bool]] = {
            "/help": self.show_help,
            "/exit": self.leave,
            "/quit": self.leave,
            "/new": self.new,
            "/model": self.model,
            "/system": self.system,
            "/retry": self.retry,
            "/save": self.save,
        }

    def greet(self) -> None:
        resumed = f" · continuing {self.thread.cid[:8]} ({len(self.thread.turns)} turns)" if self.thread.turns else ""
        self.tell(f"chat with {self.resolved.full_name}{resumed} · /help for commands, Ctrl-D or /exit to leave")

    def tell(self, text: str) -> None:
        notice(text, self.request.quiet)

    def handle(self, line: str) -> bool:
        """Act on one input; False when the session is over."""
        text = line.strip()
        if not text:
            return True
        if text.startswith("/"):
            name, _, argument = text.partition(" ")
            command = self.commands.get(name.lower())
            if command is None:
                print(f"chatstream: error: unknown command {name} (see /help)", file=sys.stderr)
                return True
            return command(argument.strip())
        self.send(line)
        return True

    def send(self, text: str, retry_of: int | None = None) -> None:
        """One turn; its failure or a Ctrl-C ends the turn (recorded as such), not the session."""
        try:
            prompt = Prompt(text, self.request.system)
            answer(self.request, self.config, self.resolved, self.thread, prompt, retry_of=retry_of)
        except KeyboardInterrupt:
            print("\nchatstream: reply interrupted", file=sys.stderr)
        except ChatstreamError as exc:
            print(format_error(exc), file=sys.stderr)

    def show_help(self, argument: str) -> bool:
        print(HELP, file=sys.stderr)
        return True

    def leave(self, argument: str) -> bool:
        return False

    def new(self, argument: str) -> bool:
        from .. import history

        self.thread = Thread(cid=history.new_cid() if self.log else None, log=self.log)
        self.tell("a new conversation")
        return True

    def model(self, argument: str) -> bool:
        if not argument:
            self.tell(f"the model is {self.resolved.full_name} (/model NAME changes it)")
            return True
        try:
            self.resolved = resolve_model(argument, self.request, self.config)
        except ChatstreamError as exc:
            print(format_error(exc), file=sys.stderr)
            return True
        self.tell(f"the model is now {self.resolved.full_name}")
        return True

    def system(self, argument: str) -> bool:
        self.request = replace(self.request, system=argument)
        self.tell(f"system prompt: {argument}" if argument else "no system prompt")
        return True

    def retry(self, argument: str) -> bool:
        if not self.thread.turns:
            print("chatstream: error: nothing to retry yet (send a message first)", file=sys.stderr)
            return True
        last = self.thread.turns.pop()
        self.send(last.prompt, retry_of=last.id)
        return True

    def save(self, argument: str) -> bool:
        if not self.thread.turns or not argument:
            print("chatstream: error: nothing to save (/save FILE after a reply)", file=sys.stderr)
            return True
        target = Path(argument).expanduser()
        try:
            target.write_text(self.thread.turns[-1].reply, encoding="utf-8")
        except OSError as exc:
            print(f"chatstream: error: cannot write {target}: {exc.strerror} (choose another file)", file=sys.stderr)
            return True
        self.tell(f"saved the last reply to {target}")
        return True


def piped_messages(stream: TextIO) -> Iterator[str]:
    """With stdin not a terminal: one message per line."""
    for line in stream:
        yield line.rstrip("\n")


def input_history_path() -> Path:
    """The file of past inputs (up arrow), beside the history, private like it."""
    from .. import history

    return history.path().with_name("chat-input-history")


def terminal_messages(history_file: Path) -> Iterator[str]:
    """Inputs read by prompt_toolkit; Ctrl-C clears the line, Ctrl-D ends."""
    session = prompt_session(history_file)
    while True:
        try:
            line = session.prompt("> ")
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
        except (KeyboardInterrupt, EOFError):
            return ""
        if line.strip() == BLOCK:
            return "\n".join(lines)
        lines.append(line)


def prompt_session(history_file: Path) -> Any:
    from prompt_toolkit import PromptSession
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

    return PromptSession(history=history, key_bindings=bindings, multiline=False, enable_open_in_editor=False)


app = subcommand_app("chat", chat_command, cls=PromptCommand)
