"""chatstream against its peers and the physical floor: start-up, first token, throughput, peak memory.

    python benchmarks/run.py [--quick] [--json PATH] [--only startup,ttft,throughput,memory]

Every figure is a whole process, started several times; a table shows the median and the spread
(min-max) and benchmarks/results/latest.json (plus --json PATH) keeps every run. The runs of a
table's rows are interleaved (row 1, row 2, ..., row 1, row 2, ...) so that a slow moment of the
machine does not land on one row, and one warm-up run of each row is discarded.

* startup: ``chatstream --help`` / ``--version`` against ``python -c pass`` and ``llm --help``, and
  ``import httpx; httpx.Client()``: what any httpx client pays before it can send (the first-token
  goal compares a reply with --help, which pays none of it).
* ttft: the same reply (2,000 and 100,000 tokens) in Anthropic's wire format from a local server
  with no delay, through chatstream (its direct httpx path, and ``-o transport sdk``), a bare httpx
  script (the floor of the direct path), a plain anthropic-SDK script (the floor of the SDK path),
  LangChain's ``ChatAnthropic.stream`` and ``llm`` with llm-anthropic. Time to first token is
  measured from process start to the first byte on the child's stdout, read unbuffered here:
  every contender writes nothing before the first token, then the text as it arrives.
* throughput: a 100,000-token reply through the piped plain view, ``-d '|'``, ``--events`` and
  ``--json``, from ``builtin:echo`` at delay 0 and from the Anthropic provider over the local
  server, against ``cat`` of the same bytes.
* memory: peak RSS (``os.wait4``'s rusage of each child) for replies of 20, 10,000 and 100,000
  tokens in each mode: what a reply adds above the 20-token run must grow with the reply
  (10x tokens, about 10x memory), not with chunks x reply.

Peers come from the optional extra ``pip install -e ".[bench]"`` (llm, langchain-anthropic), and
llm with llm-anthropic from a venv of their own (llm-anthropic needs anthropic<2, chatstream >=2)::

    python -m venv ~/.cache/chatstream-bench-llm
    ~/.cache/chatstream-bench-llm/bin/pip install llm llm-anthropic

A peer that is not installed, or fails, is reported as such and skipped. Never part of the tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatstream_cli.providers.builtin import tokenize  # noqa: E402
from tests.loopback import LoopbackServer, Reply  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "latest.json"
CONTENDERS = REPO / "benchmarks" / "contenders"
BIN = Path(sys.executable).parent
TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
"""GNU time, for each command's own peak RSS (without it, peaks below this process's own are hidden)."""
MODEL = "claude-3-haiku-20240307"
PROMPT = "Write me a song about goldfish on the moon"
FAKE_KEY = "sk-ant-bench-0000"
HTTP_PIECE = 16 * 1024
"""The local server writes the stream in HTTP chunks of this size: "no delay" means the client gets
whatever is ready, as from a fast network, rather than one TCP write per event."""
WORDS = ("Once", " upon", " a", " time", " fish", " swam", " on", " the", " moon", ",")
"""Reply tokens: no word is longer than 6 letters, so builtin:echo streams each one as one chunk."""
INSTALL_HINT = "pip install -e '.[bench]'"
LLM_VENV = Path.home() / ".cache" / "chatstream-bench-llm" / "bin" / "llm"
LLM_HINT = f"python -m venv {LLM_VENV.parents[1]} && {LLM_VENV.parent}/pip install llm llm-anthropic"
SDK = ["-o", "transport", "sdk"]
CLICK_NOTE = (
    "note: click is installed beside chatstream here, so `import httpx` in the floor scripts also loads httpx's"
    " command-line client (chatstream blocks it); a venv with only chatstream and its peers has no click"
)
HTTPX_CLIENT = "import httpx; httpx.Client()"
"""What any httpx client pays before its first request (imports, CA certificates): the floor under
the first-token goal's gap, which --help does not pay."""
MODES: dict[str, list[str]] = {"plain": [], "delimiter": ["-d", "|"], "events": ["--events"], "json": ["--json"]}


