"""Azure OpenAI: ``-m azure:DEPLOYMENT``, Chat Completions on an Azure OpenAI (or AI Foundry) resource.

The endpoint is ``--base-url``, else AZURE_OPENAI_ENDPOINT, else ``base_url`` in ``[providers.azure]``
(``https://NAME.openai.azure.com``). Two URL forms:

* the deployment form (the default): ``{endpoint}/openai/deployments/{deployment}/chat/completions
  ?api-version=V``, V being ``-o api_version``, else AZURE_OPENAI_API_VERSION, else :data:`API_VERSION`;
* the v1 form: ``{endpoint}/openai/v1/chat/completions`` with the deployment as ``model``, when the API
  version is ``v1`` or the endpoint already ends in ``/openai/v1``.

Credentials: the key (``--key``, AZURE_OPENAI_API_KEY or ``chatstream keys set azure``) as ``api-key``;
or, with ``-o auth entra``, a Microsoft Entra ID token from azure-identity's DefaultAzureCredential
(``pip install chatstream[azure]``), asked for on every request: the credential keeps it until shortly
before it expires and then gets a new one. The stream is ChatOpenAI's (content-filter results, choices
without a delta, the first chunk without choices); the chunks and events are AzureChatOpenAI's.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ...errors import ConfigError, UsageError
from ...keys import key_for
from ...retry import Failure, checked_endpoint
from .chat import ChatOpenAI

if TYPE_CHECKING:
    import httpx

NAME = "azure"
KEY_ENV = "AZURE_OPENAI_API_KEY"
ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
API_VERSION_ENV = "AZURE_OPENAI_API_VERSION"
API_VERSION = "2024-10-21"
"""The latest generally available data-plane API version of the deployment form."""
V1 = "v1"
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
AUTH_METHODS = ("key", "entra")
OWN_OPTIONS = ("api_version", "auth")


class AzureChatOpenAI(ChatOpenAI):
    """A deployment on Azure OpenAI; mirrors langchain-openai's AzureChatOpenAI chunk for chunk."""

    provider = NAME
    event_name = "AzureChatOpenAI"

    def __init__(self, model: str, settings: Any = None, **overrides: Any) -> None:
        self._azure: dict[str, Any] = {}
        super().__init__(model, settings, provider=NAME, **overrides)

    # -- what ChatOpenAI asks of a provider ---------------------------------------------------

    def own_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Take the options that are Azure's settings, not request fields."""
        self._azure = {name: options.pop(name) for name in OWN_OPTIONS if name in options}
        auth = self._azure.get("auth", "key")
        if auth not in AUTH_METHODS:
            raise UsageError(f"-o auth {auth!r} is not valid", "use -o auth key (the default) or -o auth entra")
        return options

    def find_base_url(self) -> str:
        sources = (
            (self.settings.base_url, "--base-url"),
            (os.environ.get(ENDPOINT_ENV), ENDPOINT_ENV),
            (self.spec.base_url, "providers.azure.base_url in the config file"),
        )
        url, where = next(((url, where) for url, where in sources if url), (None, None))
        if not url:
            raise ConfigError(
                "no Azure OpenAI endpoint",
                f"set {ENDPOINT_ENV} (https://NAME.openai.azure.com) or base_url in [providers.azure]",
            )
        return checked_endpoint(url.rstrip("/"), str(where))

    def find_api_key(self) -> str | None:
        if self.entra:
            return None
        key = self.settings.api_key or key_for(self.spec)
        if not key:
            raise ConfigError(
                "no Azure OpenAI API key",
                f"set {KEY_ENV}, run `chatstream keys set {NAME}`, or use Entra ID with -o auth entra",
            )
        return key

    @property
    def entra(self) -> bool:
        return self._azure.get("auth") == "entra"

    @property
    def api_version(self) -> str:
        version = self._azure.get("api_version") or os.environ.get(API_VERSION_ENV) or API_VERSION
        return V1 if urlsplit(self.base_url).path.endswith("/openai/v1") else str(version)

    @property
    def url(self) -> str:
        if self.api_version == V1:
            base = self.base_url if self.base_url.endswith("/openai/v1") else f"{self.base_url}/openai/v1"
            return f"{base}/chat/completions"
        return f"{self.base_url}/openai/deployments/{self.model}/chat/completions?api-version={self.api_version}"

    def auth_headers(self) -> dict[str, str]:
        return {} if self.entra else {"api-key": str(self.api_key)}

    def _client_options(self, is_async: bool) -> dict[str, Any]:
        options = super()._client_options(is_async)
        if self.entra:
            options["auth"] = self.entra_auth
        return options

    @cached_property
    def entra_auth(self) -> EntraAuth:
        """One credential per model, so its token cache serves every request."""
        return EntraAuth()

    def wrong_endpoint(self, response: httpx.Response, message: str | None) -> Failure | None:
        """A 404 not about a model is about the deployment the URL names."""
        if super().wrong_endpoint(response, message) is None:
            return None
        answer = message or response.text
        detail = f": {self.service.scrub(answer)}" if answer.strip() else ""
        return Failure(
            ConfigError(
                f"{self.service.label} has no deployment {self.model!r} at {self.base_url} (HTTP 404{detail})",
                "check the deployment name (-m azure:DEPLOYMENT) and AZURE_OPENAI_ENDPOINT",
            )
        )

    def classify(self, exc: Exception) -> Failure | None:
        failure = entra_failure(exc)
        return failure if failure is not None else super().classify(exc)


class EntraAuth:
    """httpx authentication (a callable, called for each request) with a Microsoft Entra ID token, asked of
    the credential every time: it answers from its cache until the token is about to expire."""

    def __init__(self) -> None:
        self.credential = default_credential()

    def __call__(self, request: httpx.Request) -> httpx.Request:
        request.headers["authorization"] = f"Bearer {self.credential.get_token(ENTRA_SCOPE).token}"
        return request


def default_credential() -> Any:
    """azure-identity's DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI...)."""
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise ConfigError(
            "Entra ID sign-in needs the azure extra (azure-identity is not installed)",
            'pip install "chatstream[azure]"',
        ) from None
    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


def entra_failure(exc: BaseException) -> Failure | None:
    """A credential that could not give a token: a configuration error (exit 3), never a traceback."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if not names & {"ClientAuthenticationError", "CredentialUnavailableError"}:
        return None
    detail = " ".join(str(exc).split())[:300] or type(exc).__name__
    return Failure(
        ConfigError(
            f"no usable Microsoft Entra ID credentials for Azure OpenAI: {detail}",
            "sign in with `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET",
        )
    )
