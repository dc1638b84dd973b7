"""Write the tool-call streams of tests/data/tools/*.sse: what the Anthropic Messages API and OpenAI's Chat
Completions send when a reply calls tools, event for event in their wire format (the shapes of the recorded
tests/data/wire/*tool* files), for the cases issue 22 names.

    python scripts/tool_streams.py

Then record LangChain's events for them: scripts/langchain_tool_events.py.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tools"
MODEL_A, MODEL_O = "claude-haiku-4-5", "gpt-4o-mini"


def a_sse(events):
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events)


def a_start(ident):
    return {
        "type": "message_start",
        "message": {
            "model": MODEL_A,
            "id": ident,
            "type": "message",
            "role": "assistant",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "stop_details": None,
            "usage": {
                "input_tokens": 412,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 1,
                "service_tier": "standard",
            },
        },
    }


def a_text(index, pieces):
    yield {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
    for p in pieces:
        yield {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": p}}
    yield {"type": "content_block_stop", "index": index}


def a_tool(index, ident, name, fragments):
    yield {
        "type": "content_block_start",
        "index": index,
        "content_block": {"type": "tool_use", "id": ident, "name": name, "input": {}, "caller": {"type": "direct"}},
    }
    for f in ["", *fragments]:
        yield {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": f}}
    yield {"type": "content_block_stop", "index": index}


def a_thinking(index, pieces, signature):
    yield {
        "type": "content_block_start",
        "index": index,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    }
    for p in pieces:
        yield {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": p}}
    yield {"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": signature}}
    yield {"type": "content_block_stop", "index": index}


def a_end(out, reason="tool_use"):
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": None, "stop_details": None},
            "usage": {
                "input_tokens": 412,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": out,
            },
        },
        {"type": "message_stop"},
    ]


def o_sse(chunks, usage):
    ident = "chatcmpl-FixtureToolLoop0001"
    base = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": 1795521161,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": "fp_fixture03",
    }
    lines = []
    for delta, finish in chunks:
        lines.append({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})
    lines.append({**base, "choices": [], "usage": usage})
    return "".join(f"data: {json.dumps(line, separators=(',', ':'))}\n\n" for line in lines) + "data: [DONE]\n\n"


def o_usage(prompt, completion):
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def o_call_start(index, ident, name):
    return {
        "tool_calls": [{"index": index, "id": ident, "type": "function", "function": {"name": name, "arguments": ""}}]
    }


def o_args(index, text):
    return {"tool_calls": [{"index": index, "function": {"arguments": text}}]}


def cut(text, size):
    return [text[i : i + size] for i in range(0, len(text), size)]


PARIS = '{"city": "Paris"}'
OSLO = '{"city": "Oslo"}'
LONG = '{"city": "Saint-Pierre-et-Miquelon", "unit": "celsius", "days": 3}'

cases = {}
# text, then a call
cases["text_then_call.anthropic"] = a_sse(
    [
        a_start("msg_01FixtureToolLoop01"),
        *a_text(0, ["Let", " me", " check", "."]),
        *a_tool(1, "toolu_01FixtureA", "get_weather", ['{"city": "Pa', 'ris"}']),
        *a_end(31),
    ]
)
cases["text_then_call.openai"] = o_sse(
    [
        ({"role": "assistant", "content": "", "refusal": None}, None),
        *[({"content": p}, None) for p in ["Let", " me", " check", "."]],
        (o_call_start(0, "call_FixtureA", "get_weather"), None),
        (o_args(0, '{"city": "Pa'), None),
        (o_args(0, 'ris"}'), None),
        ({}, "tool_calls"),
    ],
    o_usage(88, 21),
)
# two parallel calls
cases["parallel_calls.anthropic"] = a_sse(
    [
        a_start("msg_01FixtureToolLoop02"),
        *a_tool(0, "toolu_01FixtureA", "get_weather", cut(PARIS, 7)),
        *a_tool(1, "toolu_01FixtureB", "get_weather", cut(OSLO, 7)),
        *a_end(58),
    ]
)
cases["parallel_calls.openai"] = o_sse(
    [
        ({"role": "assistant", "content": None, "refusal": None}, None),
        (o_call_start(0, "call_FixtureA", "get_weather"), None),
        *[(o_args(0, p), None) for p in cut(PARIS, 7)],
        (o_call_start(1, "call_FixtureB", "get_weather"), None),
        *[(o_args(1, p), None) for p in cut(OSLO, 7)],
        ({}, "tool_calls"),
    ],
    o_usage(88, 46),
)
# thinking before a call (Anthropic)
cases["thinking_then_call.anthropic"] = a_sse(
    [
        a_start("msg_01FixtureToolLoop03"),
        *a_thinking(0, ["The", " user", " wants", " the", " weather", "."], "EqFixtureSignature0001=="),
        *a_tool(1, "toolu_01FixtureA", "get_weather", ['{"city"', ': "Paris"}']),
        *a_end(44),
    ]
)
# arguments in many fragments
cases["many_fragments.anthropic"] = a_sse(
    [a_start("msg_01FixtureToolLoop04"), *a_tool(0, "toolu_01FixtureA", "get_forecast", cut(LONG, 3)), *a_end(40)]
)
cases["many_fragments.openai"] = o_sse(
    [
        ({"role": "assistant", "content": None, "refusal": None}, None),
        (o_call_start(0, "call_FixtureA", "get_forecast"), None),
        *[(o_args(0, p), None) for p in cut(LONG, 3)],
        ({}, "tool_calls"),
    ],
    o_usage(90, 40),
)
# a call with empty arguments
cases["empty_arguments.anthropic"] = a_sse(
    [a_start("msg_01FixtureToolLoop05"), *a_tool(0, "toolu_01FixtureA", "now", []), *a_end(12)]
)
cases["empty_arguments.openai"] = o_sse(
    [
        ({"role": "assistant", "content": None, "refusal": None}, None),
        (o_call_start(0, "call_FixtureA", "now"), None),
        (o_args(0, "{}"), None),
        ({}, "tool_calls"),
    ],
    o_usage(70, 10),
)
# the answer after the results
cases["answer.anthropic"] = a_sse(
    [
        a_start("msg_01FixtureToolLoop06"),
        *a_text(0, ["It", " is", " sunny", " in", " Paris", "."]),
        *a_end(9, "end_turn"),
    ]
)
cases["answer.openai"] = o_sse(
    [
        ({"role": "assistant", "content": "", "refusal": None}, None),
        *[({"content": p}, None) for p in ["It", " is", " sunny", " in", " Paris", "."]],
        ({}, "stop"),
    ],
    o_usage(120, 9),
)
if __name__ == "__main__":
    for name, text in cases.items():
        (OUT / f"{name}.sse").write_text(text)
        print(f"{name}.sse")
