"""``chatstream batch FILE|-``, and ``batch status | results ID | cancel ID`` for the providers' batch services.

``batch`` is a group whose default subcommand is ``run``: ``chatstream batch prompts.txt`` means
``chatstream batch run prompts.txt`` (a prompts file called ``status`` is ``./status``). The prompt options
(-m, -s, -t, --max-tokens, -o, --thinking, --timeout, --retries) are the defaults of every line.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .batch_output import interrupt_note, output, progress_bar, showing
from .groups import DefaultCommandGroup, subcommand_app
from .options import (
    BaseUrl,
    BatchNoLog,
    ChainLimit,
    Debug,
    Functions,
    Header,
    MaxTokens,
    McpServers,
    Model,
    Option,
    PlainHelpCommand,
    PromptCommand,
    Quiet,
    Retries,
    SchemaMulti,
    SchemaOption,
    Stats,
    System,
    Temperature,
    Thinking,
    Timeout,
    Tools,
    Yes,
)
from .prompt import PromptRequest, check_schema_flags, check_settings, model_settings, timeout_for
from .reporting import default_model_notice, notice, reporting
from .served_model import model_named

if TYPE_CHECKING:
    from ..batch.input import BatchItem
    from ..batch.job import BatchInput
    from ..batch.runner import ModelFor
    from ..providers import ResolvedModel
    from ..runnable import ChatModel


class BatchGroup(DefaultCommandGroup):
    default_command = "run"


app = subcommand_app(
    "batch",
    cls=BatchGroup,
    help="Run a file of prompts concurrently (or by a provider's batch service); results as JSON lines.\n\n"
    "Usage: chatstream batch [OPTIONS] FILE   (the same as: chatstream batch run [OPTIONS] FILE)",
)

Source = Annotated[
    str, typer.Argument(metavar="FILE", help="One prompt per line, or JSON lines with prompt, id, ...; '-' = stdin.")
]
Concurrency = Annotated[
    int | None, typer.Option("--concurrency", "-j", min=1, metavar="N", help="Prompts at once (default 4).")
]
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
    header: Header = None,
    quiet: Quiet = False,
    debug: Debug = False,
    schema: SchemaOption = None,
    schema_multi: SchemaMulti = None,
    functions: Functions = None,
    tool: Tools = None,
    mcp: McpServers = None,
    chain_limit: ChainLimit = None,
    yes: Yes = False,
    no_log: BatchNoLog = False,
) -> None:
    """Run every prompt of FILE; one JSON line per prompt, in input order (the default command). With
    tools (--functions, -T, --mcp; --yes is required: nobody is there to ask) each line is a chain."""
    defaults = PromptRequest.from_flags(locals())
    from ..batch.job import BatchInput

    where = BatchInput(None if source == "-" else Path(source), out, resume=resume, retry_failed=retry_failed)
    with reporting(debug):
        code = run_batch_job(defaults, where, concurrency, provider_batch)
    raise typer.Exit(int(code))


def batch_tools(defaults: PromptRequest, provider_batch: bool, config: Any) -> Any:
    """The toolbox of a batch with tools (None without): allowed with --yes only, and not for --provider-batch."""
    if not defaults.uses_tools:
        return None
    from ..errors import UsageError

    if provider_batch:
        raise UsageError("--provider-batch cannot run tools", "run the batch here, without --provider-batch")
    if not defaults.yes:
        raise UsageError("a batch runs the model's tool calls with nobody to ask", "pass --yes to allow them")
    from .tooluse import prepared_toolbox

    return prepared_toolbox(defaults, config)


def run_batch_job(defaults: PromptRequest, where: BatchInput, concurrency: int | None, provider_batch: bool) -> int:
    """Check, read, run and write the batch; its exit code."""
    from ..batch.job import check_input
    from ..providers import active_config

    check_input(where)
    check_schema_flags(defaults)
    config = active_config()
    resolved = model_named(defaults.model, config, timeout_for(defaults, config), defaults.base_url)
    default_model_notice(resolved, defaults.quiet)
    settings = model_settings(defaults, config, lambda text: notice(text, defaults.quiet))
    toolbox = batch_tools(defaults, provider_batch, config)
    try:
        settings, tools = _with_tools(defaults, settings, toolbox)
        return _run_items(defaults, where, concurrency, provider_batch, config, resolved, settings, tools)
    finally:
        if toolbox is not None:
            toolbox.close()


def _with_tools(defaults: PromptRequest, settings: Any, toolbox: Any) -> tuple[Any, Any]:
    """The models' settings with the tools, and how the chains run them (None, None: no tools)."""
    if toolbox is None:
        return settings, None
    from ..batch.runner import ToolChainSettings
    from ..tools import DEFAULT_CHAIN_LIMIT
    from ..tools.runner import ToolRunner

    limit = DEFAULT_CHAIN_LIMIT if defaults.chain_limit is None else defaults.chain_limit
    chains = ToolChainSettings(ToolRunner(toolbox), limit)
    return replace(settings, tools=toolbox.specs()), chains