# -- running one process ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """One whole-process run."""

    total_s: float
    first_output_s: float | None
    peak_rss_kb: int
    output_bytes: int


class BenchError(Exception):
    """A contender failed; the message holds its exit code and the end of its stderr."""


def run_once(argv: Sequence[str], env: dict[str, str], stdin: Path | None = None, keep: Path | None = None) -> Sample:
    """Run ``argv`` with stdout piped to us, timing it from just before the start to its exit."""
    with tempfile.TemporaryDirectory() as scratch, open(stdin or os.devnull, "rb") as given:
        errors, rss = Path(scratch) / "stderr", Path(scratch) / "rss"
        with open(errors, "wb") as stderr:
            began = time.perf_counter()
            proc = subprocess.Popen(
                [*_rss_probe(rss), *argv], stdin=given, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=REPO
            )
            first, size = _drain(proc.stdout.fileno(), began, keep)  # type: ignore[union-attr]
            _, status, usage = os.wait4(proc.pid, 0)
            total = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()  # type: ignore[union-attr]
        if proc.returncode:
            tail = errors.read_text(errors="replace").strip().splitlines()[-3:]
            raise BenchError(f"{' '.join(argv[:4])}... exited {proc.returncode}: {' | '.join(tail)}")
        peak = int(rss.read_text().split()[-1]) if TIME else usage.ru_maxrss
    return Sample(total, first, peak, size)


def _rss_probe(path: Path) -> list[str]:
    """GNU time in front of the command, writing its peak RSS to ``path``.

    The child's own rusage would not do: a child forked from this process starts with this
    process's peak RSS (Linux carries the peak of the memory it had before exec over), while
    time is small, so what time reports is the command's own peak.
    """
    return [TIME, "-f", "%M", "-o", str(path)] if TIME else []


def _drain(fd: int, began: float, keep: Path | None) -> tuple[float | None, int]:
    """Read a pipe to its end: (seconds to the first byte, bytes read); the bytes go to ``keep``."""
    first = None
    size = 0
    sink = open(keep, "wb") if keep else None  # noqa: SIM115 (closed below, on every path)
    try:
        while data := os.read(fd, 1 << 16):
            if first is None:
                first = time.perf_counter() - began
            size += len(data)
            if sink:
                sink.write(data)
    finally:
        if sink:
            sink.close()
    return first, size


# -- rows and their statistics ---------------------------------------------------------------


@dataclass
class Row:
    """One contender in one table: how to run it, and its runs."""

    group: str
    name: str
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    stdin: Path | None = None
    chunks: int | None = None
    floor: bool = False
    skipped: str | None = None
    samples: list[Sample] = field(default_factory=list)
    cat: list[Sample] = field(default_factory=list)
    """``cat`` of this row's output bytes, the floor of a throughput row."""

    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = {"group": self.group, "name": self.name, "floor": self.floor}
        if self.skipped:
            return {**data, "skipped": self.skipped}
        data.update(
            command=" ".join(self.argv),
            chunks=self.chunks,
            runs=len(self.samples),
            total_s=spread([s.total_s for s in self.samples]),
            first_output_s=spread([s.first_output_s for s in self.samples if s.first_output_s is not None]),
            peak_rss_mb=statistics.median(s.peak_rss_kb for s in self.samples) / 1024,
            output_bytes=self.samples[0].output_bytes,
        )
        if self.chunks:
            data["chunks_per_s"] = self.chunks / data["total_s"]["median"]
            streaming = [s.total_s - s.first_output_s for s in self.samples if s.first_output_s is not None]
            data["chunks_per_s_after_first_byte"] = self.chunks / statistics.median(streaming) if streaming else None
        if self.cat:
            data["cat_total_s"] = spread([s.total_s for s in self.cat])
        data["samples"] = [vars_of(s) for s in self.samples]
        return data

    @property
    def median_s(self) -> float:
        return statistics.median(s.total_s for s in self.samples)

    @property
    def median_first_s(self) -> float:
        return statistics.median(s.first_output_s or s.total_s for s in self.samples)


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def vars_of(sample: Sample) -> dict[str, Any]:
    return {name: getattr(sample, name) for name in Sample.__slots__}


