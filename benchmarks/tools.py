"""What tools cost: ``--functions`` on a reply, a chain of tool calls, and an MCP server's start.

    python benchmarks/tools.py [--runs 9]

Whole ``chatstream`` processes on the offline echo model (``-o delay_ms 0``, ``--no-log``), median and
min-max of ``--runs``, wall time and CPU time (user + system of the process):

* a plain reply, against the same reply with ``--functions`` (one small function: the file is compiled,
  its signature walked into a schema, the tools package imported);
* one round of tool calls (``call add {...}``): the reply, the call, the second reply;
* ``--mcp`` with tests/mcp_server.py (the SDK's MCPServer over stdio), one call: the server's start and
  the SDK's import are paid once per process; and the same ``mcp list``.

Targets (issue 22): ``--functions`` adds under 30 ms; an MCP server's start is paid once per process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADD = 'def add(a: int, b: int) -> int:\n    "Add two integers."\n    return a + b\n'
ECHO = ["-m", "builtin:echo", "-o", "delay_ms", "0", "--no-log", "-q"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process (its children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def row(name: str, argv: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    samples = [timed(argv, env) for _ in range(runs)]
    walls, cpus = [s[0] * 1000 for s in samples], [s[1] * 1000 for s in samples]
    result = {
        "wall": statistics.median(walls),
        "wall_min": min(walls),
        "wall_max": max(walls),
        "cpu": statistics.median(cpus),
    }
    spread = f"({result['wall_min']:.0f}-{result['wall_max']:.0f})"
    print(f"{name:<44} wall {result['wall']:7.0f} ms {spread:<12} cpu {result['cpu']:6.0f} ms")
    return result


IN_PROCESS = """
import time
import chatstream_cli.commands.prompt, chatstream_cli.render.plain  # what a reply without tools imports anyway
started = time.perf_counter()
import chatstream_cli.commands.tooluse
from chatstream_cli.tools.functions import load_functions
load_functions({code!r})
print((time.perf_counter() - started) * 1000)
"""


def in_process(runs: int, env: dict[str, str]) -> float:
    """The cost --functions adds inside one process: importing the tools machinery (beyond what a reply
    imports anyway) and loading the code."""
    samples = []
    for _ in range(runs):
        ran = subprocess.run(
            [sys.executable, "-c", IN_PROCESS.format(code=ADD)], env=env, capture_output=True, text=True, check=True
        )
        samples.append(float(ran.stdout))
    print(f"{'--functions in-process (import + load)':<44} median {statistics.median(samples):.1f} ms")
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    chatstream = [sys.executable, "-m", "chatstream_cli"]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "CHATSTREAM_HOME": home, "PYTHONPATH": str(REPO)}
        server = {"command": sys.executable, "args": [str(REPO / "tests" / "mcp_server.py")]}
        (Path(home) / "config.toml").write_text(
            f"[mcp.bench]\ncommand = {json.dumps(server['command'])}\nargs = {json.dumps(server['args'])}\n"
        )
        row("--version", [*chatstream, "--version"], env, runs)
        plain = row("a reply", [*chatstream, *ECHO, "hi"], env, runs)
        functions = row("a reply with --functions", [*chatstream, *ECHO, "--functions", ADD, "hi"], env, runs)
        row("one round of tool calls", [*chatstream, *ECHO, "--functions", ADD, 'call add {"a": 1, "b": 2}'], env, runs)
        mcp = row(
            "--mcp (stdio server), one call",
            [*chatstream, *ECHO, "--mcp", "bench", 'call add {"a": 1, "b": 2}'],
            env,
            runs,
        )
        row("mcp list (one stdio server)", [*chatstream, "mcp", "list"], env, runs)
        in_process(runs, env)
        for name, figures in (("--functions", functions), ("--mcp with one call", mcp)):
            wall, cpu = figures["wall"] - plain["wall"], figures["cpu"] - plain["cpu"]
            print(f"{name} adds {wall:.0f} ms wall, {cpu:.0f} ms CPU (whole processes)")


if __name__ == "__main__":
    main()
