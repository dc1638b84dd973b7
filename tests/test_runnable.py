"""Tests for the ChatModel base class: the derived stream/invoke paths, threads, batch and input forms."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from chatstream_cli.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from chatstream_cli.runnable import ChatModel, ModelSettings

USAGE = {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
WAIT = 5.0  # seconds a helper thread waits before declaring the event loop blocked


class WholeReplyModel(ChatModel):
    """Implements only ``_generate``: the reply is the last message's text, reversed."""

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        return AIMessage(
            content=messages[-1].text[::-1], response_metadata={"model_name": self.model}, usage_metadata=USAGE
        )


class SyncStreamModel(ChatModel):
    """Implements only ``_stream``: one word a chunk, metadata spread over the chunks."""

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        yield AIMessageChunk(content="", response_metadata={"model_name": self.model, "model_provider": "test"})
        for word in ["Here", " is", " a", " song"]:
            yield AIMessageChunk(content=word, response_metadata={"model_provider": "test"})
        yield AIMessageChunk(
            content="", response_metadata={"stop_reason": "end_turn", "model_provider": "test"}, usage_metadata=USAGE
        )


class RecordingModel(ChatModel):
    """Replies with a description of the messages it received."""

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        return AIMessage(content=" | ".join(f"{m.type}:{m.text}" for m in messages))


# --- derived streaming and invoking -----------------------------------------------------------------


def assert_run_id(ident: str | None) -> None:
    assert ident is not None and ident.startswith("lc_run--")
    assert uuid.UUID(ident.removeprefix("lc_run--")).version == 7


def test_stream_of_a_whole_reply_model_is_one_chunk_with_everything() -> None:
    (chunk,) = list(WholeReplyModel("m").stream("goldfish"))
    assert isinstance(chunk, AIMessageChunk)
    assert chunk.content == "hsifdlog"
    assert chunk.usage_metadata == USAGE
    assert chunk.response_metadata == {"model_name": "m"}
    assert chunk.chunk_position == "last"
    assert_run_id(chunk.id)


def test_astream_of_a_whole_reply_model_is_one_chunk_with_everything() -> None:
    async def collect() -> list[AIMessageChunk]:
        return [chunk async for chunk in WholeReplyModel("m").astream("goldfish")]

    (chunk,) = asyncio.run(collect())
    assert (chunk.content, chunk.usage_metadata, chunk.chunk_position) == ("hsifdlog", USAGE, "last")
    assert_run_id(chunk.id)


def test_invoke_of_a_stream_only_model_sums_the_chunks() -> None:
    message = SyncStreamModel("m").invoke("hi", run_id="01a20d65-6e20-7292-8f0c-f346cec2231c")
    assert type(message) is AIMessage
    assert message.content == "Here is a song"
    assert message.usage_metadata == USAGE
    assert list(message.response_metadata.items()) == [
        ("model_name", "m"),
        ("model_provider", "test"),
        ("stop_reason", "end_turn"),
    ]
    assert message.id == "lc_run--01a20d65-6e20-7292-8f0c-f346cec2231c-0"


def test_ainvoke_of_a_stream_only_model_sums_the_chunks() -> None:
    message = asyncio.run(SyncStreamModel("m").ainvoke("hi"))
    assert (message.content, message.usage_metadata) == ("Here is a song", USAGE)
    assert message.id is not None and message.id.endswith("-0")


def test_stream_sets_one_run_id_and_appends_the_closing_chunk() -> None:
    chunks = list(SyncStreamModel("m").stream("hi", run_id="01a20d65-6e20-7292-8f0c-f346cec2231c"))
    assert {c.id for c in chunks} == {"lc_run--01a20d65-6e20-7292-8f0c-f346cec2231c"}
    assert [c.content for c in chunks] == ["", "Here", " is", " a", " song", "", ""]
    closing = chunks[-1]
    assert (closing.chunk_position, closing.response_metadata, closing.usage_metadata) == ("last", {}, None)
    assert [c.chunk_position for c in chunks[:-1]] == [None] * 6


def test_a_model_with_neither_method_says_so() -> None:
    with pytest.raises(NotImplementedError, match="neither _generate nor _stream"):
        ChatModel("m").invoke("hi")


