"""How fast ``--events`` goes: events per second for a 100,000-chunk reply of the built-in model.

    python benchmarks/events_throughput.py [--verses 3000] [--repeat 3]

Three figures, best of ``--repeat`` runs each:

* ``cli --events``: the whole pipeline, ``chatstream --events -m builtin:poet -o delay_ms 0`` as a
  subprocess writing to /dev/null (process start-up included);
* ``cli plain``: the same reply as plain text, so the difference is what the events cost;
* ``events layer``: in-process, the JSON lines of already-made chunks written to /dev/null.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatstream_cli.events import EventRun  # noqa: E402
from chatstream_cli.providers import get_model  # noqa: E402
from chatstream_cli.render.jsonl import JsonlRenderer  # noqa: E402

PROMPT = "Write me a song about goldfish on the moon"


def command(verses: int, *extra: str) -> list[str]:
    model = ["-m", "builtin:poet", "-o", "delay_ms", "0", "-o", "verses", str(verses)]
    return [sys.executable, "-m", "chatstream_cli", *model, *extra, PROMPT]


def count_stream_events(verses: int) -> int:
    output = subprocess.run(command(verses, "--events"), cwd=REPO, capture_output=True, check=True).stdout
    return output.count(b'"event": "on_chat_model_stream"')


def best_wall_time(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        with open(os.devnull, "wb") as devnull:
            began = time.perf_counter()
            subprocess.run(argv, cwd=REPO, stdout=devnull, check=True)
            times.append(time.perf_counter() - began)
    return min(times)


def best_layer_time(verses: int, repeat: int) -> float:
    model = get_model("builtin:poet", delay_ms=0, verses=verses)
    chunks = list(model.stream(PROMPT))
    times = []
    for _ in range(repeat):
        with open(os.devnull, "wb") as devnull:
            renderer = JsonlRenderer(devnull, EventRun(model, PROMPT))
            began = time.perf_counter()
            renderer.start()
            for chunk in chunks:
                renderer.chunk(chunk)
            renderer.finish(chunks[-1])
            times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verses", type=int, default=3000, help="reply length (3000 verses: ~100,000 chunks)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    chunks = count_stream_events(args.verses)
    events = chunks + 2  # start and end
    print(f"reply: {chunks:,} chunks, {events:,} events")
    for label, seconds, count, unit in (
        ("cli --events", best_wall_time(command(args.verses, "--events"), args.repeat), events, "events"),
        ("cli plain", best_wall_time(command(args.verses), args.repeat), chunks, "chunks"),
        ("events layer", best_layer_time(args.verses, args.repeat), events, "events"),
    ):
        print(f"{label:>13}: {seconds:6.3f} s  {count / seconds:>10,.0f} {unit}/s")


if __name__ == "__main__":
    main()
