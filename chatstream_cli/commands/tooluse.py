"""A prompt with tools: the toolbox its flags name, the approvals, and the chain of replies shown and
recorded as one exchange.

On stdout each reply goes as without tools (text, event lines, or, for ``--json``, one object for the
whole chain at the end); the tool activity is one line per call and one per result on stderr (dim on a
terminal, not with ``-q``), or ``on_tool_*`` event lines with ``--events``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from ..driver import run_reply
from ..errors import UsageError
from ..messages import AIMessageChunk, BaseMessage
from ..render.choose import make_spinner, stdout_is_terminal, with_progress
from ..render.stats import ReplyClock, stop_reason_of, usage_of
from ..runs import uuid7
from ..tools import DEFAULT_CHAIN_LIMIT, DEFAULT_RESULT_LIMIT, Tool, Toolbox
from ..tools.loop import Chain
from ..tools.runner import ToolResult, ToolRunner
from ..usage import Report
from .conversation import Sent, Thread, Transcript, record_exchange
from .endnotes import tell_endnotes

if TYPE_CHECKING:
    from ..providers import ResolvedModel
    from ..render import Renderer
    from ..runnable import ChatModel


class Request(Protocol):
    """What this module reads of commands.prompt's PromptRequest (which imports this module when a prompt
    has tools, so this one cannot import it back)."""

    functions: tuple[str, ...]
    tools: tuple[str, ...]
    mcp: tuple[str, ...]
    chain_limit: int | None
    approve: bool
    yes: bool
    quiet: bool
    events: bool
    json_output: bool
    extract: str | None
    stats: bool
    options: dict[str, Any]
    role: str | None

    @property
    def mode(self) -> Any: ...


_DIM, _RESET = "\x1b[2m", "\x1b[0m"
_SHOWN_ARGS = 200  # characters of a call's arguments on its line
_SHOWN_RESULT = 100  # characters of a result's first line


def prepared_toolbox(request: Request, config: Any) -> Toolbox:
    """The tools the request names (``--functions``, ``-T``, ``--mcp``), checked: an approval that would be
    needed with no terminal to ask on is exit 2 now, before anything is sent (or any server started)."""
    from ..tools.builtins import builtin_tools
    from ..tools.functions import load_functions

    toolbox = Toolbox()
    for number, source in enumerate(request.functions):
        toolbox.add(load_functions(source, number))
    toolbox.add(builtin_tools(request.tools))
    _check_asking(request, toolbox)
    if request.mcp:
        from ..config import data_dir
        from ..tools.mcp import McpServers, check_installed, mcp_tools

        check_installed()
        servers = McpServers(config.mcp, data_dir())
        toolbox.closers.append(servers.close)
        try:
            toolbox.add(mcp_tools(request.mcp, servers))
        except BaseException:
            toolbox.close()
            raise
    return toolbox


def tool_listing(toolbox: Toolbox | None) -> str:
    """``/tools``: each tool, where it comes from, the first line of what it does."""
    if not toolbox:
        return "no tools: start chat with --functions FILE, -T NAME or --mcp NAME"
    from ..render.safe import neutralise

    width = max(len(name) for name in toolbox.tools)
    lines = []
    for tool in toolbox.tools.values():
        about = tool.spec.description.strip().splitlines()[0] if tool.spec.description.strip() else ""
        lines.append(f"{tool.name:<{width}}  {tool.source}  {neutralise(about)}".rstrip())
    return "\n".join(lines)


def _check_asking(request: Request, toolbox: Toolbox) -> None:
    if (request.approve or toolbox.asks) and not request.yes and not can_ask():
        asking = "--approve" if request.approve else "the shell tool"
        raise UsageError(
            f"{asking} asks before each tool call, and there is no terminal to ask on",
            "pass --yes to run the model's tool calls without asking",
        )


def can_ask() -> bool:
    """Whether a person can be asked: stderr is a terminal and the terminal can be read."""
    if not sys.stderr.isatty():
        return False
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return False


class TerminalApprover:
    """Asks on the terminal before a call: ``[y]es / [n]o / [a]lways this tool`` (the shell: ``[e]dit``)."""

    def __init__(self, ask_every_call: bool) -> None:
        self.ask_every_call = ask_every_call
        self.always: set[str] = set()

    def __call__(self, tool: Tool, args: dict[str, Any]) -> dict[str, Any] | None:
        if tool.name in self.always or not (self.ask_every_call or tool.always_ask):
            return args
        from ..render.safe import neutralise

        shown = args.get("command") if tool.always_ask and "command" in args else _args_text(args)
        choices = "[y]es / [n]o / [e]dit" if tool.always_ask else "[y]es / [n]o / [a]lways this tool"
        while True:
            answer = _ask(f"chatstream: run {tool.name} {neutralise(str(shown))}? {choices} ").strip().lower()
            if answer in ("y", "yes"):
                return args
            if answer in ("n", "no", ""):
                return None
            if answer in ("a", "always") and not tool.always_ask:
                self.always.add(tool.name)
                return args
            if answer in ("e", "edit") and tool.always_ask:
                edited = _ask("command: ").strip()
                return {**args, "command": edited} if edited else None


def _ask(question: str) -> str:
    """One line typed on the terminal (not stdin, which may be the prompt)."""
    with open("/dev/tty", "wb", buffering=0) as out, open("/dev/tty", "rb", buffering=0) as typed:
        out.write(question.encode("utf-8", "replace"))
        line = b""
        while not line.endswith(b"\n") and (byte := typed.read(1)):
            line += byte
        return line.decode("utf-8", "replace")


class ToolLines:
    """The calls and their results on stderr, one line each: dim on a terminal, nothing with -q."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.terminal = sys.stderr.isatty()
        #: The ids of the calls already shown as they streamed (render/toolcalls.py).
        self.streamed: set[str] = set()

    def tool_start(self, call: dict[str, Any], tool: Tool | None) -> None:
        if call.get("id") not in self.streamed:
            self._line(f"tool {call.get('name')} {_args_text(call.get('args'))}")

    def tool_end(self, result: ToolResult, error: BaseException | None) -> None:
        size = len(result.content.encode("utf-8", "replace"))
        first = result.content.strip().splitlines()[0] if result.content.strip() else ""
        if len(first) > _SHOWN_RESULT:
            first = first[:_SHOWN_RESULT] + "…"
        outcome = "failed: " if result.is_error else "-> "
        cut = f", cut from {result.cut_from} B" if result.cut_from else ""
        self._line(f"tool {result.name} {outcome}{first} ({size} B{cut}, {_duration(result.seconds)})")

    def _line(self, text: str) -> None:
        if self.quiet:
            return
        from ..render.safe import neutralise

        line = f"chatstream: {neutralise(text)}"
        print(f"{_DIM}{line}{_RESET}" if self.terminal else line, file=sys.stderr, flush=True)


