"""Does the live Markdown view stay as fast at the end of a long reply as at its start?

    python benchmarks/live_render.py [--chunks 20000] [--window 1000] [--repeat 3] [--rate 2000] [--cpu]

A Markdown reply of ``--chunks`` tokenizer-like chunks (headings, paragraphs, lists, code
blocks, tables, quotes) goes through the live renderer into a terminal-sized console
(width 100, height 40, truecolor, writing to /dev/null). The figure is the mean time per chunk
over the first and the last ``--window`` chunks; the target is last <= 1.5 x first.

Two modes:

* ``every chunk``: the open block is redrawn after every chunk, in the calling thread: the
  worst case. The figure is the wall time of one chunk, redraw included (with ``--cpu``, its
  CPU time: the fair figure on a machine busy with other work).
* ``as shipped``: the CLI's setting, where a render thread redraws at most 20 times a second,
  fed at ``--rate`` chunks a second (a fast model). The figure is the CPU time of the whole
  process (both threads) per chunk.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402

from chatstream_cli.messages import AIMessageChunk  # noqa: E402
from chatstream_cli.providers.builtin import tokenize  # noqa: E402
from chatstream_cli.render.live import REFRESH_PER_SECOND, LiveMarkdownRenderer  # noqa: E402

SECTION = """## Section {n}

This is paragraph {n} of a long reply. It has **strong** words, *emphasis*, `inline code`
and a [link](https://example.com/{n}), and it goes on long enough to wrap at a hundred columns.

- first point of section {n}
- second point, with `code`
- third point

```python
def section_{n}(values):
    total = 0
    for value in values:
        total += value * {n}
    return total
```

| name | value |
|------|-------|
| n    | {n}   |
| twice | {twice} |

> A quote to close section {n}.

"""


def markdown_chunks(count: int) -> list[str]:
    chunks: list[str] = []
    section = 0
    while len(chunks) < count:
        chunks += tokenize(SECTION.format(n=section, twice=2 * section))
        section += 1
    return chunks[:count]


def clock_marks(
    chunks: list[str], refresh_per_second: float | None, rate: float | None, cpu: bool = False
) -> list[float]:
    """The clock before each chunk and after the last: wall time when drawing every chunk (unless
    ``cpu``), the process's CPU time (both threads) when paced at ``rate`` chunks a second."""
    clock = time.process_time if rate or cpu else time.perf_counter
    with open(os.devnull, "w") as devnull:
        console = Console(file=devnull, force_terminal=True, width=100, height=40, color_system="truecolor")
        renderer = LiveMarkdownRenderer(console, refresh_per_second=refresh_per_second)
        renderer.start()
        marks = []
        began = time.perf_counter()
        for number, text in enumerate(chunks):
            if rate:
                time.sleep(max(0.0, began + number / rate - time.perf_counter()))
            marks.append(clock())
            renderer.chunk(AIMessageChunk(content=text))
        marks.append(clock())
        renderer.finish(AIMessageChunk(content="".join(chunks)))
    return marks


def window_means(marks: list[float], window: int) -> tuple[float, float]:
    """Mean microseconds per chunk over the first and the last window."""
    return (marks[window] - marks[0]) / window * 1e6, (marks[-1] - marks[-1 - window]) / window * 1e6


def measure(chunks: list[str], window: int, rate: float | None, repeat: int, cpu: bool = False) -> tuple[float, float]:
    """Best of ``repeat`` runs, first and last window."""
    refresh = REFRESH_PER_SECOND if rate else None
    runs = [window_means(clock_marks(chunks, refresh, rate, cpu), window) for _ in range(repeat)]
    return min(first for first, _ in runs), min(last for _, last in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rate", type=float, default=2000.0, help="chunks a second in the as-shipped mode")
    parser.add_argument("--cpu", action="store_true", help="time the every-chunk mode in CPU time, not wall time")
    args = parser.parse_args()
    chunks = markdown_chunks(args.chunks)
    print(f"{len(chunks)} chunks, {len(''.join(chunks)):,} characters; console 100 x 40")
    print(f"{'mode':<22} {'first':>12} {'last':>12} {'last/first':>11}")
    modes = (("every chunk", None, "CPU" if args.cpu else "wall"), (f"as shipped, {args.rate:g}/s", args.rate, "CPU"))
    for name, rate, clock in modes:
        first, last = measure(chunks, args.window, rate, args.repeat, args.cpu)
        print(f"{name:<22} {first:>9.1f} us {last:>9.1f} us {last / first:>10.2f}x   ({clock} time per chunk)")


if __name__ == "__main__":
    main()
