"""The floor of the SDK path: the anthropic SDK's raw event stream, each text delta written as it arrives.

    python benchmarks/contenders/anthropic_sdk.py MODEL PROMPT

The endpoint and key come from ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY, as the SDK reads them.
"""

from __future__ import annotations

import sys

import anthropic


def main() -> None:
    model, prompt = sys.argv[1:3]
    client = anthropic.Anthropic(max_retries=0)
    stream = client.messages.create(
        model=model, max_tokens=1024, messages=[{"role": "user", "content": prompt}], stream=True
    )
    out = sys.stdout
    for event in stream:
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            out.write(event.delta.text)
            out.flush()
    out.write("\n")


if __name__ == "__main__":
    main()
