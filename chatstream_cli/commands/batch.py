"""``chatstream batch FILE|-``, and ``batch status | results ID | cancel ID`` for the providers' batch services.

``batch`` is a group whose default subcommand is ``run``: ``chatstream batch prompts.txt`` means
``chatstream batch run prompts.txt`` (a prompts file called ``status`` is ``./status``). The prompt options
(-m, -s, -t, --max-tokens, -o, --thinking, --timeout, --retries) are the defaults of every line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from .groups import DefaultCommandGroup
from .options import (
    BaseUrl,
    Debug,
    MaxTokens,
    Model,
    Option,
    PromptCommand,
    Quiet,
    Retries,
    Stats,
    System,
    Temperature,
    Thinking,
    Timeout,
    parse_options,
)
from .prompt import PromptRequest, check_settings, model_settings
from .reporting import notice, reporting

if TYPE_CHECKING:
    from ..batch.input import BatchItem
    from ..batch.job import BatchInput
    from ..batch.runner import BatchCounts, ModelFor
    from ..providers import ResolvedModel
    from ..render.progress import BatchProgress
    from ..runnable import ChatModel


class BatchGroup(DefaultCommandGroup):
    default_command = "run"


app = typer.Typer(
    cls=BatchGroup,
    name="batch",
    help="Run a file of prompts concurrently (or by a provider's batch service); results as JSON lines.\n\n"
    "Usage: chatstream batch [OPTIONS] FILE   (the same as: chatstream batch run [OPTIONS] FILE)",
    rich_markup_mode=None,
)

Source = Annotated[
    str, typer.Argument(metavar="FILE", help="One prompt per line, or JSON lines with prompt, id, ...; '-' = stdin.")
]
Concurrency = Annotated[int | None, typer.Option("--concurrency", "-j", min=1, help="Prompts at once (default 4).")]
Out = Annotated[Path | None, typer.Option("--out", help="Write the results to FILE instead of stdout.")]
Resume = Annotated[bool, typer.Option("--resume", help="Skip the prompts whose results --out FILE holds.")]
RetryFailed = Annotated[bool, typer.Option("--retry-failed", help="Run the failures recorded in --out FILE again.")]
ProviderBatch = Annotated[
    bool, typer.Option("--provider-batch", help="Hand the job to Anthropic's or OpenAI's batch service.")
]


@app.command(name="run", cls=PromptCommand, context_settings={"allow_interspersed_args": True})
def run_command(
    source: Source,
    model: Model = None,
    system: System = None,
    temperature: Temperature = None,
    max_tokens: MaxTokens = None,
    option: Option = None,
    thinking: Thinking = False,
    concurrency: Concurrency = None,
    out: Out = None,
    resume: Resume = False,
    retry_failed: RetryFailed = False,
    provider_batch: ProviderBatch = False,
    stats: Stats = False,
    timeout: Timeout = None,
    retries: Retries = None,
    base_url: BaseUrl = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Run every prompt of FILE; one JSON line per prompt, in input order (the default command)."""
    from ..batch.job import BatchInput

    defaults = PromptRequest(
        model=model,
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
        options=parse_options(option or []),
        thinking=thinking,
        stats=stats,
        timeout=timeout,
        retries=retries,
        base_url=base_url,
        quiet=quiet,
        debug=debug,
    )
    where = BatchInput(None if source == "-" else Path(source), out, resume=resume, retry_failed=retry_failed)
    with reporting(debug):
        code = run_batch_job(defaults, where, concurrency, provider_batch)
    raise typer.Exit(int(code))


