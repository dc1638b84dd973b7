"""Record what LangChain makes of each stream fixture: ``langchain_events`` in tests/data/streams/*/*.json.

    /path/to/venv-with-langchain/bin/python scripts/langchain_stream_events.py [NAME_SUBSTRING ...]

Run it with a Python that has langchain-core 1.8.3, langchain-anthropic 1.7.10, langchain-openai
1.7.4 and langchain-google-genai 4.4.3 (not chatstream's venv: the suite reads the recorded events and
never needs LangChain). Each fixture's ``.sse`` body is served on 127.0.0.1, one SSE event per write, to
ChatAnthropic, ChatOpenAI, AzureChatOpenAI or ChatGoogleGenerativeAI built as chatstream's ``--events``
run is (the fixture's ``cli``: model, max_tokens, stop, thinking; no tools, no retries), and every
``astream_events(version="v2")`` event is stored as JSON (a Gemini fixture with ``also_on_vertex`` is also
recorded with ``vertexai=True``, as ``langchain_vertex_events``). When LangChain itself
raises, the events before it are stored and then ``{"kind": "exception", ...}``.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
import uuid
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STREAMS = Path(__file__).resolve().parents[1] / "tests" / "data" / "streams"
KEYS = {
    "anthropic": "sk-ant-fixture-0123456789",
    "openai": "sk-fixture-0123456789",
    "azure": "azure-fixture-0123456789",
    "gemini": "gemini-fixture-0123456789",
}
AZURE_API_VERSION = "2024-10-21"
# An event ends at a blank line: "\n\n", or "\r\n\r\n" as the Gemini API sends them.
EVENT_END = re.compile(rb"(?<=\n\n)|(?<=\r\n\r\n)")


def serve(body: bytes) -> ThreadingHTTPServer:
    """A server that answers every POST with ``body``, chunked one SSE event per write."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.send_header("connection", "close")
            self.end_headers()
            for piece in (part for part in EVENT_END.split(body) if part):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def jsonable(value: Any) -> Any:
    from langchain_core.messages import BaseMessage
    from pydantic import BaseModel

    if isinstance(value, BaseMessage | BaseModel):
        return jsonable(value.model_dump(mode="json"))
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    return value if value is None or isinstance(value, str | int | float | bool) else repr(value)


def model_for(meta: dict[str, Any], base_url: str) -> Any:
    cli, provider = meta["cli"], meta["provider"]
    options: dict[str, Any] = {"stop": cli["stop"]} if cli.get("stop") else {}
    if provider == "anthropic":
        from langchain_anthropic import ChatAnthropic

        return ChatAnthropic(
            model=cli["model"], base_url=base_url, api_key=KEYS[provider], max_retries=0,
            max_tokens=cli.get("max_tokens") or 1024, **options,
        )  # fmt: skip
    if provider in ("gemini", "vertex"):
        from langchain_google_genai import ChatGoogleGenerativeAI

        if cli.get("max_tokens"):
            options["max_output_tokens"] = cli["max_tokens"]
        if provider == "vertex":  # Gemini on Vertex AI: the same class, with a token instead of a key
            from google.oauth2.credentials import Credentials

            options |= {"vertexai": True, "project": "my-project", "location": "us-central1"}
            options["credentials"] = Credentials(token="ya29.fixture-token")
        else:
            options["google_api_key"] = KEYS[provider]
        return ChatGoogleGenerativeAI(
            model=cli["model"], base_url=base_url, max_retries=0, temperature=cli.get("temperature"),
            include_thoughts=cli.get("thinking") or None, **options,
        )  # fmt: skip
    from langchain_openai import AzureChatOpenAI, ChatOpenAI

    if cli.get("max_tokens"):
        options["max_tokens"] = cli["max_tokens"]
    if provider == "azure":
        return AzureChatOpenAI(
            azure_deployment=cli["model"], azure_endpoint=base_url, api_key=KEYS[provider],
            api_version=AZURE_API_VERSION, max_retries=0, stream_usage=True, **options,
        )  # fmt: skip
    return ChatOpenAI(
        model=cli["model"],
        base_url=f"{base_url}/v1",
        api_key=KEYS[provider],
        max_retries=0,
        stream_usage=True,
        **options,
    )


async def langchain_events(meta: dict[str, Any], body: bytes) -> list[dict[str, Any]]:
    server = serve(body)
    events: list[dict[str, Any]] = []
    try:
        model = model_for(meta, f"http://127.0.0.1:{server.server_address[1]}")
        async for event in model.astream_events(meta["cli"]["prompt"], version="v2"):
            events.append(jsonable(event))
    except Exception as error:
        events.append({"kind": "exception", "class": type(error).__name__, "message": str(error)[:300]})
    finally:
        server.shutdown()
    return events


def main(names: list[str]) -> None:
    warnings.simplefilter("ignore")
    for path in sorted(STREAMS.glob("*/*.json")):
        if names and not any(name in str(path) for name in names):
            continue
        meta = json.loads(path.read_text(encoding="utf-8"))
        body = path.with_suffix(".sse").read_bytes()
        meta["langchain_events"] = asyncio.run(langchain_events(meta, body))
        if meta.get("also_on_vertex"):  # the same stream from Vertex AI, as ChatGoogleGenerativeAI(vertexai=True)
            meta["langchain_vertex_events"] = asyncio.run(langchain_events({**meta, "provider": "vertex"}, body))
        path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{path.relative_to(STREAMS)}: {len(meta['langchain_events'])} events")


if __name__ == "__main__":
    main(sys.argv[1:])