def _run_items(
    defaults: PromptRequest,
    where: BatchInput,
    concurrency: int | None,
    provider_batch: bool,
    config: Any,
    resolved: ResolvedModel,
    settings: Any,
    tools: Any,
) -> int:
    """Read the prompts, then run them here or hand them to the provider's batch service."""
    from ..batch.job import earlier_results, prompts, run_local
    from ..batch.runner import DEFAULT_CONCURRENCY, BatchCounts
    from .batch_log import batch_log

    if defaults.debug:
        from ..retry import show_http_trace

        show_http_trace()
    counts = BatchCounts()
    items = prompts(where, sys.stdin.buffer, earlier_results(where), counts)
    if provider_batch:
        from .batch_services import submit_provider_batch

        return submit_provider_batch(items, resolved, settings, defaults, where)
    model_for = _model_chooser(resolved, replace(settings, retries=0), config)
    progress = progress_bar(f"batch {resolved.full_name}", defaults.quiet)
    with (
        output(where.out, append=where.resume or where.retry_failed) as out,
        interrupt_note(where, counts),  # outside the bar: said once the bar has stopped, nothing drawn after it
        showing(progress, counts) as update,
        batch_log(settings, defaults.system, defaults.no_log, config.log) as record,
        # The results go to `out`, taken above; what a tool prints (on the workers' threads) goes to stderr.
        contextlib.redirect_stdout(sys.stderr) if tools is not None else contextlib.nullcontext(),
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
            tools=tools,
            on_result=record,
        )
    if counts.limit is not None:
        asked = concurrency or DEFAULT_CONCURRENCY
        notice(
            f"the server throttled parallel requests: the batch settled at {counts.limit} in flight of the {asked} "
            f"asked for (-j {counts.limit} avoids the 429s)",
            defaults.quiet,
        )
    if defaults.stats:
        from ..render.progress import totals_line

        print(totals_line(counts), file=sys.stderr)
    return code


def _model_chooser(default: ResolvedModel, settings: Any, config: Any) -> ModelFor:
    """The model of each line: its ``model`` and settings over the defaults, each distinct one built once."""
    from ..providers import build

    # The default model is built now, so that a missing key fails the batch at once (exit 3).
    built: dict[tuple[Any, ...], ChatModel] = {(None, None, None, "{}"): build(default, settings)}

    def model_for(item: BatchItem) -> ChatModel:
        key = (item.model, item.max_tokens, item.temperature, json.dumps(item.options, sort_keys=True))
        model = built.get(key)
        if model is None:
            resolved = model_named(item.model, config, settings.timeout, settings.base_url) if item.model else default
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


JobId = Annotated[str, typer.Argument(metavar="ID", help="The batch id that --provider-batch printed.")]


@app.command(name="status", cls=PlainHelpCommand)
def status_command(
    job_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="One batch; all of them when left out.")] = None,
    timeout: Timeout = None,
    debug: Debug = False,
) -> None:
    """The provider batches submitted from here: state and counts, from the service."""
    from .batch_services import show_status

    with reporting(debug):
        show_status(job_id, timeout)


@app.command(name="results", cls=PlainHelpCommand)
def results_command(job_id: JobId, out: Out = None, debug: Debug = False) -> None:
    """Write a finished provider batch's results, in input order, to stdout or --out FILE."""
    from .batch_services import fetch_results

    with reporting(debug):
        code = fetch_results(job_id, out)
    raise typer.Exit(int(code))


@app.command(name="cancel", cls=PlainHelpCommand)
def cancel_command(job_id: JobId, debug: Debug = False) -> None:
    """Cancel a provider batch; the requests it already ran keep their results."""
    from .batch_services import cancel_job

    with reporting(debug):
        cancel_job(job_id)
