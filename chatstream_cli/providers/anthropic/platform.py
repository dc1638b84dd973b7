"""What Claude on a cloud platform (Amazon Bedrock, Google Vertex AI) adds to the anthropic provider:
the SDK's platform client as the only transport, the pip extra it needs, and credential failures
reported as configuration errors (exit 3). The request body, the translator, retries, errors and
Ctrl-C are the anthropic provider's own.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import Any, ClassVar

from ...errors import AuthError, ConfigError
from ...retry import Failure, Service, header_secrets
from .model import AnthropicChatModel
from .sdk import Platform, SdkTransport


class PlatformChatModel(AnthropicChatModel):
    """A Claude model served by a cloud platform through the SDK's client for it."""

    platform: ClassVar[Platform]
    #: The module the platform's extra brings (checked before anything is sent).
    needs_module: ClassVar[str]
    #: Class names of the exceptions that mean "no usable credentials", and what to do about them.
    credential_errors: ClassVar[frozenset[str]] = frozenset()
    #: What the SDK's own "no credentials" errors (plain RuntimeErrors) say.
    credential_messages: ClassVar[tuple[str, ...]] = ()
    credential_hint: ClassVar[str] = ""

    def make_transport(self) -> SdkTransport:
        self.require_extra()
        arguments = {name: value for name, value in self.client_arguments().items() if value is not None}
        headers = {"anthropic-version": self.api_version()} if self.sampling() else {}
        headers |= self.beta_header()
        if headers:
            arguments["default_headers"] = headers
        secret, *more = self.secrets() or [None]
        extra = self.extra_headers
        more += header_secrets(extra)
        service = Service(self.provider, self.label, self.model, self.endpoint(), None, secret, tuple(more))
        return SdkTransport(service, self.settings, arguments, self.platform, extra=extra)

    def require_extra(self) -> None:
        """Exit 3 with the pip command when the platform's extra is not installed."""
        try:
            importlib.import_module(self.needs_module)
        except ImportError:
            raise ConfigError(
                f"{self.label} needs the {self.platform.extra} extra ({self.needs_module} is not installed)",
                f'pip install "chatstream[{self.platform.extra}]"',
            ) from None

    def client_arguments(self) -> dict[str, Any]:
        """Keyword arguments for the SDK's platform client (None: the client finds it itself)."""
        raise NotImplementedError

    def endpoint(self) -> str:
        """Where requests go, for messages."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """Credentials known up front, to keep out of every message."""
        return []

    def classify(self, exc: Exception) -> Failure | None:
        for cause in _chain(exc):
            names = {cls.__name__ for cls in type(cause).__mro__}
            if names & self.credential_errors or any(text in str(cause) for text in self.credential_messages):
                detail = self.service.scrub(str(cause)) or type(cause).__name__
                return Failure(ConfigError(f"no usable {self.label} credentials: {detail}", self.credential_hint))
        failure = super().classify(exc)
        if failure is not None and isinstance(failure.error, AuthError):  # not a chatstream key: say what is
            error = failure.error
            failure = replace(failure, error=AuthError(error.message, self.credential_hint, status=error.status))
        return failure


def _chain(exc: BaseException) -> list[BaseException]:
    causes = [exc]
    while (cause := causes[-1].__cause__ or causes[-1].__context__) is not None and cause not in causes:
        causes.append(cause)
    return causes