def _args_text(args: Any) -> str:
    text = json.dumps(args, ensure_ascii=False) if not isinstance(args, str) else args
    return text if len(text) <= _SHOWN_ARGS else text[:_SHOWN_ARGS] + "…"


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def answer_chain(
    request: Request,
    resolved: ResolvedModel,
    thread: Thread,
    sent: Sent,
    chat: ChatModel,
    toolbox: Toolbox,
    renderer_for: Callable[[list[BaseMessage], str, ReplyClock], Renderer],
) -> AIMessageChunk:
    """Run the chain: each reply shown as it streams (``renderer_for`` makes what shows one), each call run
    and shown, all recorded as one exchange."""
    lines = ToolLines(request.quiet)
    events = EventLines(request.quiet) if request.events else None
    echo_calls = (
        lines.terminal and not request.quiet and not (request.events or request.extract) and stdout_is_terminal()
    )
    # --yes answers --approve's questions, and the shell's only where there is nobody to ask: on a terminal
    # the shell always asks first.
    approver = None if request.yes and not can_ask() else TerminalApprover(request.approve and not request.yes)
    runner = ToolRunner(toolbox, approver, limit=DEFAULT_RESULT_LIMIT, watcher=events or lines, stdout_to_stderr=True)
    chain = Chain(list(sent.messages))
    steps = ChainJson(request, resolved, sent, thread.cid) if request.json_output else None
    transcript = Transcript(_Nothing())
    replying = False  # whether a failure came during a reply (its partial text is the transcript's)

    def reply_once(messages: list[BaseMessage]) -> AIMessageChunk:
        nonlocal transcript, replying
        clock, run_id = ReplyClock(), uuid7() if chain.steps else sent.run_id
        if steps is not None:
            renderer: Any = steps.step_recorder(run_id, clock)
        elif echo_calls:
            from ..render.toolcalls import ToolCallEcho

            renderer = ToolCallEcho(lambda: renderer_for(messages, run_id, clock), sys.stderr, lines.streamed)
        else:
            renderer = renderer_for(messages, run_id, clock)
        spinner = make_spinner(resolved.full_name, request.quiet)
        transcript = Transcript(with_progress(renderer, spinner, request.stats, resolved.model, clock), clock)
        replying = True
        reply = run_reply(chat, messages, transcript, request.mode, run_id=run_id)
        replying = False
        return reply

    limit = DEFAULT_CHAIN_LIMIT if request.chain_limit is None else request.chain_limit
    try:
        chain.run(reply_once, runner, limit)
    except BaseException as exc:
        if steps is not None:
            steps.write(chain, exc)
        _record_chain(thread, sent, chain, transcript, exc, replying)
        raise
    if steps is not None:
        steps.write(chain, None)
    reply = _record_chain(thread, sent, chain, transcript, None, False)
    tell_endnotes(reply, chat.settings.max_tokens, chain_limit=limit if chain.stopped_at_limit else None)
    return reply


