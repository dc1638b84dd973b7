"""The reference document's loop with LangChain: ``ChatAnthropic.stream``, each chunk's text written as it arrives.

    python benchmarks/contenders/langchain_stream.py MODEL PROMPT

The endpoint and key come from ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY.
"""

from __future__ import annotations

import os
import sys

from langchain_anthropic import ChatAnthropic


def main() -> None:
    model, prompt = sys.argv[1:3]
    chat = ChatAnthropic(model=model, base_url=os.environ["ANTHROPIC_BASE_URL"], max_retries=0)
    out = sys.stdout
    for chunk in chat.stream(prompt):
        if isinstance(chunk.content, str) and chunk.content:
            out.write(chunk.content)
            out.flush()
    out.write("\n")


if __name__ == "__main__":
    main()
