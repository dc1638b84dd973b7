"""Claude on Google Vertex AI: ``-m vertex:claude-...`` (Vertex ids, e.g. ``claude-sonnet-4-5@20250929``).

Through the SDK's ``AnthropicVertex``, which gets an access token from Google's application-default
credentials (``gcloud auth application-default login``, ``GOOGLE_APPLICATION_CREDENTIALS``, or the
metadata server) with google-auth. The region is ``region`` in ``[providers.vertex]``, else
``CLOUD_ML_REGION``; the project ``project``, else ``ANTHROPIC_VERTEX_PROJECT_ID``, else the credentials';
the endpoint ``--base-url``, else ``ANTHROPIC_VERTEX_BASE_URL``, else Google's for the region. The response
is ``:streamRawPredict`` Server-Sent Events, as from Anthropic. Needs ``chatstream[vertex]``.
"""

from __future__ import annotations

import os
from typing import Any

from ...errors import ConfigError
from ..google_cloud import CREDENTIAL_HINT, default_credentials
from .platform import PlatformChatModel
from .sdk import Platform

NAME = "vertex"


class VertexChatModel(PlatformChatModel):
    provider = NAME
    event_name = "ChatAnthropicVertex"
    label = "Google Vertex AI"
    platform = Platform("Google Vertex AI", "AnthropicVertex", extra="vertex")
    own_options = ("region", "project")
    needs_module = "google.auth.transport.requests"
    credential_errors = frozenset({"DefaultCredentialsError", "RefreshError"})
    credential_hint = CREDENTIAL_HINT

    def region(self) -> str:
        region = self.options.get("region") or os.environ.get("CLOUD_ML_REGION")
        if not region:
            raise ConfigError(
                "no Google Cloud region for Vertex AI",
                "set CLOUD_ML_REGION (e.g. us-east5 or global) or region in [providers.vertex]",
            )
        return region

    def client_arguments(self) -> dict[str, Any]:
        arguments = {"region": self.region(), "base_url": self.settings.base_url}
        project = self.options.get("project") or os.environ.get("ANTHROPIC_VERTEX_PROJECT_ID")
        if project:
            return {**arguments, "project_id": project}
        # The SDK needs the project before it has credentials: take it from them (and hand them over).
        credentials, project = default_credentials()
        if not project:
            raise ConfigError(
                "no Google Cloud project for Vertex AI",
                "set ANTHROPIC_VERTEX_PROJECT_ID or project in [providers.vertex], or `gcloud config set project`",
            )
        return {**arguments, "project_id": project, "credentials": credentials}

    def endpoint(self) -> str:
        """Where requests go (for messages): the one given, else Google's regional endpoint."""
        given = self.settings.base_url or os.environ.get("ANTHROPIC_VERTEX_BASE_URL")
        return (given or f"https://{self.region()}-aiplatform.googleapis.com/v1").rstrip("/")
