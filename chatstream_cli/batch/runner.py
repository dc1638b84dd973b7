"""Runs the batch's prompts over one event loop: N workers, a shared backoff, a bounded reorder window.

:func:`run_batch` yields each :class:`~.results.BatchResult` as it finishes (tagged with its input index);
:func:`in_input_order` puts them back in input order. Scripts can use either::

    async for result in run_batch(read_items(open("prompts.txt", "rb")), get_model("gpt-4o-mini")):
        print(result.index, result.line["content"])

The models are built without retries of their own: the runner retries, so that 429s and 529s lower the
requests in flight for the whole batch (:class:`SharedBackoff`) instead of every worker hammering the
server, and a request that already produced text is never sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from ..defaults import DEFAULT_RETRIES
from ..errors import ChatstreamError
from ..messages import ChunkSum
from ..render.json import ReplyRecorder
from ..retry import MAX_WAIT_S, backoff_delay
from ..runnable import ChatModel
from ..runs import uuid7
from .input import BatchItem
from .results import BatchResult, failure, finished, success

DEFAULT_CONCURRENCY = 4
"""Four at once: within a new Anthropic or OpenAI account's rate limits and a local server's parallel slots."""
THROTTLE_STATUSES = frozenset({429, 529})
THROTTLE_TYPES = frozenset({"rate_limit_error", "overloaded_error"})
_DECREASE = 0.7
# Throttles a prompt may meet that do not count against --retries (the batch sent too many at once, not the
# prompt's fault); a bound, since a server may keep answering 429 whatever the concurrency.
_FREE_THROTTLES = 8

ModelFor = Callable[[BatchItem], ChatModel]
Notice = Callable[[str], None]


@dataclass(slots=True)
class BatchCounts:
    """What the progress bar and ``--stats`` show; updated by the runner as prompts start and finish."""

    total: int | None = None
    done: int = 0
    failed: int = 0
    running: int = 0
    skipped: int = 0
    #: The requests in flight the batch settled at, once 429s or 529s lowered it (None: never lowered).
    limit: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    started: float = field(default_factory=monotonic)

    def count(self, result: BatchResult) -> None:
        if result.ok:
            self.done += 1
        else:
            self.failed += 1
        self.input_tokens += result.usage.get("input_tokens") or 0
        self.output_tokens += result.usage.get("output_tokens") or 0


class SharedBackoff:
    """How many requests may be in flight, for every worker at once: additive increase, multiplicative decrease.

    A 429 or 529 answering a request sent under the current limit lowers the limit to 70 % of it (CUBIC's
    factor; at least one less, never below one), and the request goes again as soon as a slot is free: a
    server that caps parallel requests (LiteLLM's ``max_parallel_requests``) soon sees no more than it
    takes, and nobody waits out a ``retry-after`` meant for the excess. A throttle answering a request sent
    before the last decrease changes nothing more. Only a throttle at one request in flight is a limit on
    the rate, not on concurrency: then every worker pauses for its ``retry-after``. Each ``2 * limit``
    successes in a row raise the limit by one, up to the concurrency asked for, so the batch settles at the
    server's limit and probes above it rarely; :attr:`settled` is the last limit that a round of successes
    proved, or the one the last decrease set.
    """

    def __init__(self, ceiling: int, on_notice: Notice | None = None) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self.active = 0
        self.on_notice = on_notice
        self.lowered = False  # whether a throttle ever lowered the limit
        self._epoch = 0  # counts the decreases: a request remembers the one it was sent under
        self.settled = self.ceiling  # see the class's docstring
        self._resume_at = 0.0
        self._successes = 0
        self._waiters: list[asyncio.Future[None]] = []

    async def acquire(self) -> int:
        """Wait for a free slot outside any pause; the decrease the request is sent under (for :meth:`throttle`)."""
        while True:
            pause = self._resume_at - monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            elif self.active < self.limit:
                self.active += 1
                return self._epoch
            else:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter

    def release(self, *, succeeded: bool) -> None:
        self.active -= 1
        if succeeded and self.limit < self.ceiling:
            self._successes += 1
            if self._successes >= 2 * self.limit:
                self._successes = 0
                self.settled = self.limit
                self.limit += 1
        self._wake()

    def throttle(self, retry_after: float | None, reason: str, epoch: int) -> bool:
        """A 429 or 529 for a request sent under decrease ``epoch``; True when it is the concurrency's fault
        (the limit is lower now, or was lowered since the request went), so the request may go again at once."""
        self._successes = 0
        if epoch != self._epoch:
            return True
        if self.limit > 1:
            self.limit = max(1, min(self.limit - 1, int(self.limit * _DECREASE)))
            self._epoch += 1
            self.settled = self.limit
            self.lowered = True
            self._say(f"{reason}; {self.limit} at once from now")
            return True
        now = monotonic()
        pause = min(retry_after, MAX_WAIT_S) if retry_after is not None else backoff_delay(1)
        if now >= self._resume_at:
            self._say(f"{reason}; one at a time, the next in {pause:.2g} s")
        self._resume_at = max(self._resume_at, now + pause)
        return False

    def _say(self, text: str) -> None:
        if self.on_notice is not None:
            self.on_notice(text)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


def run_batch(
    items: Iterable[BatchItem],
    models: ChatModel | ModelFor,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    retries: int = DEFAULT_RETRIES,
    system: str | None = None,
    counts: BatchCounts | None = None,
    on_change: Callable[[], None] | None = None,
    on_notice: Notice | None = None,
    tools: ToolChainSettings | None = None,
) -> AsyncIterator[BatchResult]:
    """Run every item (at most ``concurrency`` at once); yield each result as it finishes.

    With ``tools``, each item's reply that calls them gets their results and the model answers again (the
    chain runs on a worker thread, the tools being plain functions); its line is the chain's --json object.

    ``models`` is the model for every item, or a function choosing one per item. A worker starts item
    ``k`` only once every item before ``k - window`` has finished, so results waiting for their turn in
    input order stay few however long the input.
    """
    model_for = models if callable(models) and not isinstance(models, ChatModel) else lambda item: models
    runner = _Runner(
        iter(items), model_for, concurrency, retries, system, counts or BatchCounts(), on_change, on_notice
    )
    runner.tools = tools
    return runner.results()


@dataclass(frozen=True, slots=True)
class ToolChainSettings:
    """How a batch runs tool calls: with this runner (no approvals: batch needs --yes), up to ``limit`` rounds."""

    runner: Any
    limit: int


async def in_input_order(results: AsyncIterator[BatchResult]) -> AsyncIterator[BatchResult]:
    """The results of :func:`run_batch` in the order of its items, each as soon as its turn comes."""
    waiting: dict[int, BatchResult] = {}
    following = 0
    async with aclosing(results):
        async for result in results:
            waiting[result.seq] = result
            while following in waiting:
                yield waiting.pop(following)
                following += 1


class _Runner:
    def __init__(
        self,
        items: Iterator[BatchItem],
        model_for: ModelFor,
        concurrency: int,
        retries: int,
        system: str | None,
        counts: BatchCounts,
        on_change: Callable[[], None] | None,
        on_notice: Notice | None,
    ) -> None:
        self.items = items
        self.model_for = model_for
        self.concurrency = max(1, concurrency)
        self.window = max(64, 8 * self.concurrency)
        self.retries = retries
        self.system = system
        self.counts = counts
        self.on_change = on_change or (lambda: None)
        self.backoff = SharedBackoff(self.concurrency, on_notice)
        self.input_error: BaseException | None = None
        self._first_unfinished = 0
        self._consumed = 0
        self._done_early: set[int] = set()  # finished, but an item before them has not
        self._taken = 0
        self._in_session: set[int] = set()
        self._sessions = AsyncExitStack()
        self.tools: ToolChainSettings | None = None

    async def results(self) -> AsyncIterator[BatchResult]:
        queue: asyncio.Queue[BatchResult | None] = asyncio.Queue()
        self._window_moved = asyncio.Condition()
        async with AsyncExitStack() as self._sessions:
            workers = [asyncio.create_task(self._work(queue)) for _ in range(self.concurrency)]
            try:
                remaining = len(workers)
                while remaining:
                    result = await queue.get()
                    if result is None:
                        remaining -= 1
                    else:
                        yield result
                        await self._consumed_one()
            finally:
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
        if self.input_error is not None:
            raise self.input_error

    def _next_item(self) -> BatchItem | None:
        if self.input_error is not None:
            return None
        try:
            return next(self.items, None)
        except Exception as exc:  # a bad line: the items before it finish, then the error is raised
            self.input_error = exc
            return None

    def _take(self) -> tuple[int, BatchItem] | None:
        """The next item and its place among the items taken (the items may skip indexes: a resumed batch)."""
        item = self._next_item()
        if item is None:
            return None
        seq, self._taken = self._taken, self._taken + 1
        return seq, item

    async def _work(self, queue: asyncio.Queue[BatchResult | None]) -> None:
        try:
            while (taken := self._take()) is not None:
                seq, item = taken
                await self._wait_for_window(seq)
                result = await self._run(item)
                result.seq, result.item = seq, item
                await self._finished(seq)
                self.counts.count(result)
                self.on_change()
                queue.put_nowait(result)
        finally:
            queue.put_nowait(None)

    async def _wait_for_window(self, seq: int) -> None:
        """Start item ``seq`` only within ``window`` of the first item not finished yet (which bounds the
        results waiting for their turn in input order) and of the results handed out so far (which bounds
        the results waiting for a slow consumer)."""
        async with self._window_moved:
            await self._window_moved.wait_for(lambda: seq < min(self._first_unfinished, self._consumed) + self.window)

    async def _consumed_one(self) -> None:
        self._consumed += 1
        async with self._window_moved:
            self._window_moved.notify_all()

    async def _finished(self, seq: int) -> None:
        self._done_early.add(seq)
        while self._first_unfinished in self._done_early:
            self._done_early.discard(self._first_unfinished)
            self._first_unfinished += 1
        async with self._window_moved:
            self._window_moved.notify_all()

    async def _run(self, item: BatchItem) -> BatchResult:
        try:
            model = self.model_for(item)
        except ChatstreamError as exc:
            return failure(item.index, item.id, exc, model=item.model, provider=None)
        if id(model) not in self._in_session:  # each model's requests share one connection pool
            self._in_session.add(id(model))
            await self._sessions.enter_async_context(model.async_session())
        attempt = free = 0
        while True:
            outcome = await self._attempt(item, model)
            error = outcome.error
            if error is None or outcome.produced or not error.retryable:
                return outcome.result
            throttled = error.status in THROTTLE_STATUSES or error.error_type in THROTTLE_TYPES
            if throttled:
                too_many = self.backoff.throttle(error.retry_after, error.message, outcome.epoch)
                self._note_limit()
                if too_many and free < _FREE_THROTTLES:
                    free += 1
                    continue  # under the lower limit, at once
            if attempt >= self.retries:
                return outcome.result
            attempt += 1
            if not throttled:  # a throttle's pause, if any, is the backoff's
                await asyncio.sleep(min(error.retry_after, MAX_WAIT_S) if error.retry_after else backoff_delay(attempt))

    async def _attempt(self, item: BatchItem, model: ChatModel) -> _Outcome:
        if self.tools is not None:
            return await self._chain_attempt(item, model, self.tools)
        epoch = await self.backoff.acquire()
        self.counts.running += 1
        self.on_change()
        run_id = uuid7()
        recorder = ReplyRecorder(
            model=model.model, provider=provider_name(model), run_id=run_id, check=reply_check(model.settings.schema)
        )
        total = ChunkSum()
        try:
            recorder.clock.start()
            async with aclosing(model.astream(item.with_system(self.system), run_id=run_id)) as chunks:
                async for chunk in chunks:
                    recorder.chunk(chunk)
                    total.add(chunk)
        except ChatstreamError as exc:
            outcome = _Outcome(self._failed(item, exc, recorder), exc, recorder.clock.first_token is not None)
        except Exception as exc:  # a bug in one prompt's run: recorded, and the others go on
            outcome = _Outcome(self._failed(item, exc, recorder), None, True)
        else:
            outcome = _Outcome(finished(item.index, item.id, recorder, total.total()))
        finally:
            self.counts.running -= 1
        return self._released(outcome, epoch)

    async def _chain_attempt(self, item: BatchItem, model: ChatModel, tools: ToolChainSettings) -> _Outcome:
        """One item's tool chain, on a worker thread: each reply streamed (sync), each call run, up to the limit."""
        from ..render.json import chain_record
        from ..tools.loop import Chain

        epoch = await self.backoff.acquire()
        self.counts.running += 1
        self.on_change()
        recorders: list[ReplyRecorder] = []
        records: list[dict[str, Any]] = []
        chain = Chain(list(item.with_system(self.system)))

        def reply_once(messages: list[Any]) -> Any:
            run_id = uuid7()
            recorder = ReplyRecorder(model=model.model, provider=provider_name(model), run_id=run_id)
            recorders.append(recorder)
            total = ChunkSum()
            recorder.clock.start()
            for chunk in model.stream(messages, run_id=run_id):
                recorder.chunk(chunk)
                total.add(chunk)
            reply = total.total()
            records.append(recorder.finished(reply))
            return reply

        produced = False
        try:
            await asyncio.to_thread(chain.run, reply_once, tools.runner, tools.limit)
        except ChatstreamError as exc:
            produced = len(recorders) > 1 or any(r.clock.first_token is not None for r in recorders)
            outcome = _Outcome(self._failed(item, exc, recorders[-1]), exc, produced)
        except Exception as exc:  # a bug in one prompt's run: recorded, and the others go on
            outcome = _Outcome(self._failed(item, exc, recorders[-1]), None, True)
        else:
            outcome = _Outcome(success(item.index, item.id, chain_record(records, chain.steps)))
        finally:
            self.counts.running -= 1
        return self._released(outcome, epoch)

    def _released(self, outcome: _Outcome, epoch: int) -> _Outcome:
        """Give the attempt's slot back to the backoff, tagged with the decrease it was sent under."""
        self.backoff.release(succeeded=outcome.error is None and outcome.result.ok)
        self._note_limit()
        outcome.epoch = epoch
        return outcome

    def _note_limit(self) -> None:
        if self.backoff.lowered:
            self.counts.limit = self.backoff.settled

    @staticmethod
    def _failed(item: BatchItem, error: BaseException, recorder: ReplyRecorder) -> BatchResult:
        partial = recorder.partial()
        return failure(
            item.index,
            item.id,
            error,
            model=recorder.model,
            provider=recorder.provider,
            run_id=recorder.run_id,
            partial=partial,
        )


@dataclass(slots=True)
class _Outcome:
    result: BatchResult
    error: ChatstreamError | None = None
    produced: bool = False
    epoch: int = 0  # the backoff's decrease it was sent under


def reply_check(schema: Any) -> Any:
    """The check of each reply against the batch's schema (None without one)."""
    if schema is None:
        return None
    from ..schema.check import ReplyCheck

    return ReplyCheck(schema)


def provider_name(model: ChatModel) -> str:
    """The registry name the model was built for (``ollama``, not the class's ``openai``)."""
    spec: Any = getattr(model, "spec", None)
    return getattr(spec, "name", None) or model.provider