# --- a sync stream driven asynchronously ------------------------------------------------------------


def test_astream_runs_a_sync_stream_in_a_worker_thread_without_blocking_the_loop() -> None:
    started = threading.Event()
    loop_ran = threading.Event()
    stream_threads: set[int] = set()

    class WaitsForTheLoop(ChatModel):
        def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
            stream_threads.add(threading.get_ident())
            yield AIMessageChunk(content="one")
            started.set()
            # Only a task on the event loop can set this; a blocked loop never will.
            assert loop_ran.wait(WAIT), "the event loop was blocked while the sync stream waited"
            yield AIMessageChunk(content=" two")

    async def other_task() -> None:
        while not started.is_set():
            await asyncio.sleep(0.001)
        loop_ran.set()

    async def main() -> list[str]:
        ticker = asyncio.create_task(other_task())
        texts = [chunk.text async for chunk in WaitsForTheLoop("m").astream("hi")]
        await ticker
        return texts

    assert asyncio.run(main()) == ["one", " two", ""]
    assert threading.get_ident() not in stream_threads


def test_cancelling_astream_closes_the_sync_stream() -> None:
    closed = threading.Event()

    class Endless(ChatModel):
        def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
            try:
                count = 0
                while True:
                    yield AIMessageChunk(content=f"{count} ")
                    count += 1
                    time.sleep(0.005)
            finally:
                closed.set()

    async def main() -> list[str]:
        received: list[str] = []
        three = asyncio.Event()

        async def consume() -> None:
            async for chunk in Endless("m").astream("hi"):
                received.append(chunk.text)
                if len(received) == 3:
                    three.set()

        task = asyncio.create_task(consume())
        await three.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(closed.wait, WAIT), "the sync generator was never closed"
        return received

    assert asyncio.run(main())[:3] == ["0 ", "1 ", "2 "]


def test_an_error_in_the_sync_stream_reaches_the_async_consumer() -> None:
    class FailsMidway(ChatModel):
        def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
            yield AIMessageChunk(content="partial")
            raise ConnectionResetError("dropped")

    async def main() -> list[str]:
        seen: list[str] = []
        with pytest.raises(ConnectionResetError, match="dropped"):
            async for chunk in FailsMidway("m").astream("hi"):
                seen.append(chunk.text)
        return seen

    assert asyncio.run(main()) == ["partial"]


# --- batch and abatch -------------------------------------------------------------------------------


class ConcurrencyCounter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def enter(self) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def leave(self) -> None:
        with self.lock:
            self.active -= 1


class SlowEcho(ChatModel):
    """Replies with the prompt after a pause; later prompts (higher numbers) finish first."""

    def __init__(self, model: str, counter: ConcurrencyCounter | None = None) -> None:
        super().__init__(model)
        self.counter = counter or ConcurrencyCounter()

    def _pause(self, prompt: str) -> float:
        return 0.002 * (10 - int(prompt)) if prompt.isdigit() else 0.0

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        prompt = messages[-1].text
        if prompt == "boom":
            raise ValueError("boom")
        self.counter.enter()
        try:
            time.sleep(self._pause(prompt))
        finally:
            self.counter.leave()
        return AIMessage(content=prompt)

    async def _agenerate(self, messages: list[BaseMessage]) -> AIMessage:
        prompt = messages[-1].text
        if prompt == "boom":
            raise ValueError("boom")
        self.counter.enter()
        try:
            await asyncio.sleep(self._pause(prompt))
        finally:
            self.counter.leave()
        return AIMessage(content=prompt)


PROMPTS = [str(n) for n in range(8)]


def test_batch_returns_results_in_input_order() -> None:
    results = SlowEcho("m").batch(PROMPTS)
    assert [r.content for r in results] == PROMPTS


