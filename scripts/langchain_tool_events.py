"""Record LangChain's events for a tool chain: ``tests/data/tools/<case>.<provider>.json``.

    /work/venvs/lc22/bin/python scripts/langchain_tool_events.py [CASE ...]

Run it with a Python that has langchain-core 1.8.3, langchain-anthropic 1.7.10 and langchain-openai 1.7.4
(never chatstream's own: the suite reads the recorded events and needs no LangChain). For each case the
model's first reply (``<case>.<provider>.sse``) is served on 127.0.0.1 to ``ChatAnthropic`` or
``ChatOpenAI`` ``.bind_tools(tools).astream_events(PROMPT, version="v2")``; each tool call of that reply
runs as ``StructuredTool.astream_events(tool_call, version="v2")``; then the answer
(``answer.<provider>.sse``) is served to the same model given the prompt, the reply and the tool results.
Every event goes into ``events``, in that order: what ``chatstream --events`` prints for the same bytes.
The tools are tests/data/tools/weather.py's functions. ``tool_error.json``: the events of a tool that raises.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from langchain_stream_events import KEYS, jsonable, serve  # the recorder of the stream fixtures

TOOLS_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "tools"
PROMPT = "What is the weather in Paris?"
MODELS = {"anthropic": "claude-haiku-4-5", "openai": "gpt-4o-mini"}
SUMMARIES = {
    "text_then_call": "text, then one tool call with its arguments in two fragments",
    "parallel_calls": "two calls of one tool in the same reply (parallel), no text",
    "thinking_then_call": "a thinking block (with its signature) before a tool call",
    "many_fragments": "one call whose arguments come three characters at a time",
    "empty_arguments": "a call of a tool that takes no arguments",
}


def tools() -> list[Any]:
    from langchain_core.tools import StructuredTool

    spec = importlib.util.spec_from_file_location("weather", TOOLS_DIR / "weather.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [StructuredTool.from_function(getattr(module, name)) for name in ("get_weather", "get_forecast", "now")]


def model_for(provider: str, base_url: str) -> Any:
    if provider == "anthropic":
        from langchain_anthropic import ChatAnthropic

        return ChatAnthropic(model=MODELS[provider], base_url=base_url, api_key=KEYS[provider], max_retries=0)
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=MODELS[provider], base_url=f"{base_url}/v1", api_key=KEYS[provider], max_retries=0, stream_usage=True
    )


async def model_events(provider: str, body: bytes, given: Any, events: list[dict[str, Any]]) -> Any:
    """The events of one model call, appended to ``events``; the reply it adds up to."""
    server = serve(body)
    reply = None
    try:
        model = model_for(provider, f"http://127.0.0.1:{server.server_address[1]}").bind_tools(tools())
        async for event in model.astream_events(given, version="v2"):
            events.append(jsonable(event))
            if event["event"] == "on_chat_model_end":
                reply = event["data"]["output"]
    finally:
        server.shutdown()
    return reply


async def chain_events(case: str, provider: str) -> list[dict[str, Any]]:
    from langchain_core.messages import HumanMessage, message_chunk_to_message

    events: list[dict[str, Any]] = []
    first = (TOOLS_DIR / f"{case}.{provider}.sse").read_bytes()
    reply = message_chunk_to_message(await model_events(provider, first, PROMPT, events))
    by_name = {tool.name: tool for tool in tools()}
    results = []
    for call in reply.tool_calls:
        async for event in by_name[call["name"]].astream_events(call, version="v2"):
            events.append(jsonable(event))
            if event["event"] == "on_tool_end":
                results.append(event["data"]["output"])
    answer = (TOOLS_DIR / f"answer.{provider}.sse").read_bytes()
    await model_events(provider, answer, [HumanMessage(content=PROMPT), reply, *results], events)
    return events


async def failing_tool_events() -> list[dict[str, Any]]:
    """The events of a tool that raises (``get_weather`` raising RuntimeError("no station")) for the first
    call of text_then_call, as StructuredTool gives them before it re-raises."""
    from langchain_core.tools import StructuredTool

    def get_weather(city: str) -> str:
        """The weather in a city now."""
        raise RuntimeError("no station")

    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_01FixtureA", "type": "tool_call"}
    events: list[dict[str, Any]] = []
    try:
        async for event in StructuredTool.from_function(get_weather).astream_events(call, version="v2"):
            events.append(jsonable(event))
    except RuntimeError:
        pass
    return events


def main(names: list[str]) -> None:
    warnings.simplefilter("ignore")
    if not names or "tool_error" in names:
        record = {
            "summary": "a tool that raises, as LangChain reports it",
            "events": asyncio.run(failing_tool_events()),
        }
        (TOOLS_DIR / "tool_error.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    for path in sorted(TOOLS_DIR.glob("*.sse")):
        case, provider = path.name.split(".")[:2]
        if case in ("answer", "tool_error") or (names and case not in names):
            continue
        record = {
            "summary": SUMMARIES[case],
            "provider": provider,
            "model": MODELS[provider],
            "prompt": PROMPT,
            "events": asyncio.run(chain_events(case, provider)),
        }
        target = path.with_suffix(".json")
        target.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{target.name}: {len(record['events'])} events")


if __name__ == "__main__":
    main(sys.argv[1:])
