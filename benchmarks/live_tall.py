"""How long does a 5,000-line reply take in the live view of a real terminal, and does it arrive whole?

    python benchmarks/live_tall.py [--lines 5000] [--size 100x40] [--repeat 3]

The built-in echo model streams a Markdown reply of ``--lines`` lines (the sections of
benchmarks/live_render.py: headings, paragraphs, lists, code, tables, quotes) with no delay,
through the CLI, in a tmux pane. The figure is the wall time of the chatstream process (best of
``--repeat``); the check is that the pane's scrollback equals the same reply rendered whole in it.
Needs tmux.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from live_render import SECTION  # noqa: E402

WHOLE = """
from chatstream_cli.render.layout import Lines, render_markdown
from chatstream_cli.render.terminal import terminal_console
console = terminal_console()
text = open("reply.md").read()
console.print(Lines(render_markdown(console, text, console.width).lines), crop=False)
"""
MARK = "=== whole ==="


def reply(lines: int) -> str:
    sections, n = [], 0
    while sum(section.count("\n") for section in sections) < lines:
        sections.append(SECTION.format(n=n, twice=2 * n))
        n += 1
    return "".join(sections).rstrip("\n")


RUN = """clear
start=$EPOCHREALTIME
{python} -m chatstream_cli -m builtin:echo -o delay_ms 0 - < reply.md
echo "$start $EPOCHREALTIME" > elapsed
echo '{mark}'
{python} whole.py
touch done
sleep 600
"""


def run_once(folder: Path, width: int, height: int, run: int) -> tuple[float, bool]:
    """The wall time of one reply in a fresh tmux pane, and whether the pane shows it whole."""
    for name in ("done", "elapsed"):
        (folder / name).unlink(missing_ok=True)
    (folder / "run.sh").write_text(RUN.format(python=sys.executable, mark=MARK))
    (folder / "tmux.conf").write_text("set -g history-limit 100000\n")
    # A server of its own for each run: a server just killed may still hold its socket.
    socket = ["tmux", "-L", f"chatstream-bench-{folder.name}-{run}", "-f", str(folder / "tmux.conf")]
    size = ["-x", str(width), "-y", str(height)]
    subprocess.run([*socket, "new-session", "-d", *size, "-c", str(folder), "bash run.sh"], check=True)
    try:
        while not (folder / "done").exists():
            time.sleep(0.1)
        capture = [*socket, "capture-pane", "-p", "-J", "-S", "-"]
        shown = subprocess.run(capture, capture_output=True, text=True, check=True).stdout
    finally:
        subprocess.run([*socket, "kill-server"], check=False)
    lines = [line.rstrip() for line in shown.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    mark = lines.index(MARK)
    start, end = map(float, (folder / "elapsed").read_text().split())
    return end - start, lines[:mark] == lines[mark + 1 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--size", default="100x40", help="the pane's columns x rows")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("live_tall.py needs tmux")
    width, height = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        text = reply(args.lines)
        (folder / "reply.md").write_text(text)
        (folder / "whole.py").write_text(WHOLE)
        runs = [run_once(folder, width, height, run) for run in range(args.repeat)]
    times = sorted(elapsed for elapsed, _ in runs)
    whole = all(same for _, same in runs)
    print(f"{text.count(chr(10)) + 1:,} lines, {len(text):,} characters; tmux pane {width} x {height}")
    print(f"wall time: best {times[0]:.2f} s, median {times[len(times) // 2]:.2f} s")
    print(f"the scrollback equals the reply rendered whole: {whole}")


if __name__ == "__main__":
    main()
