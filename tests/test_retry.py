"""The shared failure policy (chatstream_cli.retry), provider-neutral: parsing, mapping, retry loops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.utils import formatdate
from types import SimpleNamespace

import pytest

from chatstream_cli.errors import AuthError, NetworkError, ProviderError, UnknownModelError
from chatstream_cli.retry import (
    Failure,
    RetryPolicy,
    Service,
    acall_with_retries,
    api_error_detail,
    astream_with_retries,
    call_with_retries,
    parse_retry_after,
    redacted_headers,
    show_http_trace,
    status_failure,
    stream_with_retries,
    timeout_parts,
    trace_request,
)

SERVICE = Service("example", "Example", "model-1", "https://api.example.com", "EXAMPLE_API_KEY", secret="sk-SECRET")


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after-ms": "nan"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(headers) == seconds


def test_parse_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after({"retry-after": formatdate(now + 30, usegmt=True)}, now=now) == 30
    assert parse_retry_after({"retry-after": formatdate(now - 30, usegmt=True)}, now=now) == 0


@pytest.mark.parametrize(
    ("status", "error_class", "exit_code", "message", "retryable"),
    [
        (400, ProviderError, 4, "Example rejected the request (HTTP 400: bad)", False),
        (401, AuthError, 3, "Example rejected the API key (HTTP 401: bad)", False),
        (403, AuthError, 3, "Example refused this API key access (HTTP 403: bad)", False),
        (404, UnknownModelError, 3, "Example does not know the model 'model-1' (HTTP 404: bad)", False),
        (408, ProviderError, 4, "Example timed out (HTTP 408: bad)", True),
        (409, ProviderError, 4, "Example failed (HTTP 409: bad)", True),
        (413, ProviderError, 4, "Example rejected the request as too large (HTTP 413: bad)", False),
        (429, ProviderError, 4, "rate limited by Example (HTTP 429: bad)", True),
        (500, ProviderError, 4, "Example failed (HTTP 500: bad)", True),
        (502, ProviderError, 4, "Example failed (HTTP 502: bad)", True),
        (503, ProviderError, 4, "Example is unavailable (HTTP 503: bad)", True),
        (504, ProviderError, 4, "Example timed out (HTTP 504: bad)", True),
        (529, ProviderError, 4, "Example is overloaded (HTTP 529: bad)", True),
    ],
)
def test_status_failure(status: int, error_class: type, exit_code: int, message: str, retryable: bool) -> None:
    failure = status_failure(SERVICE, status, message="bad")
    assert type(failure.error) is error_class
    assert failure.error.exit_code == exit_code
    assert failure.error.message == message
    assert failure.error.status == status
    assert failure.retryable is retryable


def test_a_redirect_names_where_it_points_and_a_402_asks_for_credits() -> None:
    moved = status_failure(SERVICE, 308, headers={"location": "https://new.example/v1/chat/completions"})
    assert str(moved.error) == (
        "Example redirected the request to https://new.example/v1/chat/completions (HTTP 308) "
        "(use the new address as --base-url)"
    )
    assert moved.error.exit_code == 4 and not moved.retryable
    unpaid = status_failure(SERVICE, 402, message="Insufficient credits")
    assert str(unpaid.error) == (
        "Example asks for payment (HTTP 402: Insufficient credits) (check the account's credits or billing)"
    )


def test_auth_hint_says_how_to_set_the_key() -> None:
    failure = status_failure(SERVICE, 401, message="invalid key sk-SECRET", error_type="authentication_error")
    assert str(failure.error) == (
        "Example rejected the API key (HTTP 401: invalid key <redacted>) "
        "(set EXAMPLE_API_KEY or run `chatstream keys set example`)"
    )
    assert failure.error.error_type == "authentication_error"


def test_api_messages_are_one_short_line() -> None:
    failure = status_failure(SERVICE, 400, message="line one\nline two " + "x" * 1000)
    assert "\n" not in failure.error.message
    assert len(failure.error.message) < 350


def test_api_error_detail_shapes() -> None:
    assert api_error_detail({"error": {"type": "rate_limit_error", "message": "slow"}}) == ("slow", "rate_limit_error")
    assert api_error_detail({"error": {"message": "m", "code": "rate_limit_exceeded"}}) == ("m", "rate_limit_exceeded")
    assert api_error_detail({"error": "plain"}) == ("plain", None)
    fastapi = {"detail": [{"loc": ["body", "messages"], "msg": "field required", "type": "missing"}]}
    assert api_error_detail(fastapi) == ("body.messages: field required", None)
    assert api_error_detail({"detail": "Not Found"}) == ("Not Found", None)
    assert api_error_detail("<html>") == (None, None)


def test_timeout_parts() -> None:
    assert timeout_parts(2.5) == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}
    assert timeout_parts(60) == {"connect": 10.0, "read": 60, "write": 60, "pool": 60}
    assert timeout_parts(None) == {"connect": 10.0, "read": None, "write": None, "pool": None}


def test_backoff_without_a_header_grows() -> None:
    policy = RetryPolicy(retries=5)
    failure = Failure(ProviderError("busy"), retryable=True)
    waits = [policy.next_wait(failure, attempt) for attempt in (1, 2, 3, 4, 5)]
    for wait, top in zip(waits, (0.5, 1, 2, 4, 8), strict=True):
        assert top * 0.75 <= wait <= top
    assert policy.next_wait(failure, 6) is None


class Flaky(Exception):
    """A failure a test provider raises; classified as retryable with no wait."""


def classify(exc: Exception) -> Failure | None:
    if isinstance(exc, Flaky):
        return Failure(ProviderError(f"flaky {exc}"), retryable=True, retry_after=0)
    if isinstance(exc, ProviderError):
        return Failure(exc)
    return None


def test_call_with_retries_announces_each_retry() -> None:
    notices: list[str] = []
    outcomes: list[Exception | str] = [Flaky("a"), Flaky("b"), "done"]

    def call() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert call_with_retries(call, classify, RetryPolicy(retries=2, on_notice=notices.append)) == "done"
    assert notices == [
        "flaky a; retrying in 0 s (attempt 2 of 3)",
        "flaky b; retrying in 0 s (attempt 3 of 3)",
    ]


def test_retries_spent_are_named_in_the_error() -> None:
    def call() -> str:
        raise Flaky("x")

    with pytest.raises(ProviderError) as caught:
        call_with_retries(call, classify, RetryPolicy(retries=2))
    assert caught.value.message == "flaky x after 2 retries"
    with pytest.raises(ProviderError) as caught:
        asyncio.run(acall_with_retries(_async_raiser(Flaky("y")), classify, RetryPolicy(retries=1)))
    assert caught.value.message == "flaky y after 1 retry"


def _async_raiser(exc: Exception) -> Callable[[], Awaitable[str]]:
    async def call() -> str:
        raise exc

    return call


def test_unclassified_exceptions_pass_through_untouched() -> None:
    def call() -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        call_with_retries(call, classify, RetryPolicy(retries=2))


class Script:
    """Streams that yield the scripted items, raising an exception item; records opens and closes."""

    def __init__(self, *runs: list[object]) -> None:
        self.runs = list(runs)
        self.opened = 0
        self.closed = 0

    def open(self) -> Iterator[object]:
        self.opened += 1
        return self._run(self.runs.pop(0))

    def _run(self, items: list[object]) -> Iterator[object]:
        try:
            for item in items:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.closed += 1

    async def aopen(self) -> AsyncIterator[object]:
        self.opened += 1
        try:
            for item in self.runs.pop(0):
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.closed += 1


def is_token(item: object) -> bool:
    return item != ""


def test_stream_retries_before_the_first_token_without_repeating_anything() -> None:
    script = Script(["", Flaky("early")], ["", "Hello", " there"])
    items = list(stream_with_retries(script.open, classify, RetryPolicy(retries=1), is_token))
    assert items == ["", "Hello", " there"]
    assert (script.opened, script.closed) == (2, 2)


def test_stream_never_retries_after_the_first_token() -> None:
    script = Script(["", "Hello", Flaky("late")], ["", "again"])
    received: list[object] = []
    with pytest.raises(ProviderError) as caught:
        received.extend(stream_with_retries(script.open, classify, RetryPolicy(retries=3), is_token))
    assert received == ["", "Hello"]
    assert caught.value.message == "flaky late"
    assert script.opened == 1


def test_stream_without_any_token_still_delivers_what_it_held() -> None:
    script = Script(["", ""])
    assert list(stream_with_retries(script.open, classify, RetryPolicy(), is_token)) == ["", ""]


def test_closing_the_stream_closes_the_open_attempt() -> None:
    script = Script(["", "a", "b", "c"])
    stream = stream_with_retries(script.open, classify, RetryPolicy(), is_token)
    assert [next(stream), next(stream)] == ["", "a"]
    stream.close()
    assert script.closed == 1


def test_async_stream_retries_and_closes() -> None:
    script = Script([Flaky("early")], ["", "Hi", "!"])

    async def main() -> list[object]:
        stream = astream_with_retries(script.aopen, classify, RetryPolicy(retries=1), is_token)
        first = [await anext(stream), await anext(stream)]
        await stream.aclose()
        return first

    assert asyncio.run(main()) == ["", "Hi"]
    assert (script.opened, script.closed) == (2, 2)


def test_redacted_headers_hide_every_credential() -> None:
    headers = {"Authorization": "Bearer sk-1", "X-Api-Key": "sk-2", "api-key": "sk-3", "Accept": "json"}
    assert redacted_headers(headers) == {
        "authorization": "<redacted>",
        "x-api-key": "<redacted>",
        "api-key": "<redacted>",
        "accept": "json",
    }


def test_trace_goes_to_the_current_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("chatstream.http")
    level, handlers = logger.level, list(logger.handlers)
    try:
        show_http_trace()
        show_http_trace()  # idempotent: one handler, one line per record

        request = SimpleNamespace(
            method="POST",
            url="https://api.example.com/v1/messages",
            headers={"x-api-key": "sk-SECRET"},
            content=b'{"model": "m"}',
        )
        trace_request(request)
        err = capsys.readouterr().err
        assert err.count("chatstream: debug: > POST https://api.example.com/v1/messages") == 1
        assert "sk-SECRET" not in err
        assert '{"model": "m"}' in err
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)


def test_network_errors_name_the_endpoint() -> None:
    from chatstream_cli.retry import transport_failure

    class ConnectError(Exception):
        pass

    refused = ConnectError("All connection attempts failed")
    refused.__context__ = ConnectionRefusedError(111, "Connection refused")
    failure = transport_failure(SERVICE, refused, 5)
    assert failure is not None
    assert isinstance(failure.error, NetworkError)
    assert failure.error.message == "cannot connect to https://api.example.com: connection refused"
    assert transport_failure(SERVICE, ValueError("not a transport error"), 5) is None


def test_other_transport_errors_are_network_errors() -> None:
    from chatstream_cli.retry import transport_failure

    class TransportError(Exception):
        pass

    class DecodingError(TransportError):
        pass

    failure = transport_failure(SERVICE, DecodingError("bad gzip from sk-SECRET"), 5)
    assert failure is not None
    assert (
        str(failure.error)
        == "the request to Example failed: bad gzip from <redacted> (check your network and try again)"
    )
    assert failure.error.exit_code == 5
