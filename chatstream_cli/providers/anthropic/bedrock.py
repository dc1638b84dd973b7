"""Claude on Amazon Bedrock: ``-m bedrock:anthropic.claude-...`` (or an inference profile, ``us.anthropic...``).

Through the SDK's ``AnthropicBedrock``, which signs each request with AWS SigV4 (botocore) from the
credentials the AWS tools use: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
``AWS_PROFILE`` and ``~/.aws``, or a Bedrock API key in ``AWS_BEARER_TOKEN_BEDROCK``. The region is
``region`` in ``[providers.bedrock]``, else ``AWS_REGION``/``AWS_DEFAULT_REGION``, else the profile's; the
endpoint ``--base-url``, else ``ANTHROPIC_BEDROCK_BASE_URL``, else ``bedrock-runtime.REGION.amazonaws.com``.
The response is AWS event-stream frames (:mod:`.aws_event_stream`). Needs ``chatstream[bedrock]``.
"""

from __future__ import annotations

import os
from typing import Any

from .aws_event_stream import abedrock_events, bedrock_events
from .platform import PlatformChatModel
from .sdk import Platform

NAME = "bedrock"


class BedrockChatModel(PlatformChatModel):
    provider = NAME
    event_name = "ChatBedrock"
    label = "Amazon Bedrock"
    platform = Platform("Amazon Bedrock", "AnthropicBedrock", bedrock_events, abedrock_events, extra="bedrock")
    own_options = ("region", "aws_profile")
    needs_module = "botocore"
    credential_errors = frozenset({"NoCredentialsError", "PartialCredentialsError", "ProfileNotFound"})
    credential_messages = ("Could not resolve AWS credentials",)
    credential_hint = "set AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_BEARER_TOKEN_BEDROCK"

    def region(self) -> str | None:
        return self.options.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")

    def client_arguments(self) -> dict[str, Any]:
        return {
            "aws_region": self.region(),
            "aws_profile": self.options.get("aws_profile"),
            "base_url": self.settings.base_url,
            "api_key": self.settings.api_key,
        }

    def endpoint(self) -> str:
        given = self.settings.base_url or os.environ.get("ANTHROPIC_BEDROCK_BASE_URL")
        region = self.region()
        return (given or (f"https://bedrock-runtime.{region}.amazonaws.com" if region else "Amazon Bedrock")).rstrip(
            "/"
        )

    def secrets(self) -> list[str]:
        given = [self.settings.api_key] if self.settings.api_key else []
        names = ("AWS_BEARER_TOKEN_BEDROCK", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
        return given + [os.environ[name] for name in names if os.environ.get(name)]
