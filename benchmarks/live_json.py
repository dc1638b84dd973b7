"""Is the ``--schema`` terminal view's cost per chunk flat? A 50 KB JSON document streamed in 4-character
chunks through the live JSON view (a real Rich console writing to memory, as a 100-column terminal):
the time per chunk over the first and the last 1,000 chunks, and, beside it, what re-parsing the whole
text so far at every chunk (``parse_partial_json``, as a naive view would) costs at the same points.

    python benchmarks/live_json.py [--size 50000] [--chunk 4] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatstream_cli.messages import AIMessageChunk
from chatstream_cli.partial_json import parse_partial_json
from chatstream_cli.render.live_json import LiveJsonRenderer
from chatstream_cli.render.terminal import terminal_console

WINDOW = 1000


def document(size: int) -> str:
    """A JSON document of about ``size`` bytes: records with strings, numbers, booleans and lists."""
    records, text = [], ""
    while len(text) < size:
        n = len(records)
        records.append({"id": n, "name": f"goldfish {n}", "bio": "swims in quiet dreams " * 3, "tags": ["moon", n % 7]})
        if n % 50 == 0:
            text = json.dumps({"items": records})
    return json.dumps({"items": records})


def per_chunk_us(chunks: list[str], step) -> list[float]:
    times = []
    for chunk in chunks:
        start = time.perf_counter()
        step(chunk)
        times.append((time.perf_counter() - start) * 1e6)
    return times


def live_view(chunks: list[str]) -> list[float]:
    console = terminal_console(io.StringIO())
    console.width = 100
    console._force_terminal = True
    renderer = LiveJsonRenderer(console)
    renderer.start()
    times = per_chunk_us(chunks, lambda text: renderer.chunk(AIMessageChunk(content=text)))
    renderer.finish(AIMessageChunk(content=""))
    return times


def reparse(chunks: list[str]) -> list[float]:
    seen: list[str] = []

    def step(text: str) -> None:
        seen.append(text)
        parse_partial_json("".join(seen))

    return per_chunk_us(chunks, step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--chunk", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = document(args.size)
    chunks = [text[i : i + args.chunk] for i in range(0, len(text), args.chunk)]
    print(f"{len(text):,} bytes in {len(chunks):,} chunks of {args.chunk}; median of {args.repeat} runs, µs per chunk")
    for name, run in (("live JSON view", live_view), ("re-parse per chunk", reparse)):
        firsts, lasts = [], []
        for _ in range(args.repeat):
            times = run(chunks)
            firsts.append(statistics.median(times[:WINDOW]))
            lasts.append(statistics.median(times[-WINDOW:]))
        first, last = statistics.median(firsts), statistics.median(lasts)
        print(f"{name:<20} first {WINDOW:,}: {first:8.1f}   last {WINDOW:,}: {last:8.1f}   ratio {last / first:5.2f}")


if __name__ == "__main__":
    main()