def measure(rows: list[Row], runs: int, warmup: bool = True) -> None:
    """``runs`` runs of every row, interleaved, after one discarded warm-up run each; a row whose
    command fails is marked as failed and measured no further."""
    for row in rows if warmup else ():
        attempt(row, keep=False)
    for _ in range(runs):
        for row in rows:
            attempt(row)


def attempt(row: Row, keep: bool = True) -> None:
    if row.skipped:
        return
    try:
        sample = run_once(row.argv, row.env, row.stdin)
    except BenchError as exc:
        row.skipped = f"FAILED: {exc}"
        row.samples.clear()
        return
    if keep:
        row.samples.append(sample)


# -- the contenders --------------------------------------------------------------------------


def tool(name: str) -> str | None:
    """An installed command, preferably the one beside this interpreter (not a pyenv shim)."""
    beside = BIN / name
    return str(beside) if beside.exists() else shutil.which(name)


def chatstream() -> list[str]:
    found = tool("chatstream")
    return [found] if found else [sys.executable, "-m", "chatstream_cli"]


def missing_module(*modules: str) -> str | None:
    for module in modules:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed ({INSTALL_HINT})"
    return None


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of every child: no real keys or endpoints, private homes for chatstream and llm."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "CHATSTREAM_"))}
    # Byte-code caching on, as for any installed package: without it chatstream, installed editable from
    # this tree, would compile its modules at every start while its peers load their cached .pyc files.
    for variable in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"):
        env.pop(variable, None)
    env.update(CHATSTREAM_HOME=str(home / "chatstream"), LLM_USER_PATH=str(home / "llm"))
    env.update(extra)
    return env


def find_llm(given: str | None) -> str | None:
    """The llm to compare with: --llm, $CHATSTREAM_BENCH_LLM, the venv of docs/performance.md, or the one on PATH."""
    for candidate in (given, os.environ.get("CHATSTREAM_BENCH_LLM"), LLM_VENV):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return tool("llm")


def anthropic_rows(group: str, url: str, home: Path, tokens: int, llm: str | None) -> list[Row]:
    env = base_env(home, ANTHROPIC_API_KEY=FAKE_KEY, ANTHROPIC_BASE_URL=url)
    rows = [
        Row(group, "chatstream", [*chatstream(), "-m", f"anthropic:{MODEL}", PROMPT], env),
        Row(group, "chatstream -o transport sdk", [*chatstream(), "-m", f"anthropic:{MODEL}", *SDK, PROMPT], env),
        Row(group, "bare httpx script", [sys.executable, str(CONTENDERS / "httpx_stream.py"), MODEL, PROMPT], env),
        Row(group, "anthropic SDK script", [sys.executable, str(CONTENDERS / "anthropic_sdk.py"), MODEL, PROMPT], env),
        Row(
            group,
            "LangChain ChatAnthropic",
            [sys.executable, str(CONTENDERS / "langchain_stream.py"), MODEL, PROMPT],
            env,
        ),
        Row(group, "llm + llm-anthropic", [llm or "llm", "-m", "claude-3-haiku", "--no-log", PROMPT], env),
    ]
    rows[2].floor = rows[3].floor = True  # the floors of the direct path and of the SDK path
    rows[4].skipped = missing_module("langchain_anthropic")
    rows[5].skipped = None if llm else f"llm is not installed ({LLM_HINT})"
    for row in rows:
        row.chunks = tokens
    return rows


# -- the replies -----------------------------------------------------------------------------


