"""A loopback HTTP server for ``chatstream batch``: a scriptable chat endpoint and both batch services.

* ``POST /v1/chat/completions`` streams ``echo: <last user message>`` as OpenAI's SSE. Words in the prompt
  script faults: ``#500`` always fails with 500, ``#flaky`` fails the first attempt only (both with
  ``retry-after-ms: 5``), ``#429`` answers the first attempt with 429 and ``retry-after: 0.1``, ``#slow``
  waits ``slow_s`` first, ``#midfail`` sends one token and then cuts the connection. The server counts
  the requests of every prompt and the most it ever served at once (``peak``). A prompt that is a JSON
  object (what a ``--schema`` test sends) is answered with itself, or with ``{}`` on the first attempt when
  it ends with ``#invalid-once`` (see :func:`answer_text`).
* Anthropic's Message Batches (``/v1/messages/batches``: create, retrieve, ``/results`` JSONL, ``/cancel``)
  and OpenAI's Files + Batch API (``POST /v1/files`` multipart with ``purpose=batch``, ``/v1/batches``
  create/retrieve/cancel, ``GET /v1/files/{id}/content``). A batch ends after ``polls_to_end`` retrieves;
  ``expire_after`` makes every request after that many in a batch expire; a prompt with ``#bad`` errors;
  results are served in reverse order. Retrieves carry ``retry-after-ms`` so polling is quick.

Stand-alone (for benchmarks/batch.py): ``python -m tests.batch_server`` prints its base URL, serves until killed.
"""

from __future__ import annotations

import contextlib
import email.parser
import itertools
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

POLL_HINT_MS = "10"


@dataclass
class Job:
    """One submitted batch: its requests (custom_id, prompt, model) and how far it got."""

    kind: str  # "anthropic" or "openai"
    id: str
    requests: list[tuple[str, str, str]]
    polls: int = 0
    canceled: bool = False
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None


@dataclass
class BatchServer:
    slow_s: float = 0.3
    polls_to_end: int = 2
    expire_after: int | None = None
    throttle_first_poll: bool = False
    #: Chat requests served at once beyond which the chat endpoint answers 429 with ``retry-after: 30``,
    #: as LiteLLM's ``max_parallel_requests`` does (None: no limit); ``rejected`` counts those 429s.
    max_parallel: int | None = None
    rejected: int = 0
    admitted: int = 0
    attempts: Counter[str] = field(default_factory=Counter)
    peak: int = 0
    active: int = 0
    jobs: dict[str, Job] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def start(self) -> BatchServer:
        owner = self

        class Handler(_Handler):
            server_state = owner

        self.http = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def new_id(self, prefix: str) -> str:
        with self.lock:
            return f"{prefix}{next(self._ids):04d}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a batch opens many connections at once; the default 5 would reset some


