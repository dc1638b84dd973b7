"""The floor under the Anthropic provider: chatstream against a bare SDK script on the same reply.

    python benchmarks/anthropic_floor.py [--tokens 2000] [--runs 7]

A loopback server (tests/loopback.py) answers every request at once with the same Anthropic SSE
stream of ``--tokens`` text deltas (one word each, one HTTP chunk per event, no delay). Figures,
each the median whole-process wall time of ``--runs`` runs with stdout on /dev/null:

* ``chatstream``: ``chatstream -m anthropic:claude-haiku-4-5 --base-url URL PROMPT``;
* ``bare SDK``: a script that does nothing but ``client.messages.stream(...)`` and writes each
  ``text_stream`` piece (what a hand-written SDK loop costs: the floor for a process that uses the SDK);
* ``bare SDK, raw events``: the same with ``messages.create(stream=True)``, the SDK's lightest loop;
* ``chatstream --help``: chatstream's own start-up, without the SDK;
* ``python -c pass`` and ``python -c "import anthropic"``: the interpreter, and what importing the
  SDK adds to any process that uses it;
* the in-process cost of ``import anthropic`` from ``python -X importtime`` (its cumulative line).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from run import anthropic_stream  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from tests.loopback import LoopbackServer, Reply  # noqa: E402

MODEL = "claude-haiku-4-5"
FAKE_KEY = "sk-ant-BENCHMARK-0000"
PROMPT = "Count words"

BARE_SDK = """
import sys, anthropic
client = anthropic.Anthropic(api_key=sys.argv[2], base_url=sys.argv[1])
out = sys.stdout
with client.messages.stream(model=sys.argv[3], max_tokens=4096,
                            messages=[{"role": "user", "content": sys.argv[4]}]) as stream:
    for text in stream.text_stream:
        out.write(text)
        out.flush()
out.write("\\n")
"""

BARE_SDK_RAW = """
import sys, anthropic
client = anthropic.Anthropic(api_key=sys.argv[2], base_url=sys.argv[1])
out = sys.stdout
stream = client.messages.create(model=sys.argv[3], max_tokens=4096, stream=True,
                                messages=[{"role": "user", "content": sys.argv[4]}])
for event in stream:
    if event.type == "content_block_delta" and event.delta.type == "text_delta":
        out.write(event.delta.text)
        out.flush()
out.write("\\n")
"""


def median_wall_time(argv: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        with open(os.devnull, "wb") as devnull:
            began = time.perf_counter()
            subprocess.run(argv, cwd=REPO, env=env, stdout=devnull, check=True)
            times.append(time.perf_counter() - began)
    return statistics.median(times)


def import_time_ms() -> float:
    """``import anthropic``'s cumulative time from ``-X importtime``, in milliseconds."""
    report = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import anthropic"], capture_output=True, text=True, check=True
    ).stderr
    match = re.search(r"\|\s*(\d+)\s*\|\s*anthropic$", report, re.MULTILINE)
    return int(match.group(1)) / 1000 if match else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CHATSTREAM_MODEL"))}
    with LoopbackServer() as server:
        server.default = Reply.sse(anthropic_stream(args.tokens))
        url = server.base_url
        python = sys.executable
        figures = {
            "chatstream": [python, "-m", "chatstream_cli", "-m", f"anthropic:{MODEL}", "--base-url", url, PROMPT],
            "bare SDK": [python, "-c", BARE_SDK, url, FAKE_KEY, MODEL, PROMPT],
            "bare SDK, raw events": [python, "-c", BARE_SDK_RAW, url, FAKE_KEY, MODEL, PROMPT],
            "chatstream --help": [python, "-m", "chatstream_cli", "--help"],
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import anthropic'": [sys.executable, "-c", "import anthropic"],
        }
        run_env = {**env, "ANTHROPIC_API_KEY": FAKE_KEY}
        results = {name: median_wall_time(argv, args.runs, run_env) for name, argv in figures.items()}
        served = len(server.requests)
    print(f"{args.tokens}-token reply from a local server, median of {args.runs} runs ({served} requests served)")
    for name, seconds in results.items():
        print(f"  {name:32} {seconds * 1000:7.0f} ms")
    extra = results["chatstream"] - results["bare SDK"]
    print(f"  chatstream - bare SDK            {extra * 1000:7.0f} ms")
    print(f"  import anthropic (-X importtime) {import_time_ms():7.0f} ms")


if __name__ == "__main__":
    main()
