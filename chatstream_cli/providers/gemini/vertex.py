"""Gemini on Google Vertex AI: ``-m vertex:gemini-...``, the same credentials as Claude on Vertex.

``POST {base}/projects/{project}/locations/{region}/publishers/google/models/{model}:streamGenerateContent
?alt=sse`` with a Bearer token from Google's application-default credentials (google-auth, the ``[vertex]``
extra), refreshed when it is about to expire. The region is ``region`` in ``[providers.vertex]``, else
GOOGLE_CLOUD_LOCATION, else CLOUD_ML_REGION (``global`` is served by aiplatform.googleapis.com); the project
``project``, else GOOGLE_CLOUD_PROJECT, else ANTHROPIC_VERTEX_PROJECT_ID, else the credentials' own; the
base ``--base-url``, else GOOGLE_VERTEX_BASE_URL, else Google's for the region. The body, the stream and
the events are the Gemini API's (ChatGoogleGenerativeAI with ``vertexai=True`` emits the same).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from ...errors import ConfigError
from ...retry import Failure, Service, checked_endpoint
from ..google_cloud import CREDENTIAL_ERRORS, credentials_error, default_credentials
from .model import GeminiChatModel

NAME = "vertex"
OWN_OPTIONS = ("region", "project")
BASE_URL_ENV = "GOOGLE_VERTEX_BASE_URL"
REGION_ENVS = ("GOOGLE_CLOUD_LOCATION", "CLOUD_ML_REGION")
PROJECT_ENVS = ("GOOGLE_CLOUD_PROJECT", "ANTHROPIC_VERTEX_PROJECT_ID")


class GeminiVertexChatModel(GeminiChatModel):
    label = "Google Vertex AI"

    def spec_defaults(self) -> dict[str, Any]:
        from .. import PROVIDERS

        spec = PROVIDERS.get(NAME)
        return dict(spec.defaults) if spec is not None else {}

    def endpoint(self) -> str:
        self.require_extra()
        place = {name: self.options.pop(name, None) for name in OWN_OPTIONS}
        region = place["region"] or _first_env(REGION_ENVS)
        if not region:
            raise ConfigError(
                "no Google Cloud region for Vertex AI",
                "set GOOGLE_CLOUD_LOCATION or CLOUD_ML_REGION (e.g. us-central1 or global) or region in "
                "[providers.vertex]",
            )
        self.credentials, found_project = default_credentials()
        project = place["project"] or _first_env(PROJECT_ENVS) or found_project
        if not project:
            raise ConfigError(
                "no Google Cloud project for Vertex AI",
                "set GOOGLE_CLOUD_PROJECT or project in [providers.vertex], or `gcloud config set project`",
            )
        given = self.settings.base_url or os.environ.get(BASE_URL_ENV)
        if given:
            base = checked_endpoint(given.rstrip("/"), "--base-url" if self.settings.base_url else BASE_URL_ENV)
            base = base if urlsplit(base).path.endswith(("/v1", "/v1beta1")) else f"{base}/v1"
        else:
            host = "aiplatform.googleapis.com" if region == "global" else f"{region}-aiplatform.googleapis.com"
            base = f"https://{host}/v1"
        return f"{base}/projects/{project}/locations/{region}/publishers/google"

    def make_service(self) -> Service:
        return Service(NAME, self.server_label(NAME), self.model, self.base_url)

    def auth_headers(self) -> dict[str, str]:
        """A Bearer token, refreshed from the credentials when it is missing or about to expire."""
        if not self.credentials.valid:
            from google.auth.transport.requests import Request

            self.credentials.refresh(Request())
        return {"authorization": f"Bearer {self.credentials.token}"}

    @staticmethod
    def require_extra() -> None:
        try:
            import google.auth.transport.requests  # noqa: F401
        except ImportError:
            raise ConfigError(
                "Google Vertex AI needs the vertex extra (google-auth is not installed)",
                'pip install "chatstream[vertex]"',
            ) from None

    def classify(self, exc: Exception) -> Failure | None:
        if {cls.__name__ for cls in type(exc).__mro__} & CREDENTIAL_ERRORS:
            return Failure(credentials_error(exc))
        return super().classify(exc)


def _first_env(names: tuple[str, ...]) -> str | None:
    return next((os.environ[name] for name in names if os.environ.get(name)), None)
