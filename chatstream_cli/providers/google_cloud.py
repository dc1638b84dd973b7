"""What Claude and Gemini on Google Vertex AI share: Google's application-default credentials (google-auth,
the ``[vertex]`` extra), found as gcloud finds them, and what to say when there are none."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
CREDENTIAL_HINT = "run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
CREDENTIAL_ERRORS = frozenset({"DefaultCredentialsError", "RefreshError", "TransportError"})
"""google-auth's exceptions for credentials that cannot be found or give no token."""


def default_credentials() -> tuple[Any, str | None]:
    """Google's application-default credentials and their project (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's
    file, the metadata server)."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        return google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except DefaultCredentialsError as exc:
        raise credentials_error(exc) from None


def credentials_error(exc: BaseException) -> ConfigError:
    detail = " ".join(str(exc).split())[:300] or type(exc).__name__
    return ConfigError(f"no usable Google Vertex AI credentials: {detail}", CREDENTIAL_HINT)