class _Handler(BaseHTTPRequestHandler):
    server_state: BatchServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing ---------------------------------------------------------------------------------

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
        self._leave()  # a chat slot frees before the client sees the end of its answer
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200, **headers: str) -> None:
        self._send(status, json.dumps(obj).encode(), **headers)

    def _not_found(self) -> None:
        self._json({"error": {"type": "not_found_error", "message": f"no {self.path}"}}, 404)

    def do_GET(self) -> None:
        state = self.server_state
        if match := re.fullmatch(r"/v1/messages/batches/(\w+)", self.path):
            self._poll(match[1], anthropic_batch)
        elif match := re.fullmatch(r"/v1/messages/batches/(\w+)/results", self.path):
            job = state.jobs[match[1]]
            lines = [json.dumps(anthropic_result(job, i, request, state)) for i, request in enumerate(job.requests)]
            self._send(200, "\n".join(reversed(lines)).encode() + b"\n", "application/binary")
        elif match := re.fullmatch(r"/v1/batches/(\w+)", self.path):
            self._poll(match[1], openai_batch)
        elif match := re.fullmatch(r"/v1/files/([\w-]+)/content", self.path):
            self._send(200, state.files[match[1]], "application/octet-stream")
        else:
            self._not_found()

    def do_POST(self) -> None:
        state = self.server_state
        body = self._body()
        if self.path == "/v1/chat/completions":
            self._chat(json.loads(body))
        elif self.path == "/v1/messages/batches":
            data = json.loads(body)
            state.created.append(data)
            requests = [
                (r["custom_id"], r["params"]["messages"][-1]["content"], r["params"]["model"]) for r in data["requests"]
            ]
            job = Job("anthropic", state.new_id("msgbatch_"), requests)
            state.jobs[job.id] = job
            self._json(anthropic_batch(job, state))
        elif match := re.fullmatch(r"/v1/messages/batches/(\w+)/cancel", self.path):
            job = state.jobs[match[1]]
            job.canceled = True
            self._json(anthropic_batch(job, state))
        elif self.path == "/v1/files":
            self._upload(body)
        elif self.path == "/v1/batches":
            data = json.loads(body)
            state.created.append(data)
            lines = state.files[data["input_file_id"]].decode().splitlines()
            parsed = [json.loads(line) for line in lines]
            requests = [(p["custom_id"], p["body"]["messages"][-1]["content"], p["body"]["model"]) for p in parsed]
            job = Job("openai", state.new_id("batch_"), requests, input_file_id=data["input_file_id"])
            state.jobs[job.id] = job
            self._json(openai_batch(job, state))
        elif match := re.fullmatch(r"/v1/batches/(\w+)/cancel", self.path):
            job = state.jobs[match[1]]
            job.canceled = True
            self._json(openai_batch(job, state))
        else:
            self._not_found()

    def _poll(self, job_id: str, describe: Any) -> None:
        state = self.server_state
        job = state.jobs.get(job_id)
        if job is None:
            return self._not_found()
        if state.throttle_first_poll and job.polls == 0:
            job.polls = -1  # the next poll is the first real one
            return self._json({"error": {"type": "rate_limit_error", "message": "slow down"}}, 429, retry_after_ms="10")
        job.polls = max(job.polls, 0) + 1
        self._json(describe(job, state), retry_after_ms=POLL_HINT_MS)

    def _upload(self, body: bytes) -> None:
        state = self.server_state
        head = f"content-type: {self.headers['content-type']}\r\n\r\n".encode()
        message = email.parser.BytesParser().parsebytes(head + body)
        parts = {part.get_param("name", header="content-disposition"): part for part in message.get_payload()}
        assert parts["purpose"].get_payload(decode=True) == b"batch"
        file_id = state.new_id("file-")
        state.files[file_id] = parts["file"].get_payload(decode=True)
        self._json({"id": file_id, "object": "file", "bytes": len(state.files[file_id]), "purpose": "batch"})

    # -- the chat endpoint ------------------------------------------------------------------------

    def _chat(self, request: dict[str, Any]) -> None:
        state = self.server_state
        prompt = request["messages"][-1]["content"]
        with state.lock:
            state.attempts[prompt] += 1
            attempt = state.attempts[prompt]
            over = state.max_parallel is not None and state.admitted >= state.max_parallel
            state.rejected += over
            state.admitted += not over
            state.active += not over
            state.peak = max(state.peak, state.active)
        self._in_slot = not over
        if over:
            error = {"error": {"message": "Max parallel request limit reached", "type": "None", "code": "429"}}
            return self._json(error, 429, retry_after="30")
        try:
            self._chat_reply(prompt, attempt, streaming=request.get("stream", False))
        finally:
            self._leave()  # an answer cut off without _send
        return None

    def _leave(self) -> None:
        """Free the chat slot this request holds, once: before its answer's last bytes go out, so that a
        client that starts its next request as soon as it has read an answer is never counted twice."""
        if getattr(self, "_in_slot", False):
            self._in_slot = False
            with self.server_state.lock:
                self.server_state.admitted -= 1
                self.server_state.active -= 1

    def _chat_reply(self, prompt: str, attempt: int, *, streaming: bool) -> None:
        if "#slow" in prompt:
            time.sleep(self.server_state.slow_s)
        if "#500" in prompt or ("#flaky" in prompt and attempt == 1):
            return self._json({"error": {"message": "boom", "type": "server_error"}}, 500, retry_after_ms="5")
        if "#429" in prompt and attempt == 1:
            return self._json({"error": {"message": "slow down", "type": "rate_limit_error"}}, 429, retry_after="0.1")
        if not streaming:
            return self._json(completion(prompt, "m", 0))
        text = answer_text(prompt, attempt)
        first, rest = ("echo: ", prompt) if text.startswith("echo: ") else (text[:1], text[1:])
        events = [completion_chunk({"role": "assistant", "content": ""}), completion_chunk({"content": first})]
        if "#midfail" in prompt:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", "100000")
            self.end_headers()
            self.wfile.write(b"".join(sse(event) for event in events))
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return None
        events += [completion_chunk({"content": rest}), completion_chunk({}, "stop")]
        events.append(
            {"id": "c", "object": "chat.completion.chunk", "model": "m", "choices": [], "usage": usage(prompt)}
        )
        body = b"".join(sse(event) for event in events) + b"data: [DONE]\n\n"
        self._send(200, body, "text/event-stream")
        return None


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def completion_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}


def completion(prompt: str, model: str, number: int) -> dict[str, Any]:
    """A whole ``chat.completion`` replying ``echo: <prompt>``."""
    message = {"role": "assistant", "content": answer_text(prompt)}
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage(prompt),
    }


def answer_text(prompt: str, attempt: int = 1) -> str:
    """``echo: <prompt>``; a prompt that is a JSON object is answered with itself (``{}`` on a first attempt
    that says ``#invalid-once``), so a ``--schema`` test chooses the document it gets."""
    document = prompt.replace("#invalid-once", "").strip()
    if not document.startswith("{"):
        return f"echo: {prompt}"
    return "{}" if "#invalid-once" in prompt and attempt == 1 else document


