"""The tool loop: a reply that ends in tool calls gets their results and the model answers again, up to
a number of rounds. The caller says how one reply is made (streamed into a renderer, or just summed),
so the command line and the Python API share it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..messages import AIMessageChunk, BaseMessage, MessageInput, sum_chunks, to_messages
from . import DEFAULT_CHAIN_LIMIT, Toolbox, function_tools
from .runner import Approver, ToolResult, ToolRunner


@dataclass(slots=True)
class ChainStep:
    """One model call of a chain, and the results of the calls it made."""

    reply: AIMessageChunk
    results: list[ToolResult] = field(default_factory=list)


@dataclass(slots=True)
class Chain:
    """The replies of one prompt, which grows as it runs: read it after a failure too."""

    messages: list[BaseMessage]
    steps: list[ChainStep] = field(default_factory=list)
    #: Set when the model still called tools after ``limit`` rounds: those calls were not run.
    stopped_at_limit: bool = False

    @property
    def reply(self) -> AIMessageChunk | None:
        return self.steps[-1].reply if self.steps else None

    @property
    def added(self) -> list[BaseMessage]:
        """The replies with tool calls and the results, between the prompt and the last reply."""
        return [message for step in self.steps if step.results for message in _step_messages(step)]

    def run(
        self, reply_once: Callable[[list[BaseMessage]], AIMessageChunk], runner: ToolRunner, limit: int
    ) -> AIMessageChunk:
        """Reply, answer the tool calls, reply again: until a reply calls none, or after ``limit`` rounds
        (0: no limit)."""
        rounds = 0
        while True:
            reply = reply_once(list(self.messages))
            step = ChainStep(reply)
            self.steps.append(step)
            calls = calls_to_run(reply)
            if not calls:
                return reply
            if limit and rounds >= limit:
                self.stopped_at_limit = True
                return reply
            for call in calls:
                step.results.append(runner.run(call))
            self.messages.extend(_step_messages(step))
            rounds += 1


def calls_to_run(reply: AIMessageChunk) -> list[dict[str, Any]]:
    """The reply's tool calls, each one's arguments read strictly: LangChain's ``tool_calls`` complete
    partial JSON (``{"a": 1`` reads as ``{"a": 1}``), but a call is run only with what the model finished."""
    if not reply.tool_call_chunks:
        return [*reply.tool_calls, *reply.invalid_tool_calls]
    calls = []
    for chunk in reply.tool_call_chunks:
        raw = chunk.get("args") or ""
        call = {"name": chunk.get("name") or "", "args": raw, "id": chunk.get("id"), "type": "invalid_tool_call"}
        try:
            args = json.loads(raw) if raw.strip() else {}
        except ValueError:
            args = None
        if isinstance(args, dict):
            call |= {"args": args, "type": "tool_call"}
        calls.append(call)
    return calls


def _step_messages(step: ChainStep) -> list[BaseMessage]:
    return [step.reply.to_message(), *(result.message() for result in step.results)]


def run_tools(
    model: Any,
    input: MessageInput | BaseMessage,
    tools: Sequence[Any],
    *,
    chain_limit: int = DEFAULT_CHAIN_LIMIT,
    approve: Approver | None = None,
) -> Chain:
    """The Python API's loop: ``model`` with ``tools`` (Python functions) answers ``input``, running every
    call it makes, until it is done; the chain's ``messages`` are the whole conversation, ``reply`` the last."""
    toolbox = Toolbox()
    toolbox.add(function_tools(tools))
    bound = model.bind_tools(list(toolbox.specs()))
    chain = Chain(to_messages(input))
    reply = chain.run(lambda messages: sum_chunks(bound.stream(messages)), ToolRunner(toolbox, approve), chain_limit)
    chain.messages.append(reply.to_message())
    return chain
