"""Which renderer stdout gets: event lines, plain bytes on a pipe, or Rich on a terminal."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from . import Renderer

if TYPE_CHECKING:
    from ..events import EventRun
    from ..schema.check import ReplyCheck
    from .spinner import Spinner
    from .stats import ReplyClock


def stdout_is_terminal() -> bool:
    """Whether stdout gets the terminal view: a TTY that is not TERM=dumb, or FORCE_COLOR."""
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def choose_renderer(delimiter: str | None, markdown: bool, events: EventRun | None = None) -> Renderer:
    """The renderer for stdout: event lines for --events, plain bytes when piped, Rich on a terminal."""
    if events is not None:
        from .jsonl import JsonlRenderer

        return JsonlRenderer(sys.stdout.buffer, events)
    from .safe import neutralise

    clean = neutralise if stdout_is_terminal() or sys.stdout.isatty() else None  # TERM=dumb is a terminal too
    if delimiter is not None:
        from .delimiter import DelimiterRenderer

        return DelimiterRenderer(sys.stdout.buffer, delimiter, clean=clean)
    if not stdout_is_terminal():
        from .plain import PlainRenderer

        return PlainRenderer(sys.stdout.buffer, clean=clean)
    from .terminal import TerminalRenderer, terminal_console

    console = terminal_console()
    if markdown and os.environ.get("TERM") != "dumb":  # a dumb terminal cannot redraw in place
        from .live import LiveMarkdownRenderer

        return LiveMarkdownRenderer(console, live=sys.stdout.isatty())
    return TerminalRenderer(console)


def with_progress(
    renderer: Renderer, spinner: Spinner | None, stats: bool, model: str, clock: ReplyClock | None = None
) -> Renderer:
    """The spinner and the --stats line wrap whatever renderer stdout got."""
    if spinner is not None:
        from .spinner import SpinnerRenderer

        renderer = SpinnerRenderer(renderer, spinner)
    if stats:
        from .stats import StatsRenderer

        renderer = StatsRenderer(renderer, model, clock=clock)
    return renderer


def make_spinner(label: str, quiet: bool) -> Spinner | None:
    """A spinner for the wait before the first token, when stderr is a terminal and not --quiet."""
    from .spinner import Spinner, stderr_is_terminal

    return Spinner(label) if not quiet and stderr_is_terminal() else None


def json_renderer(
    model: str,
    provider: str,
    run_id: str,
    asked: dict[str, Any] | None = None,
    clock: ReplyClock | None = None,
    cid: str | None = None,
    check: ReplyCheck | None = None,
) -> Renderer:
    """The ``--json`` writer: one object on stdout when the reply is complete (``asked``: what was asked)."""
    from .json import JsonRenderer

    return JsonRenderer(
        sys.stdout.buffer,
        model=model,
        provider=provider,
        run_id=run_id,
        asked=asked,
        clock=clock,
        cid=cid,
        check=check,
    )


def document_renderer(check: ReplyCheck, pretty: bool) -> Renderer:
    """``--schema``: the JSON as it forms on a terminal, exactly the document on a pipe."""
    if not stdout_is_terminal():
        from .document import DocumentRenderer
        from .safe import neutralise

        clean = neutralise if sys.stdout.isatty() else None  # TERM=dumb is a terminal too
        return DocumentRenderer(sys.stdout.buffer, check, pretty=pretty, clean=clean)
    from .live_json import LiveJsonRenderer
    from .terminal import terminal_console

    return LiveJsonRenderer(terminal_console(), unwrap=check.schema.multi)