def usage(prompt: str) -> dict[str, int]:
    words = len(prompt.split())
    return {"prompt_tokens": words, "completion_tokens": words + 2, "total_tokens": 2 * words + 2}


# -- the batch services ---------------------------------------------------------------------------


def outcome(job: Job, position: int, prompt: str, state: BatchServer) -> str:
    """What became of one request once the batch ended: succeeded, errored, expired or canceled."""
    if "#bad" in prompt:
        return "errored"
    if job.canceled:
        return "canceled"
    if state.expire_after is not None and position >= state.expire_after:
        return "expired"
    return "succeeded"


def ended(job: Job, state: BatchServer) -> bool:
    return job.canceled or job.polls >= state.polls_to_end


def tally(job: Job, state: BatchServer) -> Counter[str]:
    if not ended(job, state):
        done = len(job.requests) // 2 if job.polls else 0
        return Counter(succeeded=done, processing=len(job.requests) - done)
    return Counter(outcome(job, i, request[1], state) for i, request in enumerate(job.requests))


def anthropic_batch(job: Job, state: BatchServer) -> dict[str, Any]:
    counts = tally(job, state)
    finished = ended(job, state)
    return {
        "id": job.id,
        "type": "message_batch",
        "processing_status": "ended" if finished else ("canceling" if job.canceled else "in_progress"),
        "request_counts": {
            name: counts[name] for name in ("processing", "succeeded", "errored", "canceled", "expired")
        },
        "ended_at": "2026-12-01T00:00:00Z" if finished else None,
        "created_at": "2026-12-01T00:00:00Z",
        "expires_at": "2026-12-02T00:00:00Z",
        "cancel_initiated_at": None,
        "results_url": f"{state.base_url}/v1/messages/batches/{job.id}/results" if finished else None,
    }


def anthropic_result(job: Job, position: int, request: tuple[str, str, str], state: BatchServer) -> dict[str, Any]:
    custom_id, prompt, model = request
    kind = outcome(job, position, prompt, state)
    if kind == "errored":
        error = {"type": "invalid_request_error", "message": "prompt is bad"}
        return {"custom_id": custom_id, "result": {"type": "errored", "error": {"type": "error", "error": error}}}
    if kind != "succeeded":
        return {"custom_id": custom_id, "result": {"type": kind}}
    message = {
        "id": f"msg_{custom_id}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": answer_text(prompt)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": len(prompt.split()), "output_tokens": len(prompt.split()) + 2},
    }
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}


def openai_batch(job: Job, state: BatchServer) -> dict[str, Any]:
    counts = tally(job, state)
    finished = ended(job, state)
    if finished and job.output_file_id is None:
        _write_openai_files(job, state)
    expired = counts["expired"] > 0
    status = "in_progress"
    if finished:
        status = "cancelled" if job.canceled else "expired" if expired else "completed"
    return {
        "id": job.id,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": None,
        "input_file_id": job.input_file_id,
        "completion_window": "24h",
        "status": status,
        "output_file_id": job.output_file_id,
        "error_file_id": job.error_file_id,
        "created_at": 1764547200,
        "request_counts": {
            "total": len(job.requests),
            "completed": counts["succeeded"],
            "failed": counts["errored"] + counts["expired"] + counts["canceled"],
        },
    }


def _write_openai_files(job: Job, state: BatchServer) -> None:
    output, errors = [], []
    for position, (custom_id, prompt, model) in enumerate(job.requests):
        kind = outcome(job, position, prompt, state)
        line: dict[str, Any] = {"id": f"batch_req_{position}", "custom_id": custom_id}
        if kind == "succeeded":
            body = completion(prompt, model, position)
            output.append({**line, "response": {"status_code": 200, "request_id": "r", "body": body}, "error": None})
        elif kind == "errored":
            body = {"error": {"message": "prompt is bad", "type": "invalid_request_error", "param": None, "code": None}}
            errors.append({**line, "response": {"status_code": 400, "request_id": "r", "body": body}, "error": None})
        else:
            code = "batch_expired" if kind == "expired" else "batch_cancelled"
            errors.append({**line, "response": None, "error": {"code": code, "message": f"request {kind}"}})
    job.output_file_id = state.new_id("file-")
    state.files[job.output_file_id] = "".join(json.dumps(line) + "\n" for line in reversed(output)).encode()
    if errors:
        job.error_file_id = state.new_id("file-")
        state.files[job.error_file_id] = "".join(json.dumps(line) + "\n" for line in reversed(errors)).encode()


@pytest.fixture
def batch_server() -> Iterator[BatchServer]:
    server = BatchServer().start()
    try:
        yield server
    finally:
        server.close()


def main() -> None:
    server = BatchServer().start()
    print(server.base_url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


if __name__ == "__main__":
    main()
