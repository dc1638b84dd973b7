"""``chatstream chat``: an interactive multi-turn session, each reply streamed as a one-shot prompt's is.

It takes the prompt's context flags: ``-f``, ``--sf``, ``-a`` (with the first message), ``--role``,
``-p``, ``-s``, ``-o`` (for the session). Commands add files and attachments to the next message, change
the role, system prompt or model, open an editor, copy a reply and count the tokens (``HELP``). The
turns go through commands/prompt.py's steps, so a reply renders, records and fails exactly as
``chatstream PROMPT`` would, and the history holds what each turn sent (``chatstream -c`` goes on from
it). Ctrl-C during a reply stops that reply, not the session. The input side is chat_input.py.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ChatstreamError, Terminated, UsageError, format_error
from ..prompting.assemble import Prompt, joined_system
from .chat_input import Completions, piped_messages
from .conversation import Thread, logging_wanted, open_thread
from .groups import subcommand_app
from .options import (
    Approve,
    Attach,
    BaseUrl,
    ChainLimit,
    Cid,
    Continue,
    Debug,
    Files,
    Functions,
    Header,
    MarkdownFlag,
    MaxTokens,
    McpServers,
    Model,
    NoLog,
    Option,
    Param,
    PromptCommand,
    Quiet,
    Retries,
    RoleName,
    Stats,
    System,
    SystemFiles,
    Temperature,
    Thinking,
    Timeout,
    Tools,
    Yes,
)
from .prompt import (
    PromptRequest,
    answer,
    check_attachments,
    files_limit,
    read_attachments,
    read_files,
    resolve_model,
    timeout_for,
    with_role,
)
from .reporting import notice, plural, reporting

if TYPE_CHECKING:
    from ..prompting.attachments import Attachment
    from ..prompting.files import ContextFile
    from ..prompting.roles import Role
    from ..prompting.stdin import Stdin

HELP = """/help               this list
/exit               leave (or Ctrl-D)
/new                start a new conversation (the model, role and settings stay)
/model [NAME]       say the model, or talk to another from the next message on
/system [TEXT]      set the system prompt (/system alone clears it)
/role [NAME | -]    say the role, or apply a saved one from the next message on (- drops it)
/file PATH...       add files, directories or globs to the next message, as -f does
/attach PATH|URL... add images or PDFs to the next message, as -a does
/drop               forget the files and attachments not sent yet
/edit [TEXT]        write the message in $VISUAL or $EDITOR (Ctrl-X Ctrl-E: on the line being typed)
/retry              send the last message again for a new reply
/save FILE          write the last reply to FILE
/copy [code]        put the last reply, or its last code block, on the clipboard (OSC 52)
/usage              the tokens this conversation has used so far
/tools              the tools the model may call (--functions, -T, --mcp)
Tab completes commands, paths, role and model names. Alt+Enter starts a new line; a line of \"\"\" starts
and ends a block of several lines."""

_MESSAGES = "chat's messages"  # what reads stdin in a chat: `-f -` cannot as well


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
    file: Files = None,
    system_file: SystemFiles = None,
    attach: Attach = None,
    role: RoleName = None,
    param: Param = None,
    functions: Functions = None,
    tool: Tools = None,
    mcp: McpServers = None,
    chain_limit: ChainLimit = None,
    approve: Approve = False,
    yes: Yes = False,
) -> None:
    """An interactive multi-turn session (Ctrl-C stops a reply; Ctrl-D or /exit leaves).

    -f and -a go with the first message; --role, -s, --sf and -o hold for the session. In it, /help lists
    the commands: /file, /attach, /edit (or Ctrl-X Ctrl-E), /role, /system, /model, /new, /retry, /save,
    /copy, /usage.
    """
    request = PromptRequest.from_flags(locals())
    with reporting(debug):
        session = ChatSession(request)
        try:
            session.greet()
            if sys.stdin.isatty():
                from .chat_input import input_history_path, prompt_session, terminal_messages

                lines = terminal_messages(prompt_session(input_history_path(), session.completions()))
            else:
                lines = piped_messages(sys.stdin)
            for line in lines:
                if not session.handle(line):
                    break
        finally:
            session.close()


class ChatSession:
    """The state between turns: the conversation, the model, the role and settings, the files and
    attachments waiting for the next message; one method per command."""

    def __init__(self, request: PromptRequest) -> None:
        from ..prompting.stdin import Stdin
        from ..providers import active_config

        if request.params and not request.role:
            raise UsageError("-p fills a role's template", "use it with --role NAME")
        self.flags = request
        self.stdin = Stdin(sys.stdin.buffer, is_tty=sys.stdin.isatty())
        self.stdin.taken_by = _MESSAGES
        self.role = _role(request.role)
        self.request = with_role(request, self.role) if self.role else request
        if self.role:
            self.role.fill("", self.request.params)  # an unknown or missing -p: exit 2 now, not at the first message
        self.system_files = [_system_file(path, self.stdin) for path in request.system_files]
        self.system_prompt = self.session_system()
        self.config = active_config()
        timeout = timeout_for(request, self.config)
        self.attachments: list[Attachment] = read_attachments(request.attachments, self.stdin, timeout)
        self.files: list[ContextFile] = read_files(
            request.files, self.stdin, request.quiet, files_limit(self.config), timeout
        )
        self.log = logging_wanted(request.no_log, self.config.log)
        self.thread = open_thread(request.continue_conversation, request.cid, self.log)
        self.resolved = resolve_model(self.request.model or self.thread.model, self.request, self.config)
        # as the prompt command does: refused before the session starts (exit 2)
        check_attachments(self.thread.earlier_attachments() + self.attachments, self.resolved.provider.name)
        self.last_prompt: Prompt | None = None
        if request.debug:
            from ..retry import show_http_trace

            show_http_trace()
        self.toolbox = None
        if request.uses_tools:
            from .tooluse import prepared_toolbox

            self.toolbox = prepared_toolbox(request, self.config)  # for the whole session: MCP servers start once
        self.commands: dict[str, Callable[[str], bool]] = {
            "/help": self.show_help,
            "/exit": self.leave,
            "/quit": self.leave,
            "/new": self.new,
            "/model": self.model,
            "/system": self.system,
            "/role": self.change_role,
            "/file": self.add_files,
            "/attach": self.add_attachments,
            "/drop": self.drop,
            "/edit": self.edit,
            "/retry": self.retry,
            "/save": self.save,
            "/copy": self.copy,
            "/usage": self.usage,
            "/tools": self.show_tools,
        }

    def session_system(self) -> str | None:
        """The system prompt from the flags and the role, with the --sf files after it."""
        return joined_system(self.request.system, self.system_files) if self.system_files else self.request.system

    def completions(self) -> Completions:
        from ..prompting.roles import all_roles
        from ..providers import ALIASES, all_model_names

        return Completions(
            self.commands,
            roles=lambda: [role.name for role in all_roles()],
            models=lambda: sorted({*ALIASES, *self.config.aliases, *all_model_names()}),
        )

    def close(self) -> None:
        if self.toolbox is not None:
            self.toolbox.close()

    def greet(self) -> None:
        turns = len(self.thread.turns)
        resumed = f" · continuing {self.thread.cid[:8]} ({plural(turns, 'turn')})" if turns else ""
        role = f" · role {self.role.name}" if self.role else ""
        waiting = f" · {self.waiting()} go with your first message" if self.waiting() else ""
        leaving = "/help for commands, Ctrl-D or /exit to leave"
        self.tell(f"chat with {self.resolved.full_name}{role}{resumed}{waiting} · {leaving}")

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
                return _error(UsageError(f"unknown command {name}", "see /help"))
            return command(argument.strip())
        self.send(line)
        return True

    def send(self, text: str, retry_of: int | None = None, prompt: Prompt | None = None) -> None:
        """One turn; its failure or a Ctrl-C ends the turn (recorded as such), not the session. The files
        and attachments waiting go with it, however it ends."""
        try:
            prompt = prompt or self.next_prompt(text)
        except ChatstreamError as exc:
            _error(exc)
            return
        self.files, self.attachments, self.last_prompt = [], [], prompt
        try:
            answer(
                self.request, self.config, self.resolved, self.thread, prompt, retry_of=retry_of, toolbox=self.toolbox
            )
        except Terminated:
            raise  # the session ends: SIGTERM or SIGHUP
        except KeyboardInterrupt:
            print("\nchatstream: reply interrupted", file=sys.stderr)
        except ChatstreamError as exc:
            print(format_error(exc), file=sys.stderr)

    def next_prompt(self, text: str) -> Prompt:
        """The message ``text`` makes: through the role's template, with what waits for it."""
        words = self.role.fill(text, self.request.params) if self.role else text
        prompt = Prompt(words, self.system_prompt, list(self.files), list(self.attachments))
        if prompt.attachments:
            try:
                check_attachments(self.thread.earlier_attachments() + prompt.attachments, self.resolved.provider.name)
            except ChatstreamError as exc:
                hint = f"{exc.hint}; " if exc.hint else ""
                raise UsageError(
                    exc.message, f"{hint}/drop forgets the attachments, /model changes the model"
                ) from None
        return prompt

    def waiting(self) -> str:
        """What goes with the next message, e.g. ``2 files (3.1 KB) and 1 attachment``; '' for nothing."""
        parts = []
        if self.files:
            size = sum(file.size for file in self.files)
            parts.append(f"{plural(len(self.files), 'file')} ({_size(size)})")
        if self.attachments:
            parts.append(plural(len(self.attachments), "attachment"))
        return " and ".join(parts)

    def show_help(self, argument: str) -> bool:
        print(HELP, file=sys.stderr)
        return True

    def show_tools(self, argument: str) -> bool:
        from .tooluse import tool_listing

        print(tool_listing(self.toolbox), file=sys.stderr)
        return True

    def leave(self, argument: str) -> bool:
        return False

    def new(self, argument: str) -> bool:
        from .. import history

        self.thread = Thread(cid=history.new_cid() if self.log else None, log=self.log)
        self.last_prompt = None
        self.tell("a new conversation")
        return True

    def model(self, argument: str) -> bool:
        if not argument:
            self.tell(f"the model is {self.resolved.full_name} (/model NAME changes it)")
            return True
        try:
            self.resolved = resolve_model(argument, self.request, self.config)
        except ChatstreamError as exc:
            return _error(exc)
        self.tell(f"the model is now {self.resolved.full_name}")
        return True

    def system(self, argument: str) -> bool:
        self.system_prompt = argument  # "" clears it: a continued conversation's earlier one is not sent either
        self.tell(f"system prompt: {argument}" if argument else "no system prompt")
        return True

    def change_role(self, argument: str) -> bool:
        """``/role NAME`` applies a role as ``--role NAME`` would have (the command line's flags still win);
        ``/role -`` drops it; the model, system prompt and settings follow."""
        if not argument:
            self.tell(f"the role is {self.role.name}" if self.role else "no role (/role NAME applies one)")
            return True
        try:
            role = None if argument == "-" else _role(argument)
            request = replace(self.flags, role=role.name if role else None)
            request = with_role(request, role) if role else request
            if role is None and request.params:
                request = replace(request, params={})
            if role is not None:
                role.fill("", request.params)
            resolved = resolve_model(request.model or self.thread.model, request, self.config)
        except ChatstreamError as exc:
            return _error(exc)
        self.role, self.request, self.resolved = role, request, resolved
        self.system_prompt = self.session_system()
        what = f"role {role.name}" if role else "no role"
        self.tell(f"{what} from the next message on · {resolved.full_name}")
        return True

    def timeout(self) -> float | None:
        return timeout_for(self.request, self.config)

    def add_files(self, argument: str) -> bool:
        return self.add(
            argument,
            "/file",
            lambda specs: self.files.extend(
                read_files(specs, self.stdin, self.request.quiet, files_limit(self.config), self.timeout())
            ),
        )

    def add_attachments(self, argument: str) -> bool:
        timeout = self.timeout()
        return self.add(
            argument, "/attach", lambda specs: self.attachments.extend(read_attachments(specs, self.stdin, timeout))
        )

    def add(self, argument: str, command: str, read: Callable[[list[str]], None]) -> bool:
        """Read what ``/file`` or ``/attach`` names; say what now waits for the next message."""
        try:
            specs = shlex.split(argument)
        except ValueError as exc:
            return _error(UsageError(f"{command}: {exc}", "quote a path with spaces as 'my file.txt'"))
        if specs:
            try:
                read([os.path.expanduser(spec) for spec in specs])
            except ChatstreamError as exc:
                return _error(exc)
        waiting = self.waiting()
        self.tell(
            f"{waiting} go with your next message"
            if waiting
            else f"nothing waits for the next message ({command} PATH...)"
        )
        return True

    def drop(self, argument: str) -> bool:
        self.files, self.attachments = [], []
        self.tell("nothing waits for the next message")
        return True

    def edit(self, argument: str) -> bool:
        from .chat_input import edit_text

        if not sys.stdin.isatty():
            return _error(UsageError("/edit needs a terminal", "pipe the whole message in instead"))
        try:
            text = edit_text(argument)
        except ChatstreamError as exc:
            return _error(exc)
        if text is None:
            self.tell("nothing sent: the editor left the message empty")
        else:
            self.send(text)
        return True

    def retry(self, argument: str) -> bool:
        if not self.thread.turns:
            return _error(UsageError("nothing to retry yet", "send a message first"))
        last = self.thread.turns.pop()
        # The prompt as this session sent it (its files and attachments too); else the words the history
        # kept, already through any template.
        sent = self.last_prompt
        if sent is None or sent.words() != last.prompt:
            sent = Prompt(last.prompt, self.system_prompt)
        self.send(last.prompt, retry_of=last.id, prompt=sent)
        return True

    def save(self, argument: str) -> bool:
        if not argument:
            return _error(UsageError("/save needs a FILE", "e.g. /save reply.md"))
        if not self.thread.turns:
            return _error(UsageError("nothing to save yet", "/save FILE after a reply"))
        target = Path(argument).expanduser()
        try:
            target.write_text(self.thread.turns[-1].reply, encoding="utf-8")
        except OSError as exc:
            return _error(UsageError(f"cannot write {target}: {exc.strerror}", "choose another file"))
        self.tell(f"saved the last reply to {target}")
        return True

    def copy(self, argument: str) -> bool:
        """The last reply (``/copy code``: its last code block) onto the clipboard, through the terminal."""
        from ..render.clipboard import doubt, osc52

        if argument not in ("", "code"):
            return _error(UsageError(f"/copy {argument}: unknown", "/copy copies the last reply, /copy code its code"))
        if not self.thread.turns:
            return _error(UsageError("nothing to copy yet", "/copy after a reply"))
        text: str | None = self.thread.turns[-1].reply
        if argument == "code":
            from ..prompting.extract import extract_code

            text = extract_code(text or "", last=True)
            if text is None:
                return _error(UsageError("the last reply has no code block", "/copy copies the whole reply"))
        terminal = next((stream for stream in (sys.stdout, sys.stderr) if stream.isatty()), None)
        if terminal is None:
            return _error(UsageError("no terminal to copy through", "/copy sends the text to the terminal as OSC 52"))
        terminal.buffer.write(osc52(text or ""))
        terminal.flush()
        what = "its last code block" if argument else "the last reply"
        caveat = doubt(os.environ)
        said = f"copied {what} ({len(text or ''):,} characters) to the clipboard"
        self.tell(f"{said} through OSC 52; {caveat}" if caveat else said)
        return True

    def usage(self, argument: str) -> bool:
        """The tokens of the conversation so far: each turn's input counts the earlier turns it re-sent."""
        turns = self.thread.turns
        counted = [turn for turn in turns if turn.input_tokens is not None or turn.output_tokens is not None]
        sent = sum(turn.input_tokens or 0 for turn in counted)
        received = sum(turn.output_tokens or 0 for turn in counted)
        line = f"this conversation: {plural(len(turns), 'turn')} · {sent:,} in · {received:,} out"
        line += f" · {sent + received:,} tokens"
        if len(counted) < len(turns):
            line += f" ({plural(len(turns) - len(counted), 'turn')} without figures)"
        print(f"chatstream: {line}", file=sys.stderr)
        return True


def _role(name: str | None) -> Role | None:
    if not name:
        return None
    from ..prompting.roles import find_role

    return find_role(name)


def _system_file(path: str, stdin: Stdin) -> str:
    from ..prompting.files import system_file_text

    return system_file_text(path, stdin)


def _error(exc: ChatstreamError) -> bool:
    """A command's failure: one line on stderr, and the session goes on."""
    print(format_error(exc), file=sys.stderr)
    return True


def _size(size: int) -> str:
    if size < 1024:
        return plural(size, "byte")
    return f"{size / 1024:,.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MB"


app = subcommand_app("chat", chat_command, cls=PromptCommand)
