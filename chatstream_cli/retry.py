"""The one failure policy of every network provider: status codes to errors, retries, timeouts, trace.

A provider supplies two things: ``open_stream`` (a callable that sends the request and yields
chunks) and ``classify`` (its exceptions -> :class:`Failure`, built with :func:`status_failure`
and :func:`transport_failure`). :func:`stream_with_retries` then

* retries a retryable failure (HTTP 408, 409, 429, 5xx, 529, a dropped connection, an
  overload reported by the stream itself) only while no token has been produced, since a retry
  after that would repeat text the user has already seen;
* waits what ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date) say, at most
  :data:`MAX_WAIT_S`, else backs off exponentially with jitter;
* announces each retry through ``ModelSettings.on_notice``: ``...; retrying in 1 s (attempt 2 of 3)``;
* turns the last failure into its :class:`~chatstream_cli.errors.ChatstreamError`, whose
  ``error_type`` and ``status`` the ``--events`` error line reports.

The stall timeout (``--timeout``: the longest silence before the first byte and between chunks)
is :func:`timeout_parts`, keyword arguments for ``httpx.Timeout`` and ``httpx2.Timeout`` alike.
:func:`transport_failure` reads httpx and httpx2 exceptions by class name, so this module imports
neither. ``--debug`` shows the ``chatstream.http`` logger, fed by :func:`trace_request` and
:func:`trace_response` (HTTP client event hooks) with credentials redacted.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

from .errors import AuthError, ChatstreamError, ConfigError, NetworkError, ProviderError, UnknownModelError, UsageError
from .tls import context as tls_context

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_WAIT_S = 60.0
"""The longest chatstream waits before a retry, whatever ``retry-after`` asks for."""
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 8.0
CONNECT_TIMEOUT_S = 10.0

HTTP_TRACE = logging.getLogger("chatstream.http")
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-amz-security-token",
    }
)

_DEFAULT_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_MESSAGE_LIMIT = 300
_SECRET_MIN = 8
# Base classes of transport errors in httpx, httpx2 and the SDKs built on them.
_GENERIC_TRANSPORT_ERRORS = frozenset({"TransportError", "RequestError", "APIConnectionError"})
_DNS_WORDS = ("name or service", "nodename", "name resolution", "getaddrinfo", "no address")


def server_label(name: str, label: str, endpoint: str, own_domain: str | None) -> str:
    """How messages name the server: ``label`` (``OpenAI``) when ``endpoint`` is on the vendor's ``own_domain``
    (``openai.com``: the host or a subdomain of it), else the configured provider and the host:port
    (``litellm at gateway.internal:4000``), since a gateway or proxy answered. ``own_domain`` None: any host is
    the provider's own (a local server's); "" (an endpoint config.toml declared): no host is."""
    if own_domain is None:
        return label
    host = (urlsplit(endpoint).hostname or "").rstrip(".")
    if own_domain and (host == own_domain or host.endswith(f".{own_domain}")):
        return label
    return f"{name} at {server_address(endpoint)}"


def server_address(endpoint: str) -> str:
    """``host:port`` of ``endpoint`` (the scheme's port when it names none), never its userinfo."""
    parts = urlsplit(endpoint)
    host = parts.hostname or endpoint
    host = f"[{host}]" if ":" in host else host
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class Service:
    """Who a request goes to, for messages that say what to do: ``Anthropic``, its key, the model."""

    name: str  # registry name, e.g. "anthropic"
    label: str  # for people, e.g. "Anthropic"
    model: str
    endpoint: str
    key_env: str | None = None
    secret: str | None = field(default=None, repr=False)
    #: Other credentials to keep out of messages (a cloud platform has several: a secret key, a session token).
    more_secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def secrets(self) -> list[str]:
        """Every credential long enough to look for (a one-letter test key must not eat every "k")."""
        return [secret for secret in (self.secret, *self.more_secrets) if secret and len(secret) >= _SECRET_MIN]

    def hide(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def scrub(self, text: str) -> str:
        """``text`` on one line, shortened, and never containing the API key."""
        text = " ".join(self.hide(text).split())
        return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"

    def redact(self, error: ChatstreamError) -> ChatstreamError:
        """``error``, or a copy without the API key when its message quotes the key (a server's error event may)."""
        if self.hide(error.message) == error.message:
            return error
        api_message = self.hide(error.api_message) if error.api_message else None
        redacted = type(error)(
            self.hide(error.message),
            error.hint,
            error_type=error.error_type,
            status=error.status,
            api_message=api_message,
        )
        if isinstance(error, ProviderError):
            redacted.report = error.report
        return redacted

    @property
    def key_hint(self) -> str:
        setting = f"set {self.key_env} or " if self.key_env else ""
        return f"{setting}run `chatstream keys set {self.name}`"


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified failure: the error to report, and whether a retry could help."""

    error: ChatstreamError
    retryable: bool = False
    retry_after: float | None = None  # seconds the server asked us to wait; None when it did not say


Classify = Callable[[Exception], "Failure | None"]
"""A provider's exception -> Failure mapping; None means "not a provider failure" (a bug: re-raised)."""


# -- status codes and transport errors -------------------------------------------------------


def checked_endpoint(url: str, where: str) -> str:
    """``url`` when a request can go to it; a UsageError naming where it came from (``--base-url``, a variable)."""
    problem = None
    if not url.startswith(("http://", "https://")):
        problem = "must start with http:// or https://"
    else:
        try:
            url.encode("utf-8")
            parts = urlsplit(url)
            parts.port  # noqa: B018  (reading it checks it)
            (parts.hostname or "").encode("idna")
        except (ValueError, UnicodeError):  # lone surrogates, a port that is no number, a host IDNA refuses
            problem = "is not a valid URL"
        else:
            problem = None if parts.hostname else "has no host"
    if problem:
        raise UsageError(f"the base URL from {where} {problem}", f"check {where}")
    return url


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date); never negative.

    ``headers`` must look names up case-insensitively (httpx headers do) or have lower-case names.
    """
    if not headers:
        return None
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000, 0.0)
    raw = headers.get("retry-after")
    seconds = _number(raw)
    if seconds is not None:
        return max(seconds, 0.0)
    if raw:
        try:
            moment = email.utils.parsedate_to_datetime(raw).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        return max(moment - (time.time() if now is None else now), 0.0)
    return None


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number == number and number != float("inf") else None


def api_error_detail(body: Any) -> tuple[str | None, str | None]:
    """``(message, error_type)`` from a JSON error body: ``{"error": {"type", "message"}}`` and kin."""
    if not isinstance(body, dict):
        return None, None
    error = body.get("error", body)
    if isinstance(error, str):
        return error, None
    if isinstance(error, dict) and "detail" in error and "message" not in error:
        return _validation_detail(error["detail"]), None
    if not isinstance(error, dict):
        return None, None
    message = error.get("message")
    kind = error.get("type") or error.get("code")
    return (str(message) if message else None), (str(kind) if kind else None)


def _validation_detail(detail: Any) -> str | None:
    """FastAPI-style ``{"detail": ...}`` (vLLM and other Python servers): a string, or a list of field errors."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(part) for part in item.get("loc") or ())
                parts.append(f"{where}: {item.get('msg', '')}".strip(": "))
        return "; ".join(part for part in parts if part) or None
    return None


def status_failure(
    service: Service,
    status: int,
    *,
    message: str | None = None,
    error_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Failure:
    """The failure for an HTTP error status, with the API's own message when it gave one."""
    kind = error_type or _DEFAULT_ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    error_class, what, hint = _describe_status(service, status, kind, (headers or {}).get("location"))
    detail = f": {service.scrub(message)}" if message else ""
    error = error_class(f"{what} (HTTP {status}{detail})", hint, error_type=kind, status=status)
    return Failure(error, _should_retry(status, headers), parse_retry_after(headers))


def response_failure(service: Service, response: Any) -> Failure:
    """The failure for an httpx or httpx2 error response: its status, and the API's message when its JSON
    body has one."""
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    message, error_type = api_error_detail(body)
    return status_failure(
        service, response.status_code, message=message, error_type=error_type, headers=response.headers
    )


def wrong_endpoint_failure(
    service: Service, response: Any, message: str | None, what: str, hint: str
) -> Failure | None:
    """For a 404 that is not about the model, the failure that says there is no ``what`` at the URL tried
    (a wrong base URL, usually: a gateway's ``/v1`` given twice); None for any other answer."""
    answer = message or response.text
    if response.status_code != 404 or "model" in answer.lower():  # OpenAI's model_not_found, Ollama's, Claude's
        return None
    detail = f": {service.scrub(answer)}" if answer.strip() else ""
    url = service.scrub(str(response.request.url))
    return Failure(ConfigError(f"{service.label} has no {what} at {url} (HTTP 404{detail})", hint))


def _describe_status(
    service: Service, status: int, kind: str, location: str | None = None
) -> tuple[type[ChatstreamError], str, str]:
    """The error class, what happened and what to do, for an HTTP error status."""
    label = service.label
    retry_hint = "try again shortly, or raise --retries"
    if 300 <= status < 400:  # a request with a body is not re-sent elsewhere behind the user's back
        where = f" to {service.scrub(location)}" if location else ""
        return ProviderError, f"{label} redirected the request{where}", "use the new address as --base-url"
    if status == 402:
        return ProviderError, f"{label} asks for payment", "check the account's credits or billing"
    if status == 401:
        return AuthError, f"{label} rejected the API key", service.key_hint
    if status == 403:
        return AuthError, f"{label} refused this API key access", service.key_hint
    if status == 404:
        return (
            UnknownModelError,
            f"{label} does not know the model {service.model!r}",
            f"check the model name (`chatstream models --remote` lists them) and the endpoint {service.endpoint}",
        )
    if status == 413:
        return ProviderError, f"{label} rejected the request as too large", "shorten the prompt"
    if status == 429:
        return ProviderError, f"rate limited by {label}", "wait a minute, or raise --retries"
    if status == 529 or kind == "overloaded_error":
        return ProviderError, f"{label} is overloaded", retry_hint
    if status == 503:
        return ProviderError, f"{label} is unavailable", retry_hint
    if status in (408, 504):
        return ProviderError, f"{label} timed out", retry_hint
    if status >= 500 or status == 409:
        return ProviderError, f"{label} failed", retry_hint
    return ProviderError, f"{label} rejected the request", "check the prompt and options"


def _should_retry(status: int, headers: Mapping[str, str] | None) -> bool:
    verdict = (headers or {}).get("x-should-retry")  # a server may say so explicitly
    if verdict in ("true", "false"):
        return verdict == "true"
    return status in RETRYABLE_STATUSES or status >= 500


def transport_failure(service: Service, exc: BaseException, stall_s: float | None) -> Failure | None:
    """The failure for an httpx/httpx2 transport exception (or an SDK error caused by one), else None."""
    causes = [exc]
    while causes[-1].__cause__ is not None and causes[-1].__cause__ not in causes:
        causes.append(causes[-1].__cause__)
    for cause in causes:
        failure = _transport_failure(service, cause, _class_names(cause), stall_s)
        if failure is not None:
            return failure
    if any(_class_names(cause) & _GENERIC_TRANSPORT_ERRORS for cause in causes):
        detail = service.scrub(str(exc)) or type(exc).__name__
        failed = f"the request to {service.label} failed: {detail}"
        return Failure(NetworkError(failed, "check your network and try again"))
    return None


def _transport_failure(service: Service, exc: BaseException, names: set[str], stall_s: float | None) -> Failure | None:
    if names & {"ConnectTimeout", "PoolTimeout"}:
        unreachable = f"cannot connect to {service.endpoint} (timed out)"
        return Failure(NetworkError(unreachable, "check your network and --base-url"))
    if "TimeoutException" in names:
        waited = f" for {stall_s:g} s" if stall_s else ""
        hint = "raise --timeout, or use --timeout 0 to wait without limit"
        return Failure(NetworkError(f"no data from {service.label}{waited}", hint))
    if "ConnectError" in names:
        return Failure(_connect_error(service, exc))
    if names & {"RemoteProtocolError", "ReadError", "WriteError", "NetworkError", "ProtocolError"}:
        dropped = f"the connection to {service.label} dropped before the reply was complete"
        return Failure(NetworkError(dropped, "try again"), retryable=True)
    return None


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _connect_error(service: Service, exc: BaseException) -> NetworkError:
    causes = list(_chain(exc))
    words = " ".join(str(cause) for cause in causes).lower()
    if any(isinstance(cause, socket.gaierror) for cause in causes) or any(word in words for word in _DNS_WORDS):
        return NetworkError(f"cannot resolve the host of {service.endpoint}", "check --base-url and your network")
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes) or "refused" in words:
        return NetworkError(
            f"cannot connect to {service.endpoint}: connection refused", "is the server running? check --base-url"
        )
    reason = f": {service.scrub(str(exc))}" if str(exc) else ""
    return NetworkError(f"cannot connect to {service.endpoint}{reason}", "check your network and --base-url")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it, however the libraries chained it (async ones use the context)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


RETRYABLE_STREAM_ERRORS = frozenset(
    {"overloaded_error", "api_error", "server_error", "rate_limit_error", "timeout_error"}
)
"""Error types that a server reports inside a 200 response and that may pass on a retry."""


def stream_failure(error: ChatstreamError) -> Failure:
    """The failure for an error a provider raised while reading a response: an overload or server error
    reported inside the stream (status 200), or a stream cut short, is worth a retry before the first token."""
    if isinstance(error, ProviderError):
        return Failure(error, retryable=error.status == 200 and error.error_type in RETRYABLE_STREAM_ERRORS)
    return Failure(error, retryable=isinstance(error, NetworkError))


def timeout_parts(stall_s: float | None) -> dict[str, float | None]:
    """``--timeout`` as ``connect/read/write/pool`` keyword arguments for ``httpx(2).Timeout``."""
    connect = min(stall_s, CONNECT_TIMEOUT_S) if stall_s else CONNECT_TIMEOUT_S
    return {"connect": connect, "read": stall_s, "write": stall_s, "pool": stall_s}


# -- retrying --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many retries, and who hears about them."""

    retries: int = 2
    on_notice: Callable[[str], None] | None = None
    max_wait_s: float = MAX_WAIT_S

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        return cls(retries=max(int(settings.retries), 0), on_notice=settings.on_notice)

    def next_wait(self, failure: Failure, attempt: int) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up; announces the retry."""
        if not failure.retryable or attempt > self.retries:
            return None
        asked = failure.retry_after
        wait = min(asked, self.max_wait_s) if asked is not None else backoff_delay(attempt)
        if self.on_notice is not None:
            note = ""
            if asked is not None and asked > self.max_wait_s:
                note = f" (the server asked for {asked:g} s; chatstream waits at most {self.max_wait_s:g} s)"
            self.on_notice(
                f"{failure.error.message}{note}; retrying in {_seconds(wait)} s "
                f"(attempt {attempt + 1} of {self.retries + 1})"
            )
        return wait


def backoff_delay(attempt: int) -> float:
    """0.5 s, 1 s, 2 s … at most 8 s, minus up to a quarter of jitter so clients spread out."""
    return min(BACKOFF_FIRST_S * 2 ** (attempt - 1), BACKOFF_MAX_S) * (1 - 0.25 * random.random())


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def _give_up(failure: Failure, cause: Exception, spent: int) -> NoReturn:
    """Raise the failure's error; ``spent`` retries went into it before it was final."""
    error = failure.error
    if spent:  # keep the error's class, type and status; say the retries were used up
        error = type(error)(
            f"{error.message} after {spent} {'retry' if spent == 1 else 'retries'}",
            error.hint,
            error_type=error.error_type,
            status=error.status,
        )
    error.retryable, error.retry_after = failure.retryable, failure.retry_after
    if error is cause:
        raise error
    # The cause is not chained: an SDK error's text may quote the request, and --debug prints chains.
    raise error from None


def _spent(failure: Failure, attempt: int) -> int:
    return attempt - 1 if failure.retryable else 0


def _judge(classify: Classify, exc: Exception) -> Failure:
    failure = classify(exc)
    if failure is None:
        raise exc
    return failure


def call_with_retries(call: Callable[[], T], classify: Classify, policy: RetryPolicy) -> T:
    """``call()`` (a whole-reply request), retried as the policy allows."""
    attempt = 1
    while True:
        try:
            return call()
        except Exception as exc:
            failure = _judge(classify, exc)
            wait = policy.next_wait(failure, attempt)
            if wait is None:
                _give_up(failure, exc, _spent(failure, attempt))
        time.sleep(wait)
        attempt += 1


async def acall_with_retries(call: Callable[[], Awaitable[T]], classify: Classify, policy: RetryPolicy) -> T:
    """``await call()``, retried as the policy allows."""
    import asyncio  # here, not at the top: a sync reply need not load it

    attempt = 1
    while True:
        try:
            return await call()
        except Exception as exc:
            failure = _judge(classify, exc)
            wait = policy.next_wait(failure, attempt)
            if wait is None:
                _give_up(failure, exc, _spent(failure, attempt))
        await asyncio.sleep(wait)
        attempt += 1


class _FirstToken:
    """Holds items back until the first token, so a retry before it leaves no trace."""

    def __init__(self, is_token: Callable[[T], bool]) -> None:
        self.is_token = is_token
        self.seen = False
        self.held: list[Any] = []

    def take(self, item: Any) -> list[Any]:
        """What may be passed on now that ``item`` arrived."""
        if self.seen:
            return [item]
        self.held.append(item)
        if not self.is_token(item):
            return []
        self.seen = True
        released, self.held = self.held, []
        return released


def stream_with_retries(
    open_stream: Callable[[], Iterator[T]], classify: Classify, policy: RetryPolicy, is_token: Callable[[T], bool]
) -> Iterator[T]:
    """Items of ``open_stream()``; the stream is reopened on a retryable failure before the first token.

    Closing this generator (Ctrl-C, the consumer stopping) closes the open stream, and with it the
    HTTP response, so the server sees the connection go.
    """
    attempt = 1
    while True:
        gate = _FirstToken(is_token)
        stream = open_stream()
        try:
            for item in stream:
                yield from gate.take(item)
            yield from gate.held
            return
        except Exception as exc:
            failure = _judge(classify, exc)
            wait = None if gate.seen else policy.next_wait(failure, attempt)
            if wait is None:
                yield from gate.held  # what came before the failure stands, as in LangChain's stream
                _give_up(failure, exc, 0 if gate.seen else _spent(failure, attempt))
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        time.sleep(wait)
        attempt += 1


async def astream_with_retries(
    open_stream: Callable[[], AsyncIterator[T]], classify: Classify, policy: RetryPolicy, is_token: Callable[[T], bool]
) -> AsyncIterator[T]:
    """The async twin of :func:`stream_with_retries`."""
    import asyncio  # here, not at the top: a sync reply need not load it

    attempt = 1
    while True:
        gate = _FirstToken(is_token)
        stream = open_stream()
        try:
            async for item in stream:
                for released in gate.take(item):
                    yield released
            for released in gate.held:
                yield released
            return
        except Exception as exc:
            failure = _judge(classify, exc)
            wait = None if gate.seen else policy.next_wait(failure, attempt)
            if wait is None:
                for released in gate.held:
                    yield released
                _give_up(failure, exc, 0 if gate.seen else _spent(failure, attempt))
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        await asyncio.sleep(wait)
        attempt += 1


# -- the --debug trace -----------------------------------------------------------------------


def show_http_trace() -> None:
    """Send the HTTP trace to stderr (the CLI's ``--debug``); calling it again changes nothing."""
    if not any(isinstance(handler, _StderrHandler) for handler in HTTP_TRACE.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("chatstream: debug: %(message)s"))
        HTTP_TRACE.addHandler(handler)
    HTTP_TRACE.setLevel(logging.DEBUG)
    HTTP_TRACE.propagate = False


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record arrives (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def tracing() -> bool:
    return HTTP_TRACE.isEnabledFor(logging.DEBUG)


def redacted_headers(headers: Any, secret: Collection[str] = ()) -> dict[str, str]:
    """Headers with every credential, and the headers named in ``secret`` (lower case), replaced by ``<redacted>``."""
    return {
        str(name).lower(): "<redacted>"
        if str(name).lower() in SECRET_HEADERS or str(name).lower() in secret
        else str(value)
        for name, value in headers.items()
    }


def trace_request(request: Any, secret: Collection[str] = ()) -> None:
    """An httpx/httpx2 ``request`` event hook: method, URL, redacted headers, body."""
    try:
        content = getattr(request, "content", b"")
        body = content.decode("utf-8", "replace") if content else ""
    except Exception as exc:  # httpx's RequestNotRead: a streamed body (a multipart upload, an attachment)
        if type(exc).__name__ != "RequestNotRead":
            raise
        body = "<streamed body>"
    HTTP_TRACE.debug("> %s %s %s %s", request.method, request.url, redacted_headers(request.headers, secret), body)


def trace_response(response: Any) -> None:
    """An httpx/httpx2 ``response`` event hook: status and redacted headers (the body streams on)."""
    HTTP_TRACE.debug("< %s %s %s", response.status_code, response.request.url, redacted_headers(response.headers))


def http_hooks(
    on_request: Callable[[], None] | None, *, is_async: bool = False, secret: Collection[str] = ()
) -> dict[str, list[Any]] | None:
    """Event hooks for an httpx/httpx2 client: the --debug trace (the headers named in ``secret`` redacted,
    as the credentials are), and ``on_request`` as each request goes out."""
    request_hooks: list[Any] = []
    response_hooks: list[Any] = []
    if tracing():
        hidden = frozenset(name.lower() for name in secret)

        def traced(request: Any) -> None:
            trace_request(request, hidden)

        async def atraced(request: Any) -> None:
            trace_request(request, hidden)

        request_hooks.append(atraced if is_async else traced)
        response_hooks.append(atrace_response if is_async else trace_response)
    if on_request is not None:

        def sent(request: Any) -> None:
            on_request()

        async def asent(request: Any) -> None:
            on_request()

        request_hooks.append(asent if is_async else sent)
    if not (request_hooks or response_hooks):
        return None
    return {"request": request_hooks, "response": response_hooks}


def httpx_options(
    headers: Mapping[str, str],
    stall_s: float | None,
    on_request: Callable[[], None] | None,
    *,
    is_async: bool,
    extra: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The keyword arguments of a provider's httpx client: its headers and the ``extra`` ones (config.toml's
    and --header, redacted in the trace), ``--timeout`` in parts, the shared TLS context (tls.py) and the
    hooks of :func:`http_hooks`."""
    import httpx

    extra = extra or {}
    options: dict[str, Any] = {
        "headers": with_extra_headers(headers, extra),
        "timeout": httpx.Timeout(**timeout_parts(stall_s)),
        "verify": tls_context(),
    }
    hooks = http_hooks(on_request, is_async=is_async, secret=extra)
    if hooks:
        options["event_hooks"] = hooks
    return options


def header_secrets(extra: Mapping[str, str]) -> tuple[str, ...]:
    """What of the extra headers' values to keep out of messages: each value, and each word of it (the key
    of ``Bearer KEY``)."""
    return tuple(dict.fromkeys(part for value in extra.values() for part in (value, *value.split())))


def with_extra_headers(headers: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with the ``extra`` ones added; an extra header replaces one of the same name, whatever the case."""
    replaced = {name.lower() for name in extra}
    return {**{name: value for name, value in headers.items() if name.lower() not in replaced}, **extra}


async def atrace_response(response: Any) -> None:
    trace_response(response)
