"""What the history costs: recording, and reading a big one, against an empty history.

    python benchmarks/history.py [--exchanges 100000] [--runs 7] [--keep DIR]

Builds a history of ``--exchanges`` exchanges (conversations of 1 to 4 turns, prompts of a dozen
words, replies of about sixty, the messages sent kept as chatstream keeps them) through the same
``history.record`` the CLI calls, then times whole ``chatstream`` processes (median and min-max of
``--runs``) on it and on an empty history:

* recording: ``history.record`` of one exchange in the big history (in-process, the exact cost),
  and a builtin:echo reply with and without ``--no-log`` (whole processes);
* ``logs -n 10``, ``logs -q WORD`` (a word found in one old reply, and a word in every tenth);
* ``-c`` (a reply that continues the latest conversation) against a first prompt;
* ``chat`` start-up: from the process start to prompt_toolkit reading the first line, in a pseudo-terminal.

Targets (issue 12): recording <= 10 ms; logs -n 10, logs -q and -c within 150 ms of the empty
history's time; chat start-up <= 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatstream_cli import history  # noqa: E402
from chatstream_cli.history import queries  # noqa: E402
from chatstream_cli.history.records import Exchange, Outcome  # noqa: E402

CHATSTREAM = [sys.executable, "-m", "chatstream_cli"]
RARE_WORD = "zanzibarite"
COMMON_WORD = "tangerine"
WORDS = [
    *("the", "a", "of", "moon", "goldfish", "river", "stone", "light", "code", "python", "error", "stream"),
    *("token", "model", "reply", "prompt", "bowl", "orbit", "quiet", "night", "silver", "water", "garden"),
    *("window", "paper", "music", "winter", "summer", "cloud", "forest", "engine"),
]


def build(home: Path, count: int) -> None:
    """``count`` exchanges recorded as the CLI records them, through one connection (a process each would
    take an hour)."""
    os.environ["CHATSTREAM_HOME"] = str(home)
    with history.opened(create=True) as db:
        assert db is not None
        fill(db, count)


def fill(db: sqlite3.Connection, count: int) -> None:
    rng = random.Random(12)
    made = 0
    started = time.perf_counter()
    while made < count:
        cid = history.new_cid()
        messages: list[dict[str, str]] = []
        for _turn in range(rng.randint(1, 4)):
            prompt = " ".join(rng.choices(WORDS, k=12))
            reply = " ".join(rng.choices(WORDS, k=60))
            if made % 10 == 0:
                reply += f" {COMMON_WORD}"
            if made == count // 20:
                reply += f" {RARE_WORD}"
            messages = [*messages, {"type": "human", "content": prompt}]
            queries.record(
                db,
                Exchange(
                    cid=cid,
                    model="echo",
                    provider="builtin",
                    prompt=prompt,
                    reply=reply,
                    outcome=Outcome.COMPLETED,
                    messages=messages,
                    options={"temperature": None, "max_tokens": None, "options": {"delay_ms": 0}},
                    input_tokens=12,
                    output_tokens=60,
                    total_tokens=72,
                    first_token_ms=1.0,
                    total_ms=3.0,
                    stop_reason="end_turn",
                ),
            )
            messages = [*messages, {"type": "ai", "content": reply}]
            made += 1
            if made % 10_000 == 0:
                print(f"  built {made:,} exchanges in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            if made == count:
                break


def record_cost(home: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds that history.record takes for one more exchange in this history (in-process)."""
    os.environ["CHATSTREAM_HOME"] = str(home)
    walls, cpus = [], []
    for _ in range(runs):
        exchange = Exchange(
            cid=history.new_cid(), model="echo", provider="builtin", prompt="hi " * 12, reply="hello " * 60,
            outcome=Outcome.COMPLETED,
        )  # fmt: skip
        wall, cpu = time.perf_counter(), time.process_time()
        history.record(exchange)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def timed(argv: list[str], home: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of whole processes: on a loaded machine only the CPU time
    says what the command itself costs."""
    env = {**os.environ, "CHATSTREAM_HOME": str(home)}
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def chat_startup(home: Path, runs: int) -> tuple[list[float], list[float]]:
    """From spawning ``chatstream chat`` in a pseudo-terminal to prompt_toolkit reading its first line."""
    import pexpect

    env = {**os.environ, "CHATSTREAM_HOME": str(home), "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        child = pexpect.spawn(CHATSTREAM[0], [*CHATSTREAM[1:], "chat", "-m", "builtin:echo"], env=env, timeout=20)
        child.expect(r"\x1b\[\?2004h")
        walls.append(time.perf_counter() - started)
        child.sendeof()
        child.expect(pexpect.EOF)
        child.close()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the whole session: start-up and exit
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def figure(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return f"{statistics.median(ms):.1f} ms ({ms[0]:.1f}-{ms[-1]:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build the big history here (reused when it exists)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="chatstream-history-bench-"))
    big = args.keep or scratch / "big"
    empty = scratch / "empty"
    if not (big / "history.db").exists():
        print(f"building a history of {args.exchanges:,} exchanges in {big} ...", file=sys.stderr)
        build(big, args.exchanges)
    size = (big / "history.db").stat().st_size
    os.environ["CHATSTREAM_HOME"] = str(big)
    with history.opened() as db:
        assert db is not None
        count = db.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0]
    print(f"history: {count:,} exchanges, {size / 1e6:.0f} MB; {args.runs} runs each\n")

    echo = [*CHATSTREAM, "-m", "builtin:echo", "-o", "delay_ms", "0"]
    timed([*echo, "seed"], empty, 1)  # the empty history gets its file, so -n 10 reads one
    logs = [*CHATSTREAM, "logs"]
    processes = [  # what, the command on the big history, the baseline command, the baseline's history
        ("reply, recorded (baseline: --no-log)", [*echo, "hi"], [*echo, "--no-log", "hi"], big),
        ("logs -n 10", [*logs, "-n", "10"], [*logs, "-n", "10"], empty),
        (f"logs -q {RARE_WORD} (in one old reply)", [*logs, "-q", RARE_WORD], [*logs, "-q", RARE_WORD], empty),
        (f"logs -q {COMMON_WORD} (in every tenth)", [*logs, "-q", COMMON_WORD], [*logs, "-q", COMMON_WORD], empty),
        ("-c hi (baseline: a first prompt)", [*echo, "-c", "hi"], [*echo, "hi"], empty),
    ]
    rows = [("history.record, one exchange (in-process)", record_cost(big, args.runs * 3), None)]
    rows += [
        (name, timed(command, big, args.runs), timed(baseline, base_home, args.runs))
        for name, command, baseline, base_home in processes
    ]
    rows.append(("chat start-up (pseudo-terminal)", chat_startup(big, args.runs), chat_startup(empty, args.runs)))
    print("| what | 100k history: wall | CPU | baseline: wall | CPU | difference: wall | CPU |")
    print("|---|---|---|---|---|---|---|")
    for name, (walls, cpus), baseline in rows:
        cells = [figure(walls), figure(cpus)]
        if baseline is not None:
            base_walls, base_cpus = baseline
            cells += [figure(base_walls), figure(base_cpus), difference(walls, base_walls), difference(cpus, base_cpus)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nbaseline: the same command on an empty history, unless the row says otherwise; median (min-max)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def difference(measured: list[float], baseline: list[float]) -> str:
    return f"{(statistics.median(measured) - statistics.median(baseline)) * 1000:+.1f} ms"


if __name__ == "__main__":
    main()