def reply_text(tokens: int) -> str:
    return "".join(WORDS[i % len(WORDS)] for i in range(tokens))


def anthropic_stream(tokens: int) -> bytes:
    """A Messages API event stream whose text is :func:`reply_text`, one token per delta."""

    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"

    start = {
        "type": "message_start",
        "message": {
            "model": MODEL,
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 16, "output_tokens": 1},
        },
    }
    parts = [
        event("message_start", start),
        event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    for i in range(tokens):
        delta = {"type": "text_delta", "text": WORDS[i % len(WORDS)]}
        parts.append(event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}))
    parts += [
        event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": tokens},
            },
        ),
        event("message_stop", {"type": "message_stop"}),
    ]
    return "".join(parts).encode()


def echo_prompt(home: Path, tokens: int) -> Path:
    """A prompt file that builtin:echo streams back as exactly ``tokens`` chunks."""
    path = home / f"prompt-{tokens}.txt"
    text = reply_text(tokens)
    assert len(tokenize(text)) == tokens, "every reply word must be one builtin token"
    path.write_text(text)
    return path


class Bench:
    """One benchmark run: the local server, a scratch directory, the options, the rows measured."""

    def __init__(self, quick: bool, scratch: Path, server: LoopbackServer, llm: str | None) -> None:
        self.quick = quick
        self.llm = llm
        self.scratch = scratch
        self.server = server
        self.rows: list[Row] = []
        self.memory: list[dict[str, Any]] = []

    def runs(self, full: int) -> int:
        return max(1, full // 3) if self.quick else full

    def serve(self, tokens: int) -> None:
        self.server.default = Reply.sse(anthropic_stream(tokens), split=HTTP_PIECE)

    # -- the groups ------------------------------------------------------------------------

    def startup(self) -> None:
        env = base_env(self.scratch)
        llm = self.llm
        rows = [
            Row("startup", "python -c pass", [sys.executable, "-c", "pass"], env, floor=True),
            Row("startup", "chatstream --version", [*chatstream(), "--version"], env),
            Row("startup", "chatstream --help", [*chatstream(), "--help"], env),
            Row("startup", "llm --help", [llm or "llm", "--help"], env),
            Row("startup", "import httpx; httpx.Client()", [sys.executable, "-c", HTTPX_CLIENT], env),
        ]
        rows[3].skipped = None if llm else f"llm is not installed ({LLM_HINT})"
        measure(rows, self.runs(10))
        self.rows += rows

    def ttft(self) -> None:
        for tokens, runs in ((2_000, 7), (100_000, 3)):
            self.serve(tokens)
            rows = anthropic_rows(f"ttft {tokens:,} tokens", self.server.base_url, self.scratch, tokens, self.llm)
            measure(rows, self.runs(runs), warmup=tokens < 10_000)
            for row in rows:
                check_output(row, reply_text(tokens))
            self.rows += rows

    def throughput(self) -> None:
        tokens = 100_000
        rows = self.mode_rows("throughput", tokens)
        measure(rows, self.runs(3), warmup=False)
        for row in rows:
            if not row.skipped:
                self.cat_floor(row)
        self.rows += rows

    def memory_growth(self) -> None:
        sizes = (20, 10_000, 100_000)
        peaks: dict[tuple[str, int], float] = {}
        for tokens in sizes:
            for row in self.mode_rows("memory", tokens):
                measure([row], self.runs(2), warmup=False)
                if row.skipped:
                    raise BenchError(f"memory, {row.name}, {tokens} tokens: {row.skipped}")
                peaks[row.name, tokens] = statistics.median(s.peak_rss_kb for s in row.samples) / 1024
        for name in dict.fromkeys(name for name, _ in peaks):
            base, small, large = (peaks[name, tokens] for tokens in sizes)
            grew_small, grew_large = small - base, large - base
            self.memory.append(
                {
                    "name": name,
                    "baseline_mb": base,
                    "rss_10k_mb": small,
                    "rss_100k_mb": large,
                    "growth_10k_mb": grew_small,
                    "growth_100k_mb": grew_large,
                    "ratio": grew_large / grew_small if grew_small > 0 else None,
                }
            )

    def mode_rows(self, group: str, tokens: int) -> list[Row]:
        """The builtin and Anthropic sources, in every output mode, for a ``tokens``-token reply."""
        self.serve(tokens)
        prompt = echo_prompt(self.scratch, tokens)
        builtin = base_env(self.scratch)
        anthropic = base_env(self.scratch, ANTHROPIC_API_KEY=FAKE_KEY, ANTHROPIC_BASE_URL=self.server.base_url)
        rows = []
        for mode, flags in MODES.items():
            echo = [*chatstream(), "-m", "builtin:echo", "-o", "delay_ms", "0", *flags]
            rows.append(Row(group, f"builtin {mode}", echo, builtin, prompt, tokens))
            claude = [*chatstream(), "-m", f"anthropic:{MODEL}", *flags, PROMPT]
            rows.append(Row(group, f"anthropic {mode}", claude, anthropic, None, tokens))
        return rows

    def cat_floor(self, row: Row) -> None:
        """``cat`` of the bytes ``row`` wrote, read through the same pipe: the floor of its throughput."""
        output = self.scratch / "output.bin"
        run_once(row.argv, row.env, row.stdin, keep=output)
        cat = Row(row.group, "cat", ["cat", str(output)], row.env)
        measure([cat], self.runs(3))
        row.cat = cat.samples


def check_output(row: Row, text: str) -> None:
    """A contender whose output is not the reply gets a note instead of figures that mean nothing."""
    if row.skipped or not row.samples:
        return
    written = row.samples[0].output_bytes
    if abs(written - len(text.encode())) > 2:
        row.skipped = f"wrote {written} bytes instead of the {len(text.encode())}-byte reply"


# -- the report ------------------------------------------------------------------------------


def seconds(stats: dict[str, float] | None) -> str:
    if not stats:
        return "-"
    return f"{stats['median']:.3f} ({stats['min']:.3f}-{stats['max']:.3f})"


def per_second(value: float | None) -> str:
    return f"{value:,.0f}" if value else "-"


def table(title: str, header: Sequence[str], lines: list[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    body = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    body += [fmt.format(*line) for line in lines]
    return f"\n{title}\n" + "\n".join(body)


def report(summaries: list[dict[str, Any]], memory: list[dict[str, Any]]) -> str:
    out = []
    groups = list(dict.fromkeys(s["group"] for s in summaries))
    for group in groups:
        rows = [s for s in summaries if s["group"] == group]
        if group == "startup":
            header = ("command", "wall s, median (min-max)", "peak RSS MB")
            lines = [
                (label(s), *(skip_cells(s, 2) or (seconds(s["total_s"]), f"{s['peak_rss_mb']:.0f}"))) for s in rows
            ]
        elif group.startswith("ttft"):
            header = ("contender", "first token s", "total s", "chunks/s", "peak RSS MB")
            lines = [
                (
                    label(s),
                    *(
                        skip_cells(s, 4)
                        or (
                            seconds(s["first_output_s"]),
                            seconds(s["total_s"]),
                            per_second(s.get("chunks_per_s")),
                            f"{s['peak_rss_mb']:.0f}",
                        )
                    ),
                )
                for s in rows
            ]
        else:
            header = (
                "100,000-token reply",
                "total s",
                "chunks/s",
                "after 1st byte",
                "cat same bytes s",
                "cat chunks/s",
            )
            lines = [
                (
                    s["name"],
                    seconds(s["total_s"]),
                    per_second(s.get("chunks_per_s")),
                    per_second(s.get("chunks_per_s_after_first_byte")),
                    seconds(s.get("cat_total_s")),
                    per_second(s["chunks"] / s["cat_total_s"]["median"]) if s.get("cat_total_s") else "-",
                )
                for s in rows
            ]
        out.append(table(group, header, lines))
    if memory:
        header = ("mode", "20 tok MB", "10k MB", "100k MB", "+10k MB", "+100k MB", "ratio", "verdict")
        lines = [
            (
                m["name"],
                f"{m['baseline_mb']:.1f}",
                f"{m['rss_10k_mb']:.1f}",
                f"{m['rss_100k_mb']:.1f}",
                f"{m['growth_10k_mb']:.1f}",
                f"{m['growth_100k_mb']:.1f}",
                f"{m['ratio']:.1f}" if m["ratio"] else "-",
                memory_verdict(m),
            )
            for m in memory
        ]
        out.append(table("memory (peak RSS)", header, lines))
    return "\n".join(out)


def label(summary: dict[str, Any]) -> str:
    return summary["name"] + (" (floor)" if summary.get("floor") else "")


def skip_cells(summary: dict[str, Any], count: int) -> tuple[str, ...] | None:
    if not summary.get("skipped"):
        return None
    return (f"skipped: {summary['skipped']}", *("" for _ in range(count - 1)))


def memory_verdict(memory: dict[str, Any]) -> str:
    """Linear when 10x the tokens adds at most about 10x the memory. A 10,000-token reply may fit in memory
    the process had spare, so 2 MB of slack; chunks x reply growth would be hundreds of MB."""
    return "linear" if memory["growth_100k_mb"] <= 10 * max(memory["growth_10k_mb"], 0) + 2.0 else "GROWS FASTER"


# -- goals -----------------------------------------------------------------------------------


Goal = tuple[str, Callable[[dict[str, dict[str, Any]]], tuple[str, bool] | None]]


def _find(rows: dict[str, dict[str, Any]], group: str, name: str) -> dict[str, Any] | None:
    row = rows.get(f"{group}/{name}")
    return row if row and not row.get("skipped") else None


def _help_goal(rows: dict[str, dict[str, Any]]) -> tuple[str, bool] | None:
    floor, ours = _find(rows, "startup", "python -c pass"), _find(rows, "startup", "chatstream --help")
    if not (floor and ours):
        return None
    gap = ours["total_s"]["median"] - floor["total_s"]["median"]
    return f"+{gap:.3f} s over python -c pass", gap <= 0.1


def _sdk_goal(rows: dict[str, dict[str, Any]]) -> tuple[str, bool] | None:
    group = "ttft 2,000 tokens"
    floor, ours = _find(rows, group, "anthropic SDK script"), _find(rows, group, "chatstream -o transport sdk")
    if not (floor and ours):
        return None
    gap = ours["first_output_s"]["median"] - floor["first_output_s"]["median"]
    total = ours["total_s"]["median"] - floor["total_s"]["median"]
    return f"first token {gap:+.3f} s, total {total:+.3f} s against the SDK script", max(gap, total) <= 0.05


def _direct_goal(rows: dict[str, dict[str, Any]]) -> tuple[str, bool] | None:
    group = "ttft 2,000 tokens"
    floor, ours = _find(rows, group, "bare httpx script"), _find(rows, group, "chatstream")
    if not (floor and ours):
        return None
    ratio = ours["total_s"]["median"] / floor["total_s"]["median"]
    peak = ours["peak_rss_mb"]
    return f"{ratio:.2f}x the bare httpx script's time, {peak:.0f} MiB peak", ratio <= 1.5 and peak < 40


def _first_token_goal(rows: dict[str, dict[str, Any]]) -> tuple[str, bool] | None:
    helped, ours = _find(rows, "startup", "chatstream --help"), _find(rows, "ttft 2,000 tokens", "chatstream")
    if not (helped and ours):
        return None
    gap = ours["first_output_s"]["median"] - helped["total_s"]["median"]
    figures = f"first token {gap * 1000:+.0f} ms after --help's whole run"
    client, python = _find(rows, "startup", HTTPX_CLIENT), _find(rows, "startup", "python -c pass")
    if client and python:
        floor = client["total_s"]["median"] - python["total_s"]["median"]
        figures += f" (importing httpx and making a client alone: {floor * 1000:+.0f} ms over python -c pass)"
    return figures, gap <= 0.06


def _peer_goal(peer: str) -> Callable[[dict[str, dict[str, Any]]], tuple[str, bool] | None]:
    def goal(rows: dict[str, dict[str, Any]]) -> tuple[str, bool] | None:
        facts, ahead = [], True
        for group, key, what in (
            ("ttft 2,000 tokens", "first_output_s", "first token"),
            ("ttft 100,000 tokens", "total_s", "100k total"),
        ):
            theirs, ours = _find(rows, group, peer), _find(rows, group, "chatstream")
            if not (theirs and ours):
                return None
            a, b = ours[key]["median"], theirs[key]["median"]
            facts.append(f"{what} {a:.2f} s vs {b:.2f} s")
            ahead = ahead and a < b
        return "; ".join(facts), ahead

    return goal


def _plain_goal(rows: dict[str, dict[str, Any]]) -> tuple[str, bool] | None:
    plain = _find(rows, "throughput", "builtin plain")
    if not plain:
        return None
    whole, streaming = plain["chunks_per_s"], plain["chunks_per_s_after_first_byte"]
    return f"{whole:,.0f} chunks/s whole process, {streaming:,.0f} after the first byte", whole >= 100_000


GOALS: list[Goal] = [
    ("--help within 0.1 s of the python floor", _help_goal),
    ("direct path within 1.5x the bare httpx script, under 40 MiB", _direct_goal),
    ("first token within 60 ms of chatstream --help", _first_token_goal),
    ("SDK transport within 0.05 s of the plain SDK script", _sdk_goal),
    ("ahead of LangChain (first token, throughput)", _peer_goal("LangChain ChatAnthropic")),
    ("ahead of llm (first token, throughput)", _peer_goal("llm + llm-anthropic")),
    ("piped plain view >= 100,000 chunks/s (builtin, delay 0)", _plain_goal),
]


def judge(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = {f"{s['group']}/{s['name']}": s for s in summaries}
    verdicts = []
    for goal, check in GOALS:
        outcome = check(rows)
        if outcome is not None:
            verdicts.append({"goal": goal, "figures": outcome[0], "met": outcome[1]})
    return verdicts


# -- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a third of the runs (a smoke run, noisier)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--llm", help=f"the llm command to compare with (default: {LLM_VENV} if it exists)")
    parser.add_argument("--only", default="startup,ttft,throughput,memory", help="comma-separated groups")
    args = parser.parse_args(argv)
    groups = args.only.split(",")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chatstream-bench-") as scratch, LoopbackServer() as server:
        bench = Bench(args.quick, Path(scratch), server, find_llm(args.llm))
        steps = {
            "startup": bench.startup,
            "ttft": bench.ttft,
            "throughput": bench.throughput,
            "memory": bench.memory_growth,
        }
        for name in groups:
            print(f"measuring {name}...", file=sys.stderr, flush=True)
            steps[name]()
    summaries = [row.summary() for row in bench.rows]
    verdicts = judge(summaries)
    click = importlib.util.find_spec("click") is not None
    if click:
        print(CLICK_NOTE, file=sys.stderr)
    print(report(summaries, bench.memory))
    if verdicts:
        print("\ngoals")
        for verdict in verdicts:
            print(f"  [{'met' if verdict['met'] else 'MISSED'}] {verdict['goal']}: {verdict['figures']}")
    results = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "click_installed": click,
        },
        "quick": args.quick,
        "seconds": time.perf_counter() - began,
        "rows": summaries,
        "memory": bench.memory,
        "goals": verdicts,
    }
    for path in (RESULTS, args.json):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{time.perf_counter() - began:.0f} s; results in {RESULTS.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
