"""Peak memory of a 20 MB PDF attachment (and a 20 MB text file with -f), against a plain prompt.

    python benchmarks/attachments.py [--runs N] [--size-mb 20]

Each row is a whole ``chatstream`` process sending to a local server (Anthropic's and OpenAI's wire
formats; the server reads the whole request, then streams a short reply), run N times, interleaved;
the table shows the median peak RSS (GNU time's, as in benchmarks/run.py), what it adds above the
plain prompt, and that as a multiple of the file's size: how many copies of the file the process
held at its peak. Never part of the tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import FAKE_KEY, REPO, BenchError, run_once

from tests.loopback import LoopbackServer, Reply
from tests.test_anthropic_provider import anthropic_stream
from tests.test_openai_provider import reply_events
from tests.test_openai_provider import sse as openai_sse

CHATSTREAM = [sys.executable, "-m", "chatstream_cli"]


def rows(pdf: Path, text: Path, base_url: str) -> dict[str, tuple[list[str], str]]:
    """name: (arguments, the reply format the server answers with)."""
    anthropic = ["-m", "anthropic:claude-haiku-4-5"]
    openai = ["-m", "openai:gpt-4o-mini"]
    return {
        "anthropic, plain prompt": ([*anthropic, "hi"], "anthropic"),
        "anthropic, -a 20 MB PDF": ([*anthropic, "-a", str(pdf), "summarise"], "anthropic"),
        "openai, plain prompt": ([*openai, "hi"], "openai"),
        "openai, -a 20 MB PDF": ([*openai, "-a", str(pdf), "summarise"], "openai"),
        "openai, -f 20 MB text": ([*openai, "-f", str(text), "summarise"], "openai"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mb", type=float, default=20)
    options = parser.parse_args()
    size = int(options.size_mb * 1024 * 1024)
    with tempfile.TemporaryDirectory() as scratch, LoopbackServer() as server:
        pdf, text = Path(scratch) / "big.pdf", Path(scratch) / "big.txt"
        pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + os.urandom(size - 15))
        text.write_bytes((b"all work and no play makes jack a dull boy\n" * (size // 43 + 1))[:size])
        env = {
            **os.environ,
            "ANTHROPIC_API_KEY": FAKE_KEY,
            "ANTHROPIC_BASE_URL": server.base_url,
            "OPENAI_API_KEY": FAKE_KEY,
            "OPENAI_BASE_URL": server.base_url,
            "CHATSTREAM_HOME": scratch,
        }
        replies = {"anthropic": anthropic_stream("Done."), "openai": openai_sse(reply_events(["Done."]))}
        table = rows(pdf, text, server.base_url)
        peaks: dict[str, list[int]] = {name: [] for name in table}
        for _ in range(options.runs + 1):  # the first round warms up and is discarded
            for name, (args, wire) in table.items():
                server.enqueue(Reply.sse(replies[wire]))
                try:
                    sample = run_once([*CHATSTREAM, *args], env)
                except BenchError as exc:
                    sys.exit(f"{name}: {exc}")
                peaks[name].append(sample.peak_rss_kb)
        report({name: runs[1:] for name, runs in peaks.items()}, size)


def report(peaks: dict[str, list[int]], size: int) -> None:
    mb = size / 1024 / 1024
    print(f"peak RSS, median of {len(next(iter(peaks.values())))} runs; file: {mb:g} MB ({REPO.name})")
    print(f"{'run':<26} {'peak MB':>8} {'added MB':>9} {'copies':>7}")
    baseline = {"anthropic": 0.0, "openai": 0.0}
    for name, runs in peaks.items():
        peak = statistics.median(runs) / 1024
        provider = name.split(",")[0]
        if "plain" in name:
            baseline[provider] = peak
            print(f"{name:<26} {peak:>8.1f} {'':>9} {'':>7}")
            continue
        added = peak - baseline[provider]
        print(f"{name:<26} {peak:>8.1f} {added:>9.1f} {added / mb:>7.1f}")


if __name__ == "__main__":
    main()
