"""The floor of the direct path: a bare httpx script reading the Messages API stream, each text delta
written as it arrives (what a hand-written client costs).

    python benchmarks/contenders/httpx_stream.py MODEL PROMPT

The endpoint and key come from ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY.
"""

from __future__ import annotations

import json
import os
import sys

import httpx


def main() -> None:
    model, prompt = sys.argv[1:3]
    body = {"model": model, "max_tokens": 4096, "stream": True, "messages": [{"role": "user", "content": prompt}]}
    headers = {"x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01"}
    url = os.environ["ANTHROPIC_BASE_URL"].rstrip("/") + "/v1/messages"
    out = sys.stdout
    with httpx.stream("POST", url, json=body, headers=headers, timeout=60) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                if event.get("type") == "content_block_delta" and event["delta"].get("type") == "text_delta":
                    out.write(event["delta"]["text"])
                    out.flush()
    out.write("\n")


if __name__ == "__main__":
    main()
