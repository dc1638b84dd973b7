"""``--schema``: the three forms, the request bodies on both wires (byte for byte), the offline models,
what stdout gets, the check at the end (exit 4), ``--json``'s ``parsed`` and the history's record."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatstream_cli.cli import app
from chatstream_cli.errors import UsageError
from chatstream_cli.providers import get_model
from chatstream_cli.schema import concise_schema, parse_schema
from chatstream_cli.schema.check import SchemaMismatch
from chatstream_cli.schema.convert import NotStrict, openai_strict, without_emulated_nulls
from chatstream_cli.schema.example import example_document
from tests.batch_server import BatchServer, batch_server  # noqa: F401  (the fixture)
from tests.conftest import CHATSTREAM, cli_env, error_line, imported_modules
from tests.loopback import LoopbackServer, Reply, loopback_server  # noqa: F401  (the fixture)
from tests.test_anthropic_provider import sse as anthropic_sse
from tests.test_openai_provider import reply_events
from tests.test_openai_provider import sse as openai_sse

FIELDS = "name, age int"
FIELDS_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
FIELDS_JSON = (
    '{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},'
    '"required":["name","age"],"additionalProperties":false}'
)
ADA = '{"name": "Ada", "age": 36}'


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def offline(*args: str) -> Result:
    return run("-m", "builtin:echo", "-o", "delay_ms", "0", *args)


def history_rows(home: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home / "history.db") as db:
        return db.execute(query).fetchall()


# -- the three forms -------------------------------------------------------------------------------


def test_the_concise_form() -> None:
    schema = concise_schema("name, age int, height float: in metres, alive bool")
    assert schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "height": {"type": "number", "description": "in metres"},
            "alive": {"type": "boolean"},
        },
        "required": ["name", "age", "height", "alive"],
        "additionalProperties": False,
    }
    assert concise_schema("name\nbio: a short bio, with a comma") == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "bio": {"type": "string", "description": "a short bio, with a comma"},
        },
        "required": ["name", "bio"],
        "additionalProperties": False,
    }


def test_inline_json_a_file_and_the_concise_form_are_the_same_schema(tmp_path: Path) -> None:
    path = tmp_path / "person.json"
    path.write_text(json.dumps(FIELDS_SCHEMA))
    forms = [parse_schema(FIELDS), parse_schema(json.dumps(FIELDS_SCHEMA)), parse_schema(str(path))]
    assert {schema.id for schema in forms} == {forms[0].id}
    assert [schema.source for schema in forms] == ["the concise form", "inline JSON", str(path)]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("name, age integr", "--schema: unknown type 'integr' of field age (types are str, int, float, bool)"),
        (
            "name, two words int",
            "--schema: 'two words int' is not a field (write NAME [TYPE][: description], e.g. 'age int')",
        ),
        (
            '{"type": "object",',
            "--schema (inline JSON) is not valid JSON: Expecting property name enclosed in double quotes",
        ),
        (
            '{"type": "thing"}',
            "--schema is not a valid JSON Schema: 'thing' is not valid under any of the given schemas",
        ),
        ('{"type": "array"}', '--schema must describe an object (its "type" is "object")'),
        (" ", "--schema is empty"),
    ],
)
def test_a_bad_schema_is_one_usage_line(given: str, message: str) -> None:
    result = offline("--schema", given, "hi")
    assert result.exit_code == 2
    assert error_line(result).startswith(message)


def test_flags_that_do_not_go_with_a_schema() -> None:
    for args, message in (
        (["--schema", "a", "--schema-multi", "a"], "--schema and --schema-multi cannot be used together"),
        (["--schema", "a", "-x"], "--schema and -x/--extract cannot be used together"),
        (["--pretty"], "--pretty indents the JSON of --schema"),
    ):
        result = offline(*args, "hi")
        assert result.exit_code == 2, args
        assert error_line(result).startswith(message)


# -- strict mode ----------------------------------------------------------------------------------


def test_strict_mode_makes_optional_properties_required_and_nullable() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"}}}},
            "mood": {"enum": ["calm", "wild"]},
        },
        "required": ["name"],
    }
    assert openai_strict(schema) == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {"label": {"type": ["string", "null"]}},
                    "additionalProperties": False,
                    "required": ["label"],
                },
            },
            "mood": {"anyOf": [{"enum": ["calm", "wild"]}, {"type": "null"}]},
        },
        "required": ["name", "tags", "mood"],
        "additionalProperties": False,
    }
    written = {"name": "Ada", "tags": [{"label": None}], "mood": None}
    assert without_emulated_nulls(written, schema) == {"name": "Ada", "tags": [{}]}


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"type": "object", "additionalProperties": True}, "the object at $ allows other keys"),
        (
            {"type": "object", "properties": {"a": {"type": "object", "patternProperties": {}}}},
            "no patternProperties (at $.a)",
        ),
    ],
)
def test_what_strict_mode_cannot_say(schema: dict[str, Any], why: str) -> None:
    with pytest.raises(NotStrict, match=why.replace("$", r"\$").replace("(", r"\(").replace(")", r"\)")):
        openai_strict(schema)


# -- offline --------------------------------------------------------------------------------------


def test_the_builtin_models_answer_a_document_that_satisfies_the_schema() -> None:
    echo = offline("--schema", "name, age int, alive bool", "Ada Lovelace")
    assert (echo.exit_code, echo.stdout, echo.stderr) == (0, '{"name":"Ada Lovelace","age":78,"alive":false}\n', "")
    poet = run("-m", "builtin:poet", "-o", "delay_ms", "0", "--schema", "line, n int", "a song about goldfish")
    assert poet.exit_code == 0
    assert json.loads(poet.stdout) == {"line": "Oh goldfish, oh moon, so far away,", "n": 46}
    again = run("-m", "builtin:poet", "-o", "delay_ms", "0", "--schema", "line, n int", "a song about goldfish")
    assert again.stdout == poet.stdout


def test_schema_multi_prints_the_list_and_pretty_indents() -> None:
    result = offline("--schema-multi", "name", "--pretty", "Ada")
    assert result.exit_code == 0
    assert result.stdout == '[\n  {\n    "name": "Ada"\n  },\n  {\n    "name": "Ada"\n  }\n]\n'


def test_example_documents_follow_refs_enums_formats_and_bounds() -> None:
    schema = {
        "type": "object",
        "$defs": {"when": {"type": "string", "format": "date"}},
        "properties": {
            "on": {"$ref": "#/$defs/when"},
            "size": {"enum": ["s", "m", "l"]},
            "score": {"type": "integer", "minimum": 5, "maximum": 6},
            "code": {"type": "string", "minLength": 5, "maxLength": 5},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "number"}]},
        },
    }
    from chatstream_cli.schema.check import validated

    document = example_document(schema, ["ab"])
    assert validated(schema, document) == document
    assert document["on"] == "2026-01-01"


def test_json_output_carries_parsed() -> None:
    result = offline("--json", "--schema", FIELDS, "Ada")
    record = json.loads(result.stdout)
    assert result.exit_code == 0
    assert list(record)[:4] == ["model", "provider", "content", "parsed"]
    assert record["parsed"] == {"name": "Ada", "age": 78}
    assert json.loads(record["content"]) == record["parsed"]


def test_the_history_records_the_schema_by_its_hash(isolated_env: Path) -> None:
    assert offline("--schema", FIELDS, "Ada").exit_code == 0
    assert offline("--schema", json.dumps(FIELDS_SCHEMA), "Grace").exit_code == 0
    schema_id = parse_schema(FIELDS).id
    rows = history_rows(isolated_env, "SELECT schema_id, reply FROM exchanges ORDER BY id")
    assert rows == [(schema_id, '{"name": "Ada", "age": 78}'), (schema_id, '{"name": "Grace", "age": 78}')]
    assert history_rows(isolated_env, "SELECT id, content FROM schemas") == [(schema_id, json.dumps(FIELDS_SCHEMA))]


# -- OpenAI ---------------------------------------------------------------------------------------


@pytest.fixture
def openai(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", f"{loopback_server.base_url}/v1")
    return loopback_server


def openai_reply(text: str) -> Reply:
    pieces = [text[index : index + 3] for index in range(0, len(text), 3)]
    return Reply.sse(openai_sse(reply_events(pieces)))


def test_openai_gets_response_format_json_schema_strict(openai: LoopbackServer) -> None:
    openai.enqueue(openai_reply(ADA))
    result = run("-m", "openai:gpt-4o-mini", "--schema", FIELDS, "Ada")
    assert (result.exit_code, result.stdout, result.stderr) == (0, '{"name":"Ada","age":36}\n', "")
    assert openai.requests[0].body == (
        b'{"model":"gpt-4o-mini","stream":true,"messages":[{"content":"Ada","role":"user"}],'
        b'"stream_options":{"include_usage":true},"response_format":{"type":"json_schema","json_schema":'
        b'{"name":"output","schema":' + FIELDS_JSON.encode() + b',"strict":true}}}'
    )


def test_a_schema_strict_mode_cannot_take_is_sent_non_strict_with_a_notice(openai: LoopbackServer) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": True}
    openai.enqueue(openai_reply('{"name": "Ada", "extra": 1}'))
    notices: list[str] = []
    model = get_model("openai:gpt-4o-mini", schema=parse_schema(json.dumps(schema)), on_notice=notices.append)
    assert "".join(str(chunk.content) for chunk in model.stream("Ada")) == '{"name": "Ada", "extra": 1}'
    assert notices == [
        "the schema is sent non-strict, so the server does not enforce it: "
        "the object at $ allows other keys (additionalProperties)"
    ]
    sent = openai.requests[0].json["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "output", "schema": schema, "strict": False}}


def test_json_object_mode_puts_the_schema_in_the_system_prompt(openai: LoopbackServer) -> None:
    openai.enqueue(openai_reply(ADA))
    result = run(
        "-m", "openai:gpt-4o-mini", "-o", "schema_mode", "json_object", "-s", "Be exact.", "--schema", FIELDS, "Ada"
    )
    assert result.exit_code == 0
    body = openai.requests[0].json
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0] == {
        "content": "Be exact.\n\nReply with only a JSON object that satisfies this JSON Schema:\n"
        + json.dumps(FIELDS_SCHEMA),
        "role": "system",
    }
    assert "schema_mode" not in body


def test_a_reply_that_does_not_match_is_exit_4_with_the_text_kept(openai: LoopbackServer, isolated_env: Path) -> None:
    text = '{"name": "Ada", "age": "thirty-six"}'
    openai.enqueue(openai_reply(text))
    result = run("-m", "openai:gpt-4o-mini", "--schema", FIELDS, "Ada")
    assert (result.exit_code, result.stdout) == (4, text + "\n")
    assert error_line(result) == (
        "the reply does not match the schema at $.age: 'thirty-six' is not of type 'integer' "
        "(the reply is kept as it came, on stdout and in the history)"
    )
    rows = history_rows(isolated_env, "SELECT reply, outcome, exit_code, schema_id FROM exchanges")
    assert rows == [(text, "failed", 4, parse_schema(FIELDS).id)]


def test_a_reply_that_is_not_json_is_exit_4(openai: LoopbackServer) -> None:
    openai.enqueue(openai_reply("Sure! Here it is."))
    result = run("-m", "openai:gpt-4o-mini", "--json", "--schema", FIELDS, "Ada")
    assert result.exit_code == 4
    assert error_line(result).startswith("the reply is not JSON: Expecting value: line 1 column 1 (char 0)")
    record = json.loads(result.stdout)
    assert (record["content"], record["parsed"]) == ("Sure! Here it is.", None)


def test_events_are_the_usual_ones_and_the_check_still_counts(openai: LoopbackServer) -> None:
    openai.enqueue(openai_reply('{"name": "Ada"}'))
    result = run("-m", "openai:gpt-4o-mini", "--events", "--schema", FIELDS, "Ada")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [event["event"] for event in events][:2] == ["on_chat_model_start", "on_chat_model_stream"]
    assert events[-1]["event"] == "on_chat_model_end"
    assert events[-1]["data"]["output"]["content"] == '{"name": "Ada"}'
    assert result.exit_code == 4
    assert "at $: 'age' is a required property" in result.stderr


# -- Anthropic ------------------------------------------------------------------------------------

CLAUDE_KEY = "sk-ant-TESTKEY-0123456789"


@pytest.fixture
def claude(loopback_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:  # noqa: F811
    monkeypatch.setenv("ANTHROPIC_API_KEY", CLAUDE_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", loopback_server.base_url)
    return loopback_server


def claude_events(model: str, blocks: list[dict[str, Any]]) -> str:
    start = {"model": model, "id": "msg_1", "type": "message", "role": "assistant", "content": []}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, (block, deltas) in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
        events.append({"type": "content_block_stop", "index": index})
    delta = {"stop_reason": "tool_use" if blocks[-1][0]["type"] == "tool_use" else "end_turn", "stop_sequence": None}
    events += [{"type": "message_delta", "delta": delta, "usage": {"output_tokens": 9}}, {"type": "message_stop"}]
    return anthropic_sse(events)


def text_block(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    pieces = [text[index : index + 3] for index in range(0, len(text), 3)]
    return {"type": "text", "text": ""}, [{"type": "text_delta", "text": piece} for piece in pieces]


def tool_block(name: str, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    pieces = [text[index : index + 4] for index in range(0, len(text), 4)]
    block = {"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}
    return block, [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]


@pytest.mark.usefixtures("anthropic_transport")
def test_claude_gets_output_config(claude: LoopbackServer, anthropic_transport: str) -> None:
    claude.enqueue(Reply.sse(claude_events("claude-haiku-4-5", [text_block(ADA)])))
    result = run("-m", "anthropic:claude-haiku-4-5", "--max-tokens", "100", "--schema", FIELDS, "Ada")
    assert (result.exit_code, result.stdout, result.stderr) == (0, '{"name":"Ada","age":36}\n', "")
    expected = (
        b'{"model":"claude-haiku-4-5","max_tokens":100,"messages":[{"role":"user","content":"Ada"}],"stream":true,'
        b'"output_config":{"format":{"type":"json_schema","schema":' + FIELDS_JSON.encode() + b"}}}"
    )
    request = claude.requests[0]
    if anthropic_transport == "httpx":
        assert request.body == expected
    else:  # the SDK writes the same fields its own way
        assert request.json == json.loads(expected)


@pytest.mark.parametrize("model", ["claude-3-haiku-20240307", "claude-haiku-4-5"])
def test_older_claude_models_and_schema_mode_tool_use_one_forced_tool(claude: LoopbackServer, model: str) -> None:
    claude.enqueue(Reply.sse(claude_events(model, [tool_block("output", ADA)])))
    mode = [] if model.startswith("claude-3") else ["-o", "schema_mode", "tool"]
    result = run("-m", f"anthropic:{model}", "--max-tokens", "100", *mode, "--schema", FIELDS, "Ada")
    assert (result.exit_code, result.stdout, result.stderr) == (0, '{"name":"Ada","age":36}\n', "")
    assert claude.requests[0].body == (
        b'{"model":"' + model.encode() + b'","max_tokens":100,"messages":[{"role":"user","content":"Ada"}],'
        b'"stream":true,"tools":[{"name":"output","description":"Give the answer as this tool\'s input, which must '
        b'satisfy its schema.","input_schema":'
        + FIELDS_JSON.encode()
        + b'}],"tool_choice":{"type":"tool","name":"output"}}'
    )


def test_a_forced_tool_answer_is_recorded_as_the_reply(claude: LoopbackServer, isolated_env: Path) -> None:
    claude.enqueue(Reply.sse(claude_events("claude-3-haiku-20240307", [tool_block("output", ADA)])))
    result = run("-m", "anthropic:claude-3-haiku-20240307", "--json", "--schema", FIELDS, "Ada")
    assert json.loads(result.stdout)["parsed"] == {"name": "Ada", "age": 36}
    assert history_rows(isolated_env, "SELECT reply FROM exchanges") == [(ADA,)]


def test_thinking_cannot_go_with_a_forced_tool(claude: LoopbackServer) -> None:
    result = run("-m", "anthropic:claude-3-haiku-20240307", "--thinking", "--schema", FIELDS, "Ada")
    assert result.exit_code == 2
    assert error_line(result).startswith("--thinking cannot be used with -o schema_mode tool")
    assert claude.requests == []


# -- what it costs ----------------------------------------------------------------------------------


def test_the_validator_is_imported_only_with_a_schema() -> None:
    def modules(*args: str) -> set[str]:
        command = [*CHATSTREAM[:1], "-X", "importtime", *CHATSTREAM[1:], "-m", "echo", "-o", "delay_ms", "0", *args]
        done = subprocess.run(command, capture_output=True, text=True, env=cli_env(CHATSTREAM_NO_LOG="1"), check=True)
        return imported_modules(done.stderr)

    plain = modules("hi")
    assert not {name for name in plain if name.startswith(("jsonschema", "chatstream_cli.schema"))}
    assert {"jsonschema", "chatstream_cli.schema.check"} <= modules("--schema", FIELDS, "hi")


def test_usage_error_is_raised_before_anything_is_sent() -> None:
    with pytest.raises(UsageError):
        parse_schema("a b c")


# -- batch ----------------------------------------------------------------------------------------


@pytest.fixture
def batches(batch_server: BatchServer, monkeypatch: pytest.MonkeyPatch) -> BatchServer:  # noqa: F811
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-batch-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", CLAUDE_KEY)
    return batch_server


def test_batch_lines_carry_parsed_and_a_mismatch_is_a_failed_line_retry_failed_runs_again(
    batches: BatchServer, tmp_path: Path
) -> None:
    source = tmp_path / "people.jsonl"
    prompts = [ADA, '{"name": "Grace", "age": "old"}', '{"name": "Alan", "age": 41} #invalid-once']
    source.write_text("".join(json.dumps({"id": n, "prompt": text}) + "\n" for n, text in enumerate(prompts)))
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-m", "openai:m", "--base-url", f"{batches.base_url}/v1", "--schema", FIELDS]
    first = run(*args, "--out", str(out))
    assert first.exit_code == 4
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["parsed"] == {"name": "Ada", "age": 36}
    assert lines[1]["content"] == '{"name": "Grace", "age": "old"}'
    assert lines[1]["error"]["message"].startswith("the reply does not match the schema at $.age: 'old' is not of")
    assert (lines[1]["error"]["type"], lines[1]["error"]["exit_code"]) == ("schema_mismatch", 4)
    assert lines[2]["content"] == "{}"
    assert "at $: 'name' is a required property" in lines[2]["error"]["message"]
    retried = run(*args, "--retry-failed", "--out", str(out))
    assert retried.exit_code == 4  # Grace's age is still no integer
    lines = sorted((json.loads(line) for line in out.read_text().splitlines()), key=lambda line: line["id"])
    assert [line.get("parsed") for line in lines] == [{"name": "Ada", "age": 36}, None, {"name": "Alan", "age": 41}]
    assert batches.attempts[prompts[2]] == 2 and batches.attempts[prompts[0]] == 1


def test_a_schema_batch_is_recorded_and_logs_data_prints_its_objects_not_its_failures(
    batches: BatchServer, tmp_path: Path, isolated_env: Path
) -> None:
    source = tmp_path / "people.jsonl"
    prompts = [ADA, '{"name": "Grace", "age": "old"}', '{"name": "Alan", "age": 41} #invalid-once']
    source.write_text("".join(json.dumps({"id": n, "prompt": text}) + "\n" for n, text in enumerate(prompts)))
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-m", "openai:m", "--base-url", f"{batches.base_url}/v1", "--schema", FIELDS]
    assert run(*args, "--out", str(out)).exit_code == 4
    schema_id = parse_schema(FIELDS).id
    data = run("logs", "--schema", schema_id[:8], "--data")
    assert data.exit_code == 0, data.output
    assert [json.loads(line) for line in data.stdout.splitlines()] == [{"name": "Ada", "age": 36}]
    columns = "prompt, reply, model, provider, output_tokens, outcome, exit_code, schema_id, cid"
    rows = history_rows(isolated_env, f"SELECT {columns} FROM exchanges ORDER BY id")
    replies = [(ADA, '{"name": "Ada", "age": 36}'), (prompts[1], prompts[1]), (prompts[2], "{}")]
    assert [row[:2] for row in rows] == replies
    failed = ("failed", 4, schema_id)
    assert [row[5:8] for row in rows] == [("completed", 0, schema_id), failed, failed]
    assert all(row[2] == "m" and row[3] == "openai" and row[4] for row in rows)
    assert len({row[8] for row in rows}) == 3  # each line is a conversation of its own
    assert json.loads(out.read_text().splitlines()[0])["cid"] == rows[0][8]  # where the history has it
    retried = run(*args, "--retry-failed", "--out", str(out))
    assert retried.exit_code == 4
    with_ids = run("logs", "--schema", schema_id[:8], "--data-ids")
    (alan_id,) = history_rows(isolated_env, "SELECT id FROM exchanges WHERE exit_code = 0 AND prompt LIKE '%Alan%'")[0]
    assert [json.loads(line) for line in with_ids.stdout.splitlines()] == [
        {"name": "Ada", "age": 36, "exchange_id": 1},
        {"name": "Alan", "age": 41, "exchange_id": alan_id},
    ]


def test_ctrl_c_in_a_schema_batch_leaves_every_written_line_in_the_history(tmp_path: Path, isolated_env: Path) -> None:
    source = tmp_path / "prompts.txt"
    source.write_text("".join(f"person {n}\n" for n in range(200)))
    out = tmp_path / "out.jsonl"
    argv = [*CHATSTREAM, "batch", str(source), "-m", "builtin:echo", "-o", "delay_ms", "20", "-j", "2", "-q"]
    with subprocess.Popen(
        [*argv, "--schema", FIELDS, "--out", str(out)], stderr=subprocess.PIPE, env=cli_env(), preexec_fn=os.setpgrp
    ) as process:
        deadline = time.monotonic() + 20
        while (not out.exists() or out.read_bytes().count(b"\n") < 5) and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130 and b"Traceback" not in stderr
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert 5 <= len(written) < 200
    recorded = dict(history_rows(isolated_env, "SELECT run_id, cid FROM exchanges"))
    assert all(recorded[line["run_id"]] == line["cid"] for line in written)  # none lost however it ended


def test_a_batch_without_a_schema_or_with_no_log_records_nothing(tmp_path: Path, isolated_env: Path) -> None:
    source = tmp_path / "prompts.txt"
    source.write_text("one\ntwo\n")
    plain = run("batch", str(source), "-m", "builtin:echo", "-o", "delay_ms", "0")
    assert plain.exit_code == 0 and len(plain.stdout.splitlines()) == 2
    assert not (isolated_env / "history.db").exists()
    unlogged = run("batch", str(source), "-m", "builtin:echo", "-o", "delay_ms", "0", "--schema", FIELDS, "--no-log")
    assert unlogged.exit_code == 0 and len(unlogged.stdout.splitlines()) == 2
    assert not (isolated_env / "history.db").exists()


def test_a_batch_whose_history_cannot_be_written_warns_once_and_writes_every_result(
    tmp_path: Path, isolated_env: Path
) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "history.db").write_text("not a database")
    source = tmp_path / "prompts.txt"
    source.write_text("one\ntwo\n")
    result = run("batch", str(source), "-m", "builtin:echo", "-o", "delay_ms", "0", "--schema", FIELDS)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "not all recorded" in warnings[0] and "not a usable SQLite database" in warnings[0]


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_provider_batch_requests_carry_the_schema_and_results_are_checked(batches: BatchServer, provider: str) -> None:
    model = "anthropic:claude-haiku-4-5" if provider == "anthropic" else "openai:gpt-4o-mini"
    url = batches.base_url if provider == "anthropic" else f"{batches.base_url}/v1"
    prompts = "".join(json.dumps({"id": n, "prompt": text}) + "\n" for n, text in enumerate([ADA, '{"name": 1}']))
    result = run(
        "batch", "-", "-m", model, "--base-url", url, "--provider-batch", "-q", "--schema", FIELDS, input=prompts
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 4
    assert lines[0]["parsed"] == {"name": "Ada", "age": 36}
    assert lines[1]["error"]["message"].startswith("the reply does not match the schema at $")
    (created,) = batches.created
    if provider == "anthropic":
        params = created["requests"][0]["params"]
        assert params["output_config"] == {"format": {"type": "json_schema", "schema": FIELDS_SCHEMA}}
    else:
        uploaded = json.loads(batches.files[created["input_file_id"]].decode().splitlines()[0])
        expected = {"name": "output", "schema": FIELDS_SCHEMA, "strict": True}
        assert uploaded["body"]["response_format"] == {"type": "json_schema", "json_schema": expected}


# -- saved schemas and roles ------------------------------------------------------------------------


def test_saved_schemas_by_name_and_recorded_ones_by_hash(isolated_env: Path) -> None:
    saved = run("schemas", "save", "person", FIELDS)
    assert (saved.exit_code, saved.stdout) == (
        0,
        f"saved schema person in {isolated_env / 'schemas' / 'person.json'}\n",
    )
    assert json.loads((isolated_env / "schemas" / "person.json").read_text()) == FIELDS_SCHEMA
    assert offline("--schema", "person", "Ada").stdout == '{"name":"Ada","age":78}\n'
    assert offline("--schema-multi", "title", "Ada").exit_code == 0
    person, titles = parse_schema(FIELDS).id, parse_schema("title", multi=True).id
    listed = run("schemas", "list").stdout.splitlines()
    assert listed == [
        f"{person[:12]}  person           1 use  name, age int",
        f"{titles[:12]}  -                1 use  list of: title",
    ]
    shown = run("schemas", "show", titles[:8])
    assert json.loads(shown.stdout) == parse_schema("title", multi=True).wire
    again = offline("--schema", titles[:8], "Bo")  # a --schema-multi schema asks for the list again
    assert again.stdout == '[{"title":"Bo"},{"title":"Bo"}]\n'
    assert history_rows(isolated_env, "SELECT schema_id FROM exchanges")[-1] == (titles,)
    removed = run("schemas", "remove", "person")
    assert removed.exit_code == 0 and not (isolated_env / "schemas" / "person.json").exists()
    for args, message in (
        (["schemas", "remove", "person"], "no saved schema named 'person'"),
        (["schemas", "show", "nobody"], "no schema is named 'nobody' or has an id that starts so"),
        (["schemas", "save", "x", "a b c"], "SCHEMA: 'a b c' is not a field"),
    ):
        result = run(*args)
        assert result.exit_code == 2 and error_line(result).startswith(message), args


def test_a_role_carries_a_schema_and_the_command_line_wins() -> None:
    saved = run("roles", "save", "person", "-m", "builtin:echo", "--schema", FIELDS, "--template", "Who: {input}")
    assert saved.exit_code == 0
    assert run("--role", "person", "-o", "delay_ms", "0", "Ada").stdout == '{"name":"Who: Ada","age":78}\n'
    multi = run("--role", "person", "-o", "delay_ms", "0", "--schema-multi", "title", "Ada")
    assert multi.stdout == '[{"title":"Who: Ada"},{"title":"Who: Ada"}]\n'
    bad = run("roles", "save", "broken", "--schema", '{"type": "array"}')
    assert bad.exit_code == 2 and error_line(bad).startswith("--schema must describe an object")


# -- reading it back ------------------------------------------------------------------------------


def test_logs_data_prints_every_object_made_with_a_schema() -> None:
    for name in ("Ada", "Bo"):
        assert offline("--schema", FIELDS, name).exit_code == 0
    assert offline("--schema", "title", "other schema").exit_code == 0
    assert offline("--schema-multi", "title", "T").exit_code == 0
    data = run("logs", "--schema", FIELDS, "--data")
    assert (data.exit_code, data.stdout) == (0, '{"name": "Ada", "age": 78}\n{"name": "Bo", "age": 78}\n')
    with_ids = run("logs", "--schema", parse_schema(FIELDS).id[:10], "--data-ids")
    assert [json.loads(line)["exchange_id"] for line in with_ids.stdout.splitlines()] == [1, 2]
    listed = run("logs", "--schema", parse_schema("title", multi=True).id[:8], "--data")
    assert listed.stdout == '{"title": "T"}\n{"title": "T"}\n'  # a list's items, one a line
    shown = run("logs", "--schema", FIELDS, "--jsonl", "-n", "0")
    assert [json.loads(line)["prompt"] for line in shown.stdout.splitlines()] == ["Ada", "Bo"]
    missing = run("logs", "--data")
    assert missing.exit_code == 2 and error_line(missing).startswith("--data prints what a schema extracted")


def test_with_structured_output_invokes_and_streams_the_growing_data(openai: LoopbackServer) -> None:
    model = get_model("openai:gpt-4o-mini").with_structured_output(FIELDS_SCHEMA)
    openai.enqueue_many([openai_reply(ADA), openai_reply(ADA), openai_reply('{"name": 1}')])
    grown = list(model.stream("Ada"))
    assert grown[-1] == {"name": "Ada", "age": 36}
    assert all(a != b for a, b in itertools.pairwise(grown)) and len(grown) > 3
    assert [item.get("name") for item in grown[:3]] == [None, "Ad", "Ada"]
    assert json.loads(openai.requests[0].body)["response_format"]["json_schema"]["strict"] is True
    assert list(model.stream("Ada"))[-1] == {"name": "Ada", "age": 36}
    with pytest.raises(SchemaMismatch, match=r"at \$: 'age' is a required property"):
        list(model.stream("bad"))


def test_with_structured_output_offline_returns_dicts_and_lists() -> None:
    poet = get_model("builtin:poet", delay_ms=0).with_structured_output(FIELDS_SCHEMA)
    assert poet.invoke("goldfish") == {"name": "Oh goldfish, oh moon, so far away,", "age": 78}
    listed = get_model("builtin:echo", delay_ms=0).with_structured_output("title", multi=True)
    assert listed.invoke("T") == [{"title": "T"}, {"title": "T"}]
    assert listed.batch(["a", "b"]) == [[{"title": "a"}] * 2, [{"title": "b"}] * 2]


def test_a_forced_tool_answer_cut_short_keeps_what_arrived(claude: LoopbackServer, isolated_env: Path) -> None:
    stream = claude_events("claude-3-haiku-20240307", [tool_block("output", ADA)])
    claude.enqueue(Reply.sse(stream, drop_after=5))  # message_start, the block's start, three pieces
    result = run("-m", "anthropic:claude-3-haiku-20240307", "--retries", "0", "--schema", FIELDS, "Ada")
    assert (result.exit_code, result.stdout) == (5, ADA[:12] + "\n")
    assert history_rows(isolated_env, "SELECT reply, outcome FROM exchanges") == [(ADA[:12], "failed")]


def test_a_history_of_the_first_version_gains_the_schemas_table(isolated_env: Path) -> None:
    from chatstream_cli.history import store

    isolated_env.mkdir(parents=True)
    with sqlite3.connect(isolated_env / "history.db", isolation_level=None) as db:
        store._v1(db)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO conversations VALUES ('c1', 't', 't', 'builtin:echo')")
    assert offline("-c", "--schema", FIELDS, "Ada").exit_code == 0
    assert history_rows(isolated_env, "PRAGMA user_version") == [(3,)]
    assert history_rows(isolated_env, "SELECT cid, schema_id FROM exchanges") == [("c1", parse_schema(FIELDS).id)]


def test_json_in_a_code_fence_is_taken_from_it(openai: LoopbackServer) -> None:
    openai.enqueue(openai_reply("```json\n" + ADA + "\n```"))
    result = run("-m", "openai:gpt-4o-mini", "-o", "schema_mode", "json_object", "--schema", FIELDS, "Ada")
    assert (result.exit_code, result.stdout) == (0, '{"name":"Ada","age":36}\n')


def test_a_schema_and_tools_together_are_refused_before_anything_is_sent() -> None:
    for tools in (["-T", "now"], ["--functions", "def add(a: int, b: int) -> int:\n    return a + b\n"]):
        result = run("-m", "builtin:echo", "--schema", FIELDS, *tools, "Ada")
        assert result.exit_code == 2, tools
        assert error_line(result).startswith("--schema and tools (--functions, -T, --mcp) cannot be used together")