def run_batch_job(defaults: PromptRequest, where: BatchInput, concurrency: int | None, provider_batch: bool) -> int:
    """Check, read, run and write the batch; its exit code."""
    from ..batch.job import check_input, earlier_results, prompts, run_local
    from ..batch.runner import DEFAULT_CONCURRENCY, BatchCounts
    from ..config import active_config

    check_input(where)
    config = active_config()
    resolved = _resolve(defaults.model, config)
    if resolved.notice:
        notice(resolved.notice, defaults.quiet)
    settings = model_settings(defaults, config, lambda text: notice(text, defaults.quiet))
    if defaults.debug:
        from ..retry import show_http_trace

        show_http_trace()
    counts = BatchCounts()
    items = prompts(where, sys.stdin.buffer, earlier_results(where), counts)
    if provider_batch:
        from .batch_services import submit_provider_batch

        return submit_provider_batch(items, resolved, settings, defaults, where)
    model_for = _model_chooser(resolved, replace(settings, retries=0), config)
    progress = _progress(f"batch {resolved.full_name}", defaults.quiet)
    with (
        _output(where.out, append=where.resume or where.retry_failed) as out,
        _showing(progress, counts) as update,
        _interrupt_note(where, counts),
    ):
        code = run_local(
            items,
            model_for,
            out,
            counts,
            concurrency=concurrency or DEFAULT_CONCURRENCY,
            retries=settings.retries,
            system=defaults.system,
            on_change=update,
            on_notice=progress.notice if progress else lambda text: notice(text, defaults.quiet),
        )
    if defaults.stats:
        from ..render.progress import totals_line

        print(totals_line(counts), file=sys.stderr)
    return code


def _resolve(name: str | None, config: Any) -> ResolvedModel:
    from ..providers import resolve

    return resolve(name, aliases=config.aliases, default_model=config.default_model)


def _model_chooser(default: ResolvedModel, settings: Any, config: Any) -> ModelFor:
    """The model of each line: its ``model`` and settings over the defaults, each distinct one built once."""
    from ..providers import build

    # The default model is built now, so that a missing key fails the batch at once (exit 3).
    built: dict[tuple[Any, ...], ChatModel] = {(None, None, None, "{}"): build(default, settings)}

    def model_for(item: BatchItem) -> ChatModel:
        key = (item.model, item.max_tokens, item.temperature, json.dumps(item.options, sort_keys=True))
        model = built.get(key)
        if model is None:
            resolved = _resolve(item.model, config) if item.model else default
            temperature = item.temperature if item.temperature is not None else settings.temperature
            check_settings(resolved, temperature)
            line_settings = replace(
                settings,
                temperature=temperature,
                max_tokens=item.max_tokens or settings.max_tokens,
                options={**settings.options, **item.options},
            )
            model = built[key] = build(resolved, line_settings)
        return model

    return model_for


@contextmanager
def _output(path: Path | None, *, append: bool) -> Iterator[BinaryIO]:
    if path is None:
        yield sys.stdout.buffer
        return
    with path.open("ab" if append else "wb") as out:
        yield out


def _progress(label: str, quiet: bool) -> BatchProgress | None:
    from ..render.spinner import stderr_is_terminal

    if quiet or not stderr_is_terminal():
        return None
    from ..render.progress import BatchProgress

    return BatchProgress(label)


@contextmanager
def _showing(progress: BatchProgress | None, counts: BatchCounts) -> Iterator[Callable[[], None] | None]:
    """The progress bar while the batch runs; stopped (and left on screen) however the batch ends."""
    if progress is None:
        yield None
        return
    progress.start()
    try:
        yield lambda: progress.update(counts)
    finally:
        progress.update(counts)
        progress.stop()


@contextmanager
def _interrupt_note(where: BatchInput, counts: BatchCounts) -> Iterator[None]:
    """After Ctrl-C, say how to finish the job (exit 130 follows)."""
    try:
        yield
    except KeyboardInterrupt:
        written = counts.done + counts.failed
        if where.out is not None:
            hint = f"{written:,} results are in {where.out}; rerun with --resume to finish the batch"
        else:
            hint = f"{written:,} results were written; with --out FILE, --resume finishes a batch"
        print(f"chatstream: interrupted: {hint}", file=sys.stderr)
        raise