def _record_chain(
    thread: Thread,
    sent: Sent,
    chain: Chain,
    transcript: Transcript,
    error: BaseException | None,
    replying: bool,
) -> AIMessageChunk:
    """One exchange for the whole chain: the messages its last request sent (calls and results included),
    the last reply's text (what arrived of it, when it was cut), the usage of every reply added up."""
    replies = [step.reply for step in chain.steps]
    if replying or not replies:
        replies.append(transcript.arrived())
    last = replies[-1]
    summed = chain_usage(replies)
    model = last.report.model if last.report else None
    whole = replace(last, report=Report(usage=summed, stop_reason=stop_reason_of(last), model=model))  # type: ignore[arg-type]
    record_exchange(thread, replace(sent, messages=list(chain.messages)), transcript, None if error else whole, error)
    return whole


def chain_usage(replies: list[AIMessageChunk]) -> dict[str, Any]:
    """Input, output and total tokens of every reply added up (None where none reported them)."""
    summed: dict[str, Any] = {}
    for reply in replies:
        for key, value in usage_of(reply).items():
            if value is not None:
                summed[key] = (summed.get(key) or 0) + value
            else:
                summed.setdefault(key, None)
    return summed or {"input_tokens": None, "output_tokens": None, "total_tokens": None}


class _Nothing:
    """The renderer of a transcript before any reply started."""

    def start(self) -> None: ...

    def chunk(self, chunk: AIMessageChunk) -> None: ...

    def finish(self, reply: AIMessageChunk) -> None: ...

    def abort(self, error: BaseException) -> None: ...


class ChainJson:
    """``--json`` for a chain: one object at the end, the last reply's fields with every reply's text and
    the usage added up, and ``steps``: each reply's text, calls, results, usage and timing."""

    def __init__(self, request: Request, resolved: ResolvedModel, sent: Sent, cid: str | None) -> None:
        self.cid = cid
        self.model = resolved.model
        self.provider = resolved.provider.name
        self.asked = {**sent.prompt.record(), "options": request.options, "role": request.role}
        self.recorders: list[Any] = []

    def step_recorder(self, run_id: str, clock: ReplyClock) -> Any:
        from ..render.json import ReplyRecorder

        recorder = ReplyRecorder(model=self.model, provider=self.provider, run_id=run_id, clock=clock)
        self.recorders.append(_RecordingRenderer(recorder))
        return self.recorders[-1]

    def write(self, chain: Chain, error: BaseException | None) -> None:
        from ..render.json import chain_record, json_line

        records = [renderer.record for renderer in self.recorders if renderer.record is not None]
        if not records or isinstance(error, BrokenPipeError):
            return
        whole = chain_record(records, chain.steps)
        whole["cid"] = self.cid
        whole.update(self.asked)
        sys.stdout.buffer.write(json_line(whole))
        sys.stdout.buffer.flush()


class _RecordingRenderer:
    """One reply of a --json chain: collected, its object kept for the chain's."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.record: dict[str, Any] | None = None

    def start(self) -> None:
        self.recorder.clock.start()

    def chunk(self, chunk: AIMessageChunk) -> None:
        self.recorder.chunk(chunk)

    def finish(self, reply: AIMessageChunk) -> None:
        self.record = self.recorder.finished(reply)

    def abort(self, error: BaseException) -> None:
        self.record = self.recorder.partial(error)


class EventLines:
    """``--events``: each tool run as LangChain's tool events, on stdout between the model's."""

    def __init__(self, quiet: bool) -> None:
        self.lines = ToolLines(quiet)
        self.runs: dict[str, Any] = {}

    def tool_start(self, call: dict[str, Any], tool: Tool | None) -> None:
        from ..events import ToolEventRun

        self.lines.tool_start(call, tool)
        run = ToolEventRun(call)
        self.runs[call.get("id") or ""] = run
        self._write(run.start_line())

    def tool_end(self, result: ToolResult, error: BaseException | None) -> None:
        self.lines.tool_end(result, error)
        run = self.runs.pop(result.call_id, None)
        if run is None:
            return
        self._write(run.error_line(error) if error is not None else run.end_line(result.message()))

    def _write(self, line: str) -> None:
        sys.stdout.buffer.write((line + "\n").encode())
        sys.stdout.buffer.flush()
