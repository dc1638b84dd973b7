"""The one place where failures get an exit code and a one-line message.

Exception hierarchy::

    ChatstreamError               exit 1 unless a subclass says otherwise
     +-- UsageError               2  bad flag or value, no prompt, conflicting options
     +-- ConfigError              3  no key, unreadable config
     |    +-- AuthError           3  key rejected (401/403)
     |    +-- UnknownModelError   3  unknown provider, model or alias (also 404)
     +-- ProviderError            4  request rejected, rate limited or overloaded, error mid-stream
     +-- NetworkError             5  cannot connect, dropped connection, timeout
     +-- Interrupted              130 Ctrl-C (129 SIGHUP, 143 SIGTERM: see Terminated)

Providers raise these; the CLI prints ``format_error(exc)`` and exits with ``exc.exit_code``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .usage import Report


class ExitCode(IntEnum):
    OK = 0
    BUG = 1
    USAGE = 2
    CONFIG = 3
    PROVIDER = 4
    NETWORK = 5
    HANGUP = 129  # 128 + SIGHUP
    INTERRUPTED = 130
    BROKEN_PIPE = 141
    TERMINATED = 143  # 128 + SIGTERM


class ChatstreamError(Exception):
    """A failure with a message for the user, a hint on what to do, and an exit code."""

    exit_code: ExitCode = ExitCode.BUG
    error_type: str = "error"
    #: Set by the retry policy when it gives up: whether another attempt could pass, and the wait the
    #: server asked for. ``batch`` runs its models with no retries of their own and retries with these.
    retryable: bool = False
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        error_type: str | None = None,
        status: int | None = None,
        api_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status
        #: The provider's own words, when it sent any (``--events`` reports them as LangChain users expect).
        self.api_message = api_message
        if error_type:
            self.error_type = error_type

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(ChatstreamError):
    exit_code = ExitCode.USAGE
    error_type = "usage_error"


class ConfigError(ChatstreamError):
    exit_code = ExitCode.CONFIG
    error_type = "config_error"


class AuthError(ConfigError):
    error_type = "authentication_error"


class UnknownModelError(ConfigError):
    error_type = "not_found_error"


class ProviderError(ChatstreamError):
    exit_code = ExitCode.PROVIDER
    error_type = "api_error"
    #: What the provider reported before it failed mid-stream (an error chunk may carry the usage), for --json.
    report: Report | None = None


def midstream_error(label: str, message: str | None, error_type: str | None) -> ProviderError:
    """The error for a provider that stopped a reply with an error after its HTTP 200."""
    kind = error_type or "api_error"
    text = " ".join((message or kind).split())[:300]
    said = text if kind in text else f"{text} ({kind})"
    return ProviderError(
        f"{label} stopped the reply with an error: {said}",
        "try again; any text already shown stays",
        error_type=kind,
        status=200,
        api_message=text,
    )


class NetworkError(ChatstreamError):
    exit_code = ExitCode.NETWORK
    error_type = "network_error"


class Interrupted(ChatstreamError):
    exit_code = ExitCode.INTERRUPTED
    error_type = "interrupted"

    def __init__(self, message: str = "interrupted", exit_code: ExitCode = ExitCode.INTERRUPTED) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    @classmethod
    def of(cls, interrupt: KeyboardInterrupt) -> Interrupted:
        """A Ctrl-C, or a SIGTERM or SIGHUP, as an error with its exit code (``--events`` reports it)."""
        if isinstance(interrupt, Terminated):
            return cls(f"terminated by {interrupt.signal_name}", interrupt.exit_code)
        return cls()


class Terminated(KeyboardInterrupt):
    """A SIGTERM or SIGHUP (``kill``, ``timeout``, a closed terminal), raised in the main thread: it ends a
    reply as a Ctrl-C does (what arrived is kept, marked interrupted), then the process exits 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode(128 + self.signum)

    @property
    def signal_name(self) -> str:
        import signal

        return signal.Signals(self.signum).name


def interrupted_exit_code(interrupt: BaseException | None) -> ExitCode:
    """130 for a Ctrl-C, 128 + the signal for a SIGTERM or SIGHUP."""
    return interrupt.exit_code if isinstance(interrupt, Terminated | Interrupted) else ExitCode.INTERRUPTED


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A hint naming the closest candidates, or all of them when none is close."""
    import difflib

    pool = sorted(set(candidates))
    close = difflib.get_close_matches(word, pool, n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(close) + "?"
    return "choose one of: " + ", ".join(pool)


def format_error(exc: BaseException) -> str:
    """The one line printed on stderr for a failure."""
    if isinstance(exc, ChatstreamError):
        return f"chatstream: error: {exc}"
    return (
        f"chatstream: error: unexpected {type(exc).__name__}: {exc} "
        "(this is a bug in chatstream: rerun with --debug and report it)"
    )


def error_object(error: BaseException) -> dict[str, Any]:
    """``{"message", "type", "status", "exit_code"}`` for a failure, as its one-line error would say it (a batch
    line's and a failed --json object's ``error``)."""
    if isinstance(error, ChatstreamError):
        return {
            "message": str(error),
            "type": error.error_type,
            "status": error.status,
            "exit_code": int(error.exit_code),
        }
    return {
        "message": format_error(error).removeprefix("chatstream: error: "),
        "type": "bug",
        "status": None,
        "exit_code": int(ExitCode.BUG),
    }
