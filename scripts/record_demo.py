"""Record docs/demo.svg: chatstream streaming a Markdown reply into its live terminal view.

    python scripts/record_demo.py [--out docs/demo.svg] [--width 88]

The reply is streamed by the built-in echo model through the same driver and live renderer the
CLI uses, into a Rich console that records what reaches the scrollback (the redrawn region is
never recorded, so the picture is the final screen). The --stats line goes below it, as on a
terminal. Rerun it whenever the look of the terminal view changes.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402

from chatstream_cli import get_model  # noqa: E402
from chatstream_cli.driver import Mode, run_reply  # noqa: E402
from chatstream_cli.messages import HumanMessage  # noqa: E402
from chatstream_cli.render.live import LiveMarkdownRenderer  # noqa: E402
from chatstream_cli.render.stats import StatsRenderer  # noqa: E402

REPLY = """# Streaming with chatstream

Replies appear **token by token**, rendered as *Markdown* while they stream:
only the block still open is redrawn, so long replies stay fast.

## Try it

1. `pip install .`
2. `chatstream "Write me a 1 verse song about goldfish on the moon"`
3. Pipe it anywhere: `chatstream "..." | tee reply.txt`

```python
from chatstream_cli import get_model

chat = get_model("claude-3-haiku")
for chunk in chat.stream("Write me a song"):
    print(chunk.content, end="|", flush=True)
```

| view | when |
|------|------|
| live Markdown | stdout is a terminal |
| plain text | piped or redirected |

> Escape sequences from the model are shown, never obeyed."""


def record(width: int) -> Console:
    console = Console(width=width, force_terminal=True, color_system="truecolor", record=True, file=io.StringIO())
    console.print('[bold green]$[/] chatstream --stats -m builtin:echo "$(cat reply.md)"', highlight=False)
    stats = io.StringIO()
    model = get_model("builtin:echo", delay_ms=8)  # a fast model's pace
    renderer = StatsRenderer(LiveMarkdownRenderer(console, refresh_per_second=None), "echo", out=stats)
    run_reply(model, [HumanMessage(content=REPLY)], renderer, Mode.STREAM)
    console.print(stats.getvalue().strip(), style="dim", highlight=False)
    return console


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "demo.svg")
    parser.add_argument("--width", type=int, default=88)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record(args.width).save_svg(str(args.out), title="chatstream")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