def test_batch_runs_concurrently_up_to_max_concurrency() -> None:
    counter = ConcurrencyCounter()
    pair = threading.Barrier(2, timeout=WAIT)  # passes only when two calls really overlap

    class PairedEcho(SlowEcho):
        def _generate(self, messages: list[BaseMessage]) -> AIMessage:
            counter.enter()
            try:
                pair.wait()
                time.sleep(0.01)  # stay busy: a third concurrent call would be counted
            finally:
                counter.leave()
            return AIMessage(content=messages[-1].text)

    results = PairedEcho("m", counter).batch(PROMPTS, max_concurrency=2)
    assert [r.content for r in results] == PROMPTS
    assert counter.peak == 2


def test_batch_return_exceptions_puts_the_error_in_its_place() -> None:
    results = SlowEcho("m").batch(["1", "boom", "3"], return_exceptions=True)
    assert [r.content for r in results if isinstance(r, AIMessage)] == ["1", "3"]
    assert isinstance(results[1], ValueError) and str(results[1]) == "boom"


def test_batch_without_return_exceptions_raises() -> None:
    with pytest.raises(ValueError, match="boom"):
        SlowEcho("m").batch(["1", "boom", "3"])


def test_batch_of_nothing_is_empty() -> None:
    assert SlowEcho("m").batch([]) == []


@pytest.mark.parametrize(("limit", "expected_peak"), [(3, 3), (None, len(PROMPTS))])
def test_abatch_keeps_input_order_and_its_concurrency_limit(limit: int | None, expected_peak: int) -> None:
    counter = ConcurrencyCounter()
    results = asyncio.run(SlowEcho("m", counter).abatch(PROMPTS, max_concurrency=limit))
    assert [r.content for r in results] == PROMPTS
    assert counter.peak == expected_peak


def test_abatch_return_exceptions_puts_the_error_in_its_place() -> None:
    results = asyncio.run(SlowEcho("m").abatch(["1", "boom", "3"], return_exceptions=True))
    assert isinstance(results[1], ValueError)
    assert [r.content for r in (results[0], results[2])] == ["1", "3"]
    with pytest.raises(ValueError, match="boom"):
        asyncio.run(SlowEcho("m").abatch(["1", "boom"]))


def test_abatch_of_a_sync_only_model_uses_threads() -> None:
    results = asyncio.run(WholeReplyModel("m").abatch(["abc", "xyz"], max_concurrency=1))
    assert [r.content for r in results] == ["cba", "zyx"]


# --- input forms and settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("hello", "human:hello"),
        ([SystemMessage(content="be brief"), HumanMessage(content="hello")], "system:be brief | human:hello"),
        ([("system", "be brief"), ("user", "hello")], "system:be brief | human:hello"),
        (
            [{"role": "system", "content": "be brief"}, {"role": "human", "content": "hello"}],
            "system:be brief | human:hello",
        ),
        ([("human", "hi"), ("assistant", "hello"), ("human", "again")], "human:hi | ai:hello | human:again"),
    ],
)
def test_input_forms(given: object, expected: str) -> None:
    assert RecordingModel("m").invoke(given).content == expected


def test_batch_accepts_mixed_input_forms() -> None:
    results = RecordingModel("m").batch(["a", [("system", "s"), ("human", "b")], [{"role": "user", "content": "c"}]])
    assert [r.content for r in results] == ["human:a", "system:s | human:b", "human:c"]


def test_keyword_settings_and_options_are_separated() -> None:
    model = RecordingModel("m", temperature=0.5, stop="END", max_tokens=9, top_p=0.9)
    assert model.settings.temperature == 0.5
    assert model.settings.stop == ("END",)
    assert model.settings.max_tokens == 9
    assert model.settings.options == {"top_p": 0.9}


def test_overrides_extend_given_settings() -> None:
    base = ModelSettings(temperature=0.1, options={"seed": 1})
    model = RecordingModel("m", base, max_tokens=5, delay_ms=0)
    assert (model.settings.temperature, model.settings.max_tokens) == (0.1, 5)
    assert model.settings.options == {"seed": 1, "delay_ms": 0}


def test_an_options_keyword_adds_to_the_given_options() -> None:
    base = ModelSettings(options={"seed": 1})
    model = RecordingModel("m", base, options={"verses": 2}, delay_ms=0)
    assert model.settings.options == {"seed": 1, "verses": 2, "delay_ms": 0}
