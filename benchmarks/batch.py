"""``chatstream batch`` against a bare httpx+asyncio script, and its memory on a long input.

    python benchmarks/batch.py [--prompts 1000] [--concurrency 16] [--rss-lines 100000] [--runs 3]

* cost: N prompts against a local zero-delay OpenAI-compatible server (tests/batch_server.py, in its own
  process) at concurrency C, through ``chatstream batch`` and through a bare script that does the same
  requests with one ``httpx.AsyncClient``, a semaphore of C and a JSON parse of every SSE event. Each is
  a whole process; CPU is its user+system time (``os.wait4``). Reported: wall time and CPU per prompt of
  each, chatstream's wall ratio, and chatstream's own CPU per prompt (its CPU minus the bare script's,
  start-up included, over N). Runs alternate; the median of ``--runs`` is shown.
* memory: peak RSS of ``chatstream batch`` over an input of ``--rss-lines`` prompts (builtin:echo at
  delay 0, results to /dev/null), against the same command on 100 lines.

Targets (issue 17): own CPU at most 2 ms a prompt, wall within 1.3x the bare script, RSS under 100 MiB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BARE = r"""
import asyncio, json, sys
import httpx

async def one(client, limit, url, prompt, out):
    async with limit:
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": prompt}],
                "stream_options": {"include_usage": True}}
        text = []
        async with client.stream("POST", url, json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    event = json.loads(line[6:])
                    for choice in event["choices"]:
                        text.append(choice["delta"].get("content") or "")
        out.write(json.dumps({"prompt": prompt, "content": "".join(text)}) + "\n")

async def main(base, path, concurrency):
    limit = asyncio.Semaphore(concurrency)
    prompts = open(path).read().splitlines()
    with open("/dev/null", "w") as out:
        async with httpx.AsyncClient(timeout=60) as client:
            await asyncio.gather(*(one(client, limit, base + "/v1/chat/completions", p, out) for p in prompts))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def measured(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:4]} failed: {process.stderr.read().decode()[-500:] if process.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def start_server() -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen([sys.executable, "-m", "tests.batch_server"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def cost(prompts: int, concurrency: int, runs: int) -> None:
    server, base = start_server()
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench-key-0000"}
    try:
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "prompts.txt"
            source.write_text("".join(f"prompt number {n} for the benchmark\n" for n in range(prompts)))
            script = Path(folder) / "bare.py"
            script.write_text(BARE)
            ours = [sys.executable, "-m", "chatstream_cli", "batch", str(source), "-m", "openai:m"]
            ours += ["--base-url", f"{base}/v1", "-j", str(concurrency), "--out", os.devnull, "-q"]
            bare = [sys.executable, str(script), base, str(source), str(concurrency)]
            figures: dict[str, list[tuple[float, float, int]]] = {"chatstream": [], "bare": []}
            for _ in range(runs):
                figures["bare"].append(measured(bare, env))
                figures["chatstream"].append(measured(ours, env))
    finally:
        server.terminate()
        server.wait()
    median = {
        name: tuple(statistics.median(run[i] for run in rows) for i in range(3)) for name, rows in figures.items()
    }
    for name, (wall, cpu, _) in median.items():
        per_prompt = cpu * 1000 / prompts
        print(f"{name:>10}: {prompts} prompts at -j {concurrency}: wall {wall:.2f} s, CPU {per_prompt:.2f} ms/prompt")
    ratio = median["chatstream"][0] / median["bare"][0]
    own = (median["chatstream"][1] - median["bare"][1]) * 1000 / prompts
    print(f"chatstream wall / bare wall: {ratio:.2f}x; chatstream's own CPU: {own:.2f} ms/prompt (start-up included)")


def memory(lines: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        peaks = {}
        for count in (100, lines):
            source = Path(folder) / f"prompts-{count}.txt"
            source.write_text("".join(f"prompt {n}: a line of the long input\n" for n in range(count)))
            argv = [sys.executable, "-m", "chatstream_cli", "batch", str(source), "-m", "builtin:echo"]
            argv += ["-o", "delay_ms", "0", "-j", "16", "--out", os.devnull, "-q"]
            wall, _, rss = measured(argv)
            peaks[count] = rss
            print(f"{count:>7} lines: peak RSS {rss / 1024:.1f} MiB, wall {wall:.1f} s")
        print(f"RSS added by {lines:,} lines over 100: {(peaks[lines] - peaks[100]) / 1024:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rss-lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cost(args.prompts, args.concurrency, args.runs)
    memory(args.rss_lines)


if __name__ == "__main__":
    main()
